"""E-mail through a real SMTP server the tests start (aiosmtpd), and the outbox behind it.

Every message goes from a committed request into the outbox, and from there through the sender
(``rfp_portal.outbox.sender.Sender``) to the server, where the tests read it as received.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from rfp_portal.db import get_session
from rfp_portal.models import (
    Channel,
    MessageKind,
    MessageState,
    Notification,
    NotificationKind,
    OutboxMessage,
    Role,
    User,
)
from rfp_portal.outbox.compose import one_line
from rfp_portal.outbox.sender import Sender, backoff
from rfp_portal.services import claims as claim_services
from tests.conftest import PASSWORD, Web
from tests.mailserver import SmtpServer

NEW_PASSWORD = "lanterns over quiet harbours"


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(app, smtp):
    app.config.update(MAIL_URL=smtp.url, PUBLIC_URL="https://rfp.example.org")
    return app


def send(app):
    return Sender(app).send_due()


def outbox(app, **where) -> list[OutboxMessage]:
    with app.app_context():
        rows = get_session().scalars(sa.select(OutboxMessage).filter_by(**where)).all()
        get_session().expunge_all()
        return rows


def client(app) -> Web:
    return Web(app.test_client())


def claim(web, rfp_id, note="I will try."):
    return web.post(f"/rfps/{rfp_id}/claims", {"note": note}, form_url=f"/rfps/{rfp_id}")


def link_in(text: str, path: str) -> str:
    """The path of the first link in ``text`` under ``path`` (absolute links, on PUBLIC_URL)."""
    match = re.search(r"https://rfp\.example\.org(" + re.escape(path) + r"[^\s\"<>]*)", text)
    assert match, f"no link to {path} in {text!r}"
    return match.group(1)


def jun_claims_an_rfp(app, make) -> Web:
    """ "author" writes an RFP and "jun" claims it (which tells the author); jun's client."""
    rfp_id = make.rfp(make.user("author"))
    make.user("jun")
    web = client(app)
    web.login("jun")
    claim(web, rfp_id)
    return web


# -- a notification by e-mail ------------------------------------------------------------------


def test_a_claim_mails_the_author_once_with_proper_headers_and_both_parts(mail_app, make, smtp):
    author, jun = make.user("author"), make.user("jun")
    rfp_id = make.rfp(author, title="Where does scaling break?")
    web = client(mail_app)
    web.login("jun")
    assert claim(web, rfp_id).status_code == 302
    report = send(mail_app)
    assert report.sent == 1, report.errors
    assert send(mail_app).handled == 0  # once
    (got,) = smtp.received
    message = got.message
    assert got.rcpt_tos == ["author@example.org"]
    assert message["To"] == f"{author.display_name} <author@example.org>"
    assert message["From"] == "RFP Portal <rfp-portal@localhost>"
    assert message["Subject"] == f"{jun.display_name} claimed \u201cWhere does scaling break?\u201d"
    assert re.fullmatch(r"<outbox-\d+-\d+@localhost>", message["Message-ID"])
    assert message["Date"] and message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    text, html = got.part("plain"), got.part("html")
    assert f"https://rfp.example.org/rfps/{rfp_id}#claim-" in text
    assert f'href="https://rfp.example.org/rfps/{rfp_id}#claim-' in html
    assert "Where does scaling break?" in html
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://rfp.example.org/unsubscribe/") and unsubscribe.endswith(
        ">"
    )
    [row] = outbox(mail_app, kind=MessageKind.NOTIFICATION)
    assert row.state is MessageState.SENT and row.attempts == 1


def test_one_click_unsubscribe_without_a_session_turns_that_kind_off(mail_app, make, smtp):
    author = make.user("author")
    make.user("jun")
    make.user("kim")
    rfp_id = make.rfp(author)
    jun = client(mail_app)
    jun.login("jun")
    claim(jun, rfp_id)
    send(mail_app)
    url = smtp.received[0].message["List-Unsubscribe"].strip("<>")
    path = urlsplit(url).path
    stranger = mail_app.test_client()  # a mail client: no cookies, no CSRF token (RFC 8058)
    page = stranger.get(path)
    assert page.status_code == 200 and "Unsubscribe" in page.get_data(as_text=True)
    response = stranger.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 303
    done = stranger.get(response.headers["Location"]).get_data(as_text=True)
    assert "You are unsubscribed" in done
    kim = client(mail_app)
    kim.login("kim")
    claim(kim, rfp_id)
    send(mail_app)
    assert len(smtp.received) == 1  # the second claim stays on the site only
    with mail_app.app_context():
        kinds = get_session().scalars(sa.select(Notification.kind)).all()
    assert kinds.count(NotificationKind.CLAIMED) == 2
    # a damaged token is refused with a page, not a 500
    assert stranger.post(path[:-3] + "xyz").status_code == 400


def test_a_request_that_writes_and_then_fails_sends_nothing(mail_app, make, smtp, monkeypatch):
    author = make.user("author")
    make.user("jun")
    rfp_id = make.rfp(author)
    real_notify = claim_services.notify

    def notify_then_break(*args, **kwargs):
        real_notify(*args, **kwargs)
        raise RuntimeError("the disk fell off after the notification was written")

    monkeypatch.setattr(claim_services, "notify", notify_then_break)
    web = client(mail_app)
    web.login("jun")
    with pytest.raises(RuntimeError):
        claim(web, rfp_id)
    assert outbox(mail_app) == []
    assert send(mail_app).handled == 0 and smtp.received == []


def test_with_the_server_down_pages_answer_and_the_mail_waits_then_goes_once(
    mail_app, make, smtp, clock
):
    author = make.user("author")
    rfp_ids = [make.rfp(author) for _ in range(3)]
    smtp.stop()
    for n, rfp_id in enumerate(rfp_ids):
        make.user(f"p{n}")
        web = client(mail_app)
        web.login(f"p{n}")
        assert claim(web, rfp_id).status_code == 302  # the page never waits on mail
    report = send(mail_app)
    assert report.retrying == 3 and report.sent == 0
    rows = outbox(mail_app, kind=MessageKind.NOTIFICATION)
    assert all(r.state is MessageState.WAITING and r.attempts == 1 for r in rows)
    assert all("Connection" in r.last_error or "refused" in r.last_error for r in rows)
    assert send(mail_app).handled == 0  # not due yet: they wait their backoff
    smtp.start()
    clock.advance(minutes=2)
    assert send(mail_app).sent == 3
    assert send(mail_app).handled == 0
    clock.advance(hours=10)
    assert send(mail_app).handled == 0
    ids = Counter(r.message["Message-ID"] for r in smtp.received)
    assert len(ids) == 3 and set(ids.values()) == {1}


def test_smtp_4xx_is_retried_and_5xx_fails_at_once(mail_app, make, smtp, clock):
    jun_claims_an_rfp(mail_app, make)
    smtp.reply = "451 4.3.0 greylisted, try later"
    assert send(mail_app).retrying == 1
    (row,) = outbox(mail_app, kind=MessageKind.NOTIFICATION)
    assert row.state is MessageState.WAITING and "451" in row.last_error
    smtp.reply = "550 5.1.1 no such mailbox"
    clock.advance(hours=1)
    assert send(mail_app).failed == 1
    (row,) = outbox(mail_app, kind=MessageKind.NOTIFICATION)
    assert row.state is MessageState.FAILED and "550" in row.last_error and row.attempts == 2


def test_backoff_doubles_with_jitter_and_has_a_ceiling():
    import random

    rng = random.Random(7)
    for attempts in range(1, 6):
        wait = backoff(attempts, 30, rng).total_seconds()
        assert 15 * 2 ** (attempts - 1) <= wait <= 30 * 2 ** (attempts - 1)
    assert backoff(40, 30, rng) <= timedelta(hours=6)


def test_the_last_attempt_marks_the_message_failed(mail_app, make, smtp, clock):
    mail_app.config["OUTBOX_MAX_ATTEMPTS"] = 3
    jun_claims_an_rfp(mail_app, make)
    smtp.stop()
    for _ in range(3):
        send(mail_app)
        clock.advance(hours=7)
    (row,) = outbox(mail_app, kind=MessageKind.NOTIFICATION)
    assert row.state is MessageState.FAILED and row.attempts == 3


def test_an_admin_sees_failed_mail_and_sends_it_again(mail_app, make, smtp, clock):
    author = make.user("author")
    make.user("boss", role=Role.ADMIN)
    rfp_id = make.rfp(author)
    make.user("jun")
    web = client(mail_app)
    web.login("jun")
    claim(web, rfp_id)
    smtp.reply = "550 mailbox full"
    send(mail_app)
    smtp.reply = None
    admin = client(mail_app)
    admin.login("boss")
    page = admin.get("/admin/outbox").get_data(as_text=True)
    assert "550 mailbox full" in page and "Send again" in page
    (row,) = outbox(mail_app, state=MessageState.FAILED)
    response = admin.post(f"/admin/outbox/{row.id}/retry", form_url="/admin/outbox")
    assert response.status_code == 302
    assert send(mail_app).sent == 1 and len(smtp.received) == 1
    assert "No failed messages" in admin.get("/admin/outbox").get_data(as_text=True)
    assert client(mail_app).get("/admin/outbox").status_code == 302  # log in first
    web.get("/")
    assert web.get("/admin/outbox").status_code == 403


# -- header injection --------------------------------------------------------------------------


def test_names_and_titles_with_line_breaks_cannot_add_headers(mail_app, make, smtp):
    author = make.user("author")
    eve = make.user("eve")
    with mail_app.app_context():
        session = get_session()
        session.get(User, eve.id).display_name = "Eve\r\nBcc: victim@example.net\r\nX-Evil: 1"
        session.get(User, author.id).display_name = "Author\nCc: other@example.net"
        session.commit()
    rfp_id = make.rfp(author, title="A title\r\nBcc: title@example.net")
    web = client(mail_app)
    web.login("eve")
    claim(web, rfp_id)
    assert send(mail_app).sent == 1
    (got,) = smtp.received
    assert got.rcpt_tos == ["author@example.org"]
    message = got.message
    for header in ("Bcc", "Cc", "X-Evil"):
        assert message[header] is None
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    assert message["Subject"].startswith("Eve Bcc: victim@example.net X-Evil: 1 claimed")
    assert message["To"].addresses[0].addr_spec == "author@example.org"


def test_one_line_removes_every_kind_of_line_break():
    assert one_line("a\r\nb\u2028c\u0085d\x00e\tf") == "a b c d e f"
    assert len(one_line("x" * 500)) == 150


# -- accounts by e-mail ------------------------------------------------------------------------


def register(web, username="newcomer", email="newcomer@example.org"):
    return web.post(
        "/register",
        {
            "username": username,
            "email": email,
            "display_name": "New Comer",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )


def test_registering_mails_a_confirmation_link_that_confirms(mail_app, smtp, make):
    web = client(mail_app)
    assert register(web).status_code == 302
    send(mail_app)
    (got,) = smtp.to("newcomer@example.org")
    assert got.message["List-Unsubscribe"] is None  # account mail: no unsubscribe
    path = link_in(got.part("plain"), "/account/confirm/")
    response = web.get(path)
    assert response.status_code == 302
    with mail_app.app_context():
        user = get_session().scalar(sa.select(User).where(User.username == "newcomer"))
        assert user.email_confirmed_at is not None
    assert "is confirmed" in web.get(response.headers["Location"]).get_data(as_text=True)
    assert "confirmed already" in web.get(web.get(path).headers["Location"]).get_data(as_text=True)
    assert client(mail_app).get(path[:-4] + "AAAA").status_code == 400


def test_an_unconfirmed_address_gets_nothing_but_its_link(mail_app, smtp, make):
    web = client(mail_app)
    register(web)
    send(mail_app)
    smtp.received.clear()
    rfp_id = make.rfp(
        _user(mail_app, "newcomer"),
    )
    make.user("jun")
    jun = client(mail_app)
    jun.login("jun")
    claim(jun, rfp_id)
    report = send(mail_app)
    assert report.sent == 0 and smtp.received == []
    assert "claimed" in web.get("/notifications").get_data(as_text=True)  # the site still tells


def _user(app, username) -> User:
    with app.app_context():
        user = get_session().scalar(sa.select(User).where(User.username == username))
        get_session().expunge(user)
        return user


def test_changing_the_address_confirms_the_new_one_and_tells_the_old(mail_app, smtp, make):
    make.user("jun")
    web = client(mail_app)
    web.login("jun")
    wrong = web.post("/account/email", {"email": "jun@new.example", "password": "not it"})
    assert wrong.status_code == 422
    response = web.post("/account/email", {"email": "jun@new.example", "password": PASSWORD})
    assert response.status_code == 302
    send(mail_app)
    (old,) = smtp.to("jun@example.org")
    assert "jun@new.example" in old.part("plain")
    (new,) = smtp.to("jun@new.example")
    web.get(link_in(new.part("plain"), "/account/confirm/"))
    assert _user(mail_app, "jun").email_confirmed_at is not None


def forgot(web, address):
    return web.post("/password/forgot", {"email": address})


def test_forgot_password_answers_the_same_for_unknown_addresses(mail_app, smtp, make):
    make.user("jun")
    web = client(mail_app)
    known, unknown = forgot(web, "jun@example.org"), forgot(web, "nobody@example.org")
    assert (known.status_code, known.headers["Location"]) == (
        unknown.status_code,
        unknown.headers["Location"],
    )
    assert (
        web.get(known.headers["Location"]).get_data()
        == web.get(unknown.headers["Location"]).get_data()
    )
    report = send(mail_app)
    assert [r.rcpt_tos for r in smtp.received] == [["jun@example.org"]]
    # the same work for both: a row each; the one that names nobody is dropped, unmailed
    assert (report.sent, report.dropped) == (1, 1)
    (dropped,) = outbox(mail_app, state=MessageState.DROPPED)
    assert dropped.user_id is None and dropped.to_address is None


def test_a_reset_link_works_once_and_ends_every_other_session(mail_app, smtp, make):
    make.user("jun")
    elsewhere = client(mail_app)
    elsewhere.login("jun")
    web = client(mail_app)
    forgot(web, "JUN@Example.org")
    send(mail_app)
    (got,) = smtp.received
    assert got.message["List-Unsubscribe"] is None
    path = link_in(got.part("plain"), "/password/reset/")
    assert "Choose a new password" in web.get(path).get_data(as_text=True)
    response = web.post(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert 'href="/users/jun"' in web.get("/").get_data(as_text=True)  # logged in
    assert elsewhere.get("/notifications").status_code == 302  # the other session ended
    again = client(mail_app).get(path)
    assert again.status_code == 400 and "already used" in again.get_data(as_text=True)
    assert client(mail_app).login("jun", NEW_PASSWORD).status_code == 302


def test_reset_links_expire_die_with_a_password_change_and_refuse_tampering(
    mail_app, smtp, make, clock
):
    make.user("jun")
    web = client(mail_app)
    forgot(web, "jun@example.org")
    send(mail_app)
    path = link_in(smtp.received[0].part("plain"), "/password/reset/")
    tampered = path[:-2] + ("AA" if not path.endswith("AA") else "BB")
    page = client(mail_app).get(tampered)
    assert page.status_code == 400 and "not one the portal made" in page.get_data(as_text=True)
    # issued before a password change
    jun = client(mail_app)
    jun.login("jun")
    jun.post(
        "/account/password",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    page = client(mail_app).get(path)
    assert page.status_code == 400 and "password changed" in page.get_data(as_text=True)
    # expired
    forgot(web, "jun@example.org")
    send(mail_app)
    fresh = link_in(smtp.received[-1].part("plain"), "/password/reset/")
    clock.advance(minutes=61)
    page = client(mail_app).get(fresh)
    assert page.status_code == 400 and "expired" in page.get_data(as_text=True)
    posted = client(mail_app).post(
        fresh, {"password": "another long password", "confirm": "another long password"}
    )
    assert posted.status_code == 400
    assert client(mail_app).login("jun", NEW_PASSWORD).status_code == 302


# -- what people choose, watch and follow ------------------------------------------------------


def test_opening_the_rfp_marks_its_notifications_read(mail_app, make):
    author = make.user("author")
    rfp_id, other_id = make.rfp(author), make.rfp(author)
    for n, target in enumerate((rfp_id, rfp_id, other_id)):
        make.user(f"p{n}")
        web = client(mail_app)
        web.login(f"p{n}")
        claim(web, target)
    me = client(mail_app)
    me.login("author")
    assert '<span class="badge">3' in me.get("/").get_data(as_text=True)
    me.get(f"/rfps/{rfp_id}")
    assert '<span class="badge">1' in me.get("/").get_data(as_text=True)
    page = me.get("/notifications").get_data(as_text=True)
    assert page.count('class="pill">New') == 1


def test_comments_go_to_the_daily_digest_by_default(mail_app, make, smtp, clock):
    author = make.user("author")
    rfp_id = make.rfp(author, title="Digest me")
    for n in range(3):
        make.user(f"p{n}")
        web = client(mail_app)
        web.login(f"p{n}")
        web.post(f"/rfps/{rfp_id}/comments", {"body": f"Comment {n}"}, form_url=f"/rfps/{rfp_id}")
    assert send(mail_app).sent == 0  # waits for the digest hour
    clock.advance(hours=20)  # past 07:00 the next morning
    report = send(mail_app)
    assert report.sent >= 1
    (digest,) = smtp.to("author@example.org")
    assert digest.message["Subject"] == "Your day on the RFP Portal: 3 updates"
    assert digest.part("plain").count("commented on \u201cDigest me\u201d") == 3
    assert digest.message["List-Unsubscribe"]


def test_the_settings_page_moves_a_kind_to_e_mail_at_once(mail_app, make, smtp):
    author = make.user("author")
    rfp_id = make.rfp(author)
    me = client(mail_app)
    me.login("author")
    page = me.get("/account/notifications").get_data(as_text=True)
    assert "A comment on an RFP I wrote, claimed or watch" in page
    form = {
        "claimed": "site",
        "progress": "daily",
        "delivered": "email",
        "accepted": "email",
        "commented": "email",
        "replied": "daily",
        "checkin_due": "email",
        "claim_expired": "email",
        "jam_tomorrow": "email",
        "tag_digest": "weekly",
    }
    assert me.post("/account/notifications", form).status_code == 302
    assert me.post("/account/notifications", {**form, "claimed": "weekly"}).status_code == 422
    make.user("jun")
    jun = client(mail_app)
    jun.login("jun")
    claim(jun, rfp_id)
    jun.post(f"/rfps/{rfp_id}/comments", {"body": "Hello"}, form_url=f"/rfps/{rfp_id}")
    send(mail_app)
    subjects = [r.message["Subject"] for r in smtp.to("author@example.org")]
    assert len(subjects) == 1 and "commented on" in subjects[0]


def test_following_a_tag_brings_one_weekly_digest_not_one_mail_per_rfp(mail_app, make, smtp, clock):
    author = make.user("author")
    make.user("reader")
    reader = client(mail_app)
    reader.login("reader")
    make.rfp(author, tags=["optimisers"])  # a tag must exist to be followed
    clock.advance(minutes=1)
    assert (
        reader.post(
            "/tags/optimisers/follow", {"follow": "yes"}, form_url="/rfps?tag=optimisers"
        ).status_code
        == 302
    )
    assert "Stop following" in reader.get("/rfps?tag=optimisers").get_data(as_text=True)
    for n in range(3):
        make.rfp(author, title=f"Optimiser question {n}", tags=["optimisers"])
    make.rfp(author, title="Unrelated", tags=["vision"])
    assert send(mail_app).sent == 0
    clock.advance(days=1)  # Monday 07:00 has passed
    send(mail_app)
    (digest,) = smtp.to("reader@example.org")
    text = digest.part("plain")
    assert digest.message["Subject"] == "3 new RFPs with tags you follow"
    assert all(f"Optimiser question {n}" in text for n in range(3)) and "Unrelated" not in text
    assert digest.message["List-Unsubscribe"]
    assert reader.post("/tags/nonexistent/follow", {"follow": "yes"}).status_code == 404


def test_watchers_hear_of_progress_and_can_stop(mail_app, make, clock):
    author = make.user("author")
    rfp_id = make.rfp(author)
    make.user("jun")
    make.user("fan")
    jun, fan = client(mail_app), client(mail_app)
    jun.login("jun")
    fan.login("fan")
    claim(jun, rfp_id)
    assert (
        fan.post(f"/rfps/{rfp_id}/watch", {"watch": "yes"}, form_url=f"/rfps/{rfp_id}").status_code
        == 302
    )
    assert "Stop watching" in fan.get(f"/rfps/{rfp_id}").get_data(as_text=True)
    with mail_app.app_context():
        claim_id = get_session().scalar(sa.select(claim_services.Claim.id))
    jun.post(
        f"/claims/{claim_id}/progress",
        {f"claim-{claim_id}-body": "Halfway."},
        form_url=f"/rfps/{rfp_id}",
    )
    with mail_app.app_context():
        rows = (
            get_session()
            .execute(
                sa.select(User.username)
                .join(Notification, Notification.recipient_id == User.id)
                .where(Notification.kind == NotificationKind.PROGRESS)
            )
            .scalars()
            .all()
        )
    assert sorted(rows) == ["author", "fan"]
    fan.post(f"/rfps/{rfp_id}/watch", {"watch": "no"})
    assert "Watch this RFP" in fan.get(f"/rfps/{rfp_id}").get_data(as_text=True)


# -- the check-in nudge ------------------------------------------------------------------------


def test_a_check_in_due_mails_its_holder_once_and_an_expiry_tells_the_author(
    mail_app, make, smtp, clock
):
    author = make.user("author")
    rfp_id = make.rfp(author, title="Nudge")
    make.user("jun")
    jun = client(mail_app)
    jun.login("jun")
    claim(jun, rfp_id)
    send(mail_app)
    smtp.received.clear()
    sender = Sender(mail_app)
    clock.advance(days=22)
    sender.run_schedule()
    sender.run_schedule()
    send(mail_app)
    (nudge,) = smtp.received
    assert nudge.rcpt_tos == ["jun@example.org"]
    assert nudge.message["Subject"] == "Your claim on \u201cNudge\u201d needs a check-in"
    assert "/claims/" in nudge.part("plain") and "/drop" in nudge.part("plain")
    clock.advance(days=9)  # 31 days of silence: expired
    sender.run_schedule()
    sender.run_schedule()
    send(mail_app)
    assert [r.rcpt_tos for r in smtp.received[1:]] == [["author@example.org"]]
    assert "expired" in smtp.received[1].message["Subject"]


# -- several senders ---------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_senders_deliver_a_thousand_messages_each_exactly_once(mail_app, smtp):
    with mail_app.app_context():
        session = get_session()
        now = datetime.now(UTC)
        session.execute(
            sa.insert(User),
            [
                {
                    "username": f"u{n}",
                    "email": f"u{n}@example.org",
                    "display_name": f"U {n}",
                    "password_hash": "x",
                    "created_at": now,
                }
                for n in range(1000)
            ],
        )
        ids = session.scalars(sa.select(User.id)).all()
        session.execute(
            sa.insert(OutboxMessage),
            [
                {
                    "channel": Channel.EMAIL,
                    "kind": MessageKind.CONFIRM_ADDRESS,
                    "user_id": user_id,
                    "params": {},
                    "created_at": now,
                    "send_after": now,
                }
                for user_id in ids
            ],
        )
        session.commit()
    reports = []

    def run():
        reports.append(Sender(mail_app).send_due())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent for r in reports) == 1000
    assert all(r.sent > 0 for r in reports), [str(r) for r in reports]  # both took a share
    counts = Counter(r.rcpt_tos[0] for r in smtp.received)
    assert len(counts) == 1000 and set(counts.values()) == {1}
    assert outbox(mail_app, state=MessageState.SENT).__len__() == 1000


# -- the schedule and the commands -------------------------------------------------------------


def test_presenters_hear_the_day_before_their_jam_once(mail_app, make, smtp, clock):
    from rfp_portal.models import Jam, Presentation, WebhookEvent
    from rfp_portal.services.outbox import queue_announcement  # noqa: F401 - the event exists

    author = make.user("author")
    rfp_id = make.rfp(author, title="On the agenda")
    with mail_app.app_context():
        session = get_session()
        jam = Jam(
            number=9,
            title="Jam nine",
            starts_at=datetime.now(UTC) + timedelta(days=2),
            timezone="UTC",
        )
        session.add(jam)
        session.flush()
        session.add(Presentation(rfp_id=rfp_id, jam_id=jam.id, presenter_id=author.id))
        session.commit()
    sender = Sender(mail_app)
    sender.run_schedule()
    assert send(mail_app).sent == 0  # two days ahead: nothing yet
    clock.advance(hours=25)
    sender.run_schedule()
    sender.run_schedule()
    send(mail_app)
    (reminder,) = smtp.received
    assert reminder.rcpt_tos == ["author@example.org"]
    assert (
        reminder.message["Subject"]
        == "\u201cOn the agenda\u201d is on the agenda of tomorrow's Research Jam"
    )
    assert WebhookEvent.JAM_AGENDA.value == "jam_agenda"


def test_the_send_command_drains_the_outbox_and_says_what_happened(mail_app, make, smtp):
    jun_claims_an_rfp(mail_app, make)
    result = mail_app.test_cli_runner().invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert "Outbox: 1 sent, 0 to retry, 0 failed, 0 dropped." in result.output
    assert len(smtp.received) == 1


def test_a_reset_link_dies_when_the_address_changes(mail_app, smtp, make):
    make.user("jun")
    forgot(client(mail_app), "jun@example.org")
    send(mail_app)
    path = link_in(smtp.received[0].part("plain"), "/password/reset/")
    jun = client(mail_app)
    jun.login("jun")
    jun.post("/account/email", {"email": "jun@new.example", "password": PASSWORD})
    page = client(mail_app).get(path)
    assert page.status_code == 400 and "no longer uses" in page.get_data(as_text=True)
    assert _user(mail_app, "jun").email_confirmed_at is None  # the new address is unproved


def test_turning_the_tag_digest_off_stops_it(mail_app, make, smtp, clock):
    author = make.user("author")
    make.user("reader")
    reader = client(mail_app)
    reader.login("reader")
    make.rfp(author, tags=["optimisers"])
    clock.advance(minutes=1)
    reader.post("/tags/optimisers/follow", {"follow": "yes"}, form_url="/rfps?tag=optimisers")
    make.rfp(author, title="Followed", tags=["optimisers"])
    form = {key: value for key, value in _defaults().items()}
    assert reader.post("/account/notifications", {**form, "tag_digest": "site"}).status_code == 302
    clock.advance(days=1)
    report = send(mail_app)
    assert smtp.to("reader@example.org") == [] and report.dropped == 1


def _defaults() -> dict:
    from rfp_portal.models import DEFAULT_DELIVERY

    return {key: delivery.value for key, delivery in DEFAULT_DELIVERY.items()}


def test_a_wrong_mail_password_makes_messages_wait_not_fail(mail_app, make, smtp):
    mail_app.config["MAIL_URL"] = f"smtp://user:wrong@127.0.0.1:{smtp.port}"
    jun_claims_an_rfp(mail_app, make)
    report = send(mail_app)  # the test server offers no log-in: a setting to put right
    assert report.retrying == 1 and report.failed == 0


def test_a_tag_digest_picks_up_from_where_the_last_one_left_off(mail_app, make, smtp, clock):
    author = make.user("author")
    make.user("reader")
    reader = client(mail_app)
    reader.login("reader")
    make.rfp(author, tags=["optimisers"])
    clock.advance(minutes=1)
    reader.post("/tags/optimisers/follow", {"follow": "yes"}, form_url="/rfps?tag=optimisers")
    make.rfp(author, title="First week", tags=["optimisers"])
    clock.advance(days=1)
    send(mail_app)
    clock.advance(minutes=1)
    make.rfp(author, title="Published while the digest was going out", tags=["optimisers"])
    clock.advance(minutes=1)
    make.rfp(author, title="Second week", tags=["optimisers"])
    with mail_app.app_context():  # as if the first RFP's trigger had met the digest being sent
        session = get_session()
        row = session.scalar(sa.select(OutboxMessage).filter_by(state=MessageState.WAITING))
        row.params = {"since": datetime.now(UTC).isoformat()}
        session.commit()
    clock.advance(days=7)
    send(mail_app)
    first, second = smtp.to("reader@example.org")
    assert "First week" in first.part("plain")
    text = second.part("plain")
    assert "Published while the digest" in text and "Second week" in text
    assert "First week" not in text
