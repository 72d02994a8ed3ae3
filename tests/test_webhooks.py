"""Webhooks: Discord embeds, signed JSON, retries, and targets that must be public and https."""

from __future__ import annotations

import hashlib
import hmac
import io
import socket

import pytest
import sqlalchemy as sa

from rfp_portal.db import get_session
from rfp_portal.models import MessageState, OutboxMessage, Role, Webhook, WebhookFormat
from rfp_portal.outbox.sender import Sender
from rfp_portal.outbox.transports import UnsafeTarget, check_target
from tests.conftest import Web
from tests.mailserver import WebhookReceiver


@pytest.fixture
def receiver():
    r = WebhookReceiver()
    r.start()
    yield r
    r.stop()


@pytest.fixture
def hook_app(app):
    app.config.update(WEBHOOK_ALLOW_LOOPBACK=True, PUBLIC_URL="https://rfp.example.org")
    return app


def add_hook(app, url, fmt=WebhookFormat.DISCORD, events="rfp_published,result_delivered"):
    with app.app_context():
        session = get_session()
        hook = Webhook(name="test", format=fmt, url=url, events=events)
        session.add(hook)
        session.commit()
        return hook.id, hook.secret


def rows(app):
    with app.app_context():
        found = get_session().scalars(sa.select(OutboxMessage)).all()
        get_session().expunge_all()
        return found


def test_a_new_rfp_reaches_discord_as_an_embed(hook_app, make, receiver):
    add_hook(hook_app, receiver.url)
    author = make.user("author")
    rfp_id = make.rfp(author, title="Does <b>this</b> scale?", summary="One plot @everyone.")
    assert Sender(hook_app).send_due().sent == 1
    (hit,) = receiver.hits
    body = hit.json()
    assert body["allowed_mentions"] == {"parse": []}  # "@everyone" pings nobody
    (embed,) = body["embeds"]
    assert embed["title"] == "New RFP: Does <b>this</b> scale?"
    assert embed["url"] == f"https://rfp.example.org/rfps/{rfp_id}"
    assert embed["description"] == "One plot @everyone."
    assert hit.headers["Content-Type"] == "application/json"


def test_the_json_webhook_is_signed_over_its_body(hook_app, make, receiver):
    _, secret = add_hook(hook_app, receiver.url, fmt=WebhookFormat.JSON)
    make.rfp(make.user("author"), title="Signed")
    Sender(hook_app).send_due()
    (hit,) = receiver.hits
    expected = "sha256=" + hmac.new(secret.encode(), hit.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hit.headers["X-RFP-Signature-256"], expected)
    assert hit.json()["event"] == "rfp_published" and hit.json()["title"] == "New RFP: Signed"
    assert hit.headers["X-RFP-Event"] == "rfp_published"


def test_429_waits_as_long_as_retry_after_asks_and_4xx_stops(hook_app, make, receiver, clock):
    add_hook(hook_app, receiver.url)
    receiver.status, receiver.headers = 429, {"Retry-After": "120"}
    make.rfp(make.user("author"))
    assert Sender(hook_app).send_due().retrying == 1
    (row,) = rows(hook_app)
    assert row.state is MessageState.WAITING
    assert (row.send_after - row.last_attempt_at).total_seconds() == 120
    clock.advance(seconds=119)
    assert Sender(hook_app).send_due().handled == 0
    clock.advance(seconds=2)
    receiver.status, receiver.headers = 404, {}
    assert Sender(hook_app).send_due().failed == 1
    (row,) = rows(hook_app)
    assert row.state is MessageState.FAILED and "404" in row.last_error


def test_redirects_are_not_followed(hook_app, make, receiver):
    add_hook(hook_app, receiver.url)
    receiver.status, receiver.headers = 302, {"Location": "http://169.254.169.254/latest"}
    make.rfp(make.user("author"))
    assert Sender(hook_app).send_due().failed == 1
    assert len(receiver.hits) == 1
    assert "redirects are not followed" in rows(hook_app)[0].last_error


def fake_resolver(address):
    def resolve(host, port, type=0):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/hook",  # not https
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://192.168.1.5/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "https://[2002:a9fe:a9fe::1]/hook",  # 6to4 of 169.254.169.254
        "https://[::a00:1]/hook",  # IPv4-compatible 10.0.0.1
        "https://user:pw@discord.com/hook",
        "ftp://discord.com/hook",
    ],
)
def test_unsafe_targets_are_refused(url):
    with pytest.raises(UnsafeTarget):
        check_target(url)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1"])
def test_a_name_that_resolves_inward_is_refused(address):
    with pytest.raises(UnsafeTarget):
        check_target("https://innocent.example.com/hook", resolve=fake_resolver(address))


def test_loopback_is_allowed_only_with_the_setting():
    assert check_target("http://127.0.0.1:8080/x", allow_loopback=True).address == "127.0.0.1"
    assert check_target("https://[::1]/x", allow_loopback=True).address == "::1"
    with pytest.raises(UnsafeTarget):
        check_target("http://127.0.0.1:8080/x")
    with pytest.raises(UnsafeTarget):  # the setting is for loopback, not private networks
        check_target("https://10.0.0.1/x", allow_loopback=True)
    target = check_target(
        "https://discord.example/api/webhooks/1/abc?wait=true",
        resolve=fake_resolver("162.159.135.232"),
    )
    assert (target.host, target.address, target.path) == (
        "discord.example",
        "162.159.135.232",
        "/api/webhooks/1/abc?wait=true",
    )


def test_an_admin_adds_a_webhook_and_unsafe_urls_are_refused_on_the_form(app, make):
    make.user("boss", role=Role.ADMIN)
    admin = Web(app.test_client())
    admin.login("boss")
    form = {"name": "Discord", "format": "discord", "events": ["rfp_published"]}
    bad = admin.post("/admin/webhooks", {**form, "url": "https://169.254.169.254/x"})
    assert bad.status_code == 422 and "link-local" in bad.get_data(as_text=True)
    assert admin.post("/admin/webhooks", {**form, "url": "http://1.1.1.1/x"}).status_code == 422
    none = admin.post("/admin/webhooks", {**form, "events": [], "url": "https://1.1.1.1/x"})
    assert none.status_code == 422
    assert admin.post("/admin/webhooks", {**form, "url": "https://1.1.1.1/x"}).status_code == 302
    page = admin.get("/admin/webhooks").get_data(as_text=True)
    assert "https://1.1.1.1/x" in page and "A new RFP" in page


def test_a_delivered_result_posts_its_plot_thumbnail(hook_app, make, receiver):
    from rfp_portal.models import Claim
    from tests import images

    add_hook(hook_app, receiver.url, events="result_delivered")
    author, jun = make.user("author"), make.user("jun")
    rfp_id = make.rfp(author, title="Deliver me")
    web = Web(hook_app.test_client())
    web.login("jun")
    web.post(f"/rfps/{rfp_id}/claims", {"note": ""}, form_url=f"/rfps/{rfp_id}")
    with hook_app.app_context():
        claim_id = get_session().scalar(sa.select(Claim.id))
    response = web.post(
        f"/claims/{claim_id}/deliver",
        {
            "result_url": "https://example.org/result",
            "write_up": "It worked.",
            "image": (io.BytesIO(images.png()), "result.png"),
            "caption": "The result",
            "alt_text": "A falling curve",
        },
        form_url=f"/claims/{claim_id}/deliver",
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    Sender(hook_app).send_due()  # the webhook post, and the e-mails (as files) beside it
    (hit,) = receiver.hits
    (embed,) = hit.json()["embeds"]
    assert embed["title"] == "Result delivered: Deliver me"
    assert embed["thumbnail"]["url"].startswith("https://rfp.example.org/plots/")
    assert jun.display_name in embed["description"]
