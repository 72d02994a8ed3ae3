"""Claims: the rules through the HTTP surface and the domain layer, with a controlled clock."""

import io
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from rfp_portal.db import get_session
from rfp_portal.models import (
    Claim,
    ClaimPolicy,
    ClaimStatus,
    Notification,
    Plot,
    PlotKind,
    Rfp,
    RfpState,
    User,
)
from rfp_portal.services import DomainError
from rfp_portal.services.claims import claim_rfp
from tests import images
from tests.conftest import START, Web


@pytest.fixture
def rfp_id(make, clock):
    return make.rfp(make.user("author"))


def other_client(app) -> Web:
    return Web(app.test_client())


def claim(web, rfp_id, note=""):
    return web.post(f"/rfps/{rfp_id}/claims", {"note": note}, form_url=f"/rfps/{rfp_id}")


def claims_in_db(app, **where):
    with app.app_context():
        session = get_session()
        rows = session.scalars(sa.select(Claim).filter_by(**where).order_by(Claim.id)).all()
        for row in rows:
            session.expunge(row)
        return rows


def page(web, rfp_id) -> str:
    return web.get(f"/rfps/{rfp_id}").get_data(as_text=True)


# -- claiming ----------------------------------------------------------------------------------


def test_a_member_claims_with_a_note_and_the_author_is_told(web, app, make, rfp_id):
    make.user("ada")
    web.login("ada")
    response = claim(web, rfp_id, note="I'll try **ResNet-18** first.")
    assert response.status_code == 302 and response.headers["Location"].startswith(
        f"/rfps/{rfp_id}#claim-"
    )
    (c,) = claims_in_db(app)
    assert c.status is ClaimStatus.ACTIVE and c.created_at == c.last_activity_at == START
    html = page(web, rfp_id)
    assert "<strong>ResNet-18</strong>" in html and "Active" in html
    author = other_client(app)
    author.login("author")
    assert '<span class="badge">1<' in author.get("/").get_data(as_text=True)
    notes = author.get("/notifications").get_data(as_text=True)
    assert "Person ada" in notes and "claimed" in notes


def test_the_author_cannot_claim_their_own_rfp(web, rfp_id):
    web.login("author")
    assert "it is for others to claim" in page(web, rfp_id)
    response = claim(web, rfp_id)
    assert response.status_code == 422 and "for others to claim" in response.get_data(as_text=True)


def test_claiming_twice_is_refused(web, app, make, rfp_id):
    make.user("ada")
    web.login("ada")
    claim(web, rfp_id)
    response = claim(web, rfp_id)
    assert response.status_code == 422
    assert "already working on this" in response.get_data(as_text=True)
    assert len(claims_in_db(app)) == 1


def test_the_authors_cap_is_respected(web, app, make, clock):
    rfp_id = make.rfp(make.user("author"), claim_cap=2)
    for name in ("ada", "jun"):
        make.user(name)
        client = other_client(app)
        client.login(name)
        assert claim(client, rfp_id).status_code == 302
    make.user("third")
    web.login("third")
    response = claim(web, rfp_id)
    assert (
        response.status_code == 422
        and "2 people are already working on this" in response.get_data(as_text=True)
    )


@pytest.mark.parametrize("state", [RfpState.WITHDRAWN, RfpState.COMPLETED])
def test_only_open_rfps_take_claims(web, app, make, rfp_id, state):
    with app.app_context():
        session = get_session()
        session.get(Rfp, rfp_id).state = state
        session.commit()
    make.user("ada")
    web.login("ada")
    response = claim(web, rfp_id)
    assert response.status_code == 422 and f"This RFP is {state.value}" in response.get_data(
        as_text=True
    )


def test_a_person_holds_at_most_three_active_claims(web, app, make, clock):
    author = make.user("author")
    ids = [make.rfp(author) for _ in range(4)]
    make.user("ada")
    web.login("ada")
    for rfp_id in ids[:3]:
        assert claim(web, rfp_id).status_code == 302
    response = claim(web, ids[3])
    assert response.status_code == 422 and "already hold 3 active claims" in response.get_data(
        as_text=True
    )
    app.config["MAX_ACTIVE_CLAIMS"] = 4  # configurable
    assert claim(web, ids[3]).status_code == 302


# -- time: check-in due after 21 days, expired after 30, no scheduled job ------------------------


def test_check_in_due_then_expired_then_open_again(web, app, make, clock):
    rfp_id = make.rfp(make.user("author"), claim_cap=1)
    make.user("ada")
    web.login("ada")
    claim(web, rfp_id)
    clock.advance(days=20)
    assert "Check-in due" not in page(web, rfp_id)
    clock.advance(days=2)
    html = page(web, rfp_id)
    assert "Check-in due" in html and "post a short update" in html
    assert "1 working on it" in web.get("/rfps").get_data(as_text=True)
    assert "RFP number" in web.get("/rfps?claimed=yes").get_data(as_text=True)
    clock.advance(days=9)  # 31 days
    html = page(web, rfp_id)
    assert "Expired" in html and "open to others again" in html
    listing = web.get("/rfps?claimed=no").get_data(as_text=True)
    assert "0 working on it" in listing and f"/rfps/{rfp_id}" in listing
    # the cap of 1 no longer counts the expired claim
    make.user("jun")
    jun = other_client(app)
    jun.login("jun")
    assert claim(jun, rfp_id).status_code == 302


def test_a_progress_update_resets_the_clock(web, app, make, clock):
    rfp_id = make.rfp(make.user("author"))
    make.user("ada")
    web.login("ada")
    claim(web, rfp_id)
    (c,) = claims_in_db(app)
    clock.advance(days=25)
    assert "Check-in due" in page(web, rfp_id)
    response = web.post(
        f"/claims/{c.id}/progress",
        {f"claim-{c.id}-body": "Baseline done: *loss 0.3*."},
        form_url=f"/rfps/{rfp_id}",
    )
    assert response.status_code == 302
    (c,) = claims_in_db(app)
    assert c.last_activity_at == clock.now
    html = page(web, rfp_id)
    assert "Check-in due" not in html and "<em>loss 0.3</em>" in html
    clock.advance(days=29)
    assert "Expired" not in page(web, rfp_id)


def test_an_expired_claim_takes_no_progress_but_can_be_claimed_again(web, app, make, clock):
    rfp_id = make.rfp(make.user("author"))
    make.user("ada")
    web.login("ada")
    claim(web, rfp_id)
    (c,) = claims_in_db(app)
    clock.advance(days=31)
    response = web.post(
        f"/claims/{c.id}/progress", {f"claim-{c.id}-body": "back!"}, form_url=f"/rfps/{rfp_id}"
    )
    assert response.status_code == 302
    assert "This claim has expired" in web.get(response.headers["Location"]).get_data(as_text=True)
    assert claim(web, rfp_id).status_code == 302
    assert len(claims_in_db(app, status=ClaimStatus.ACTIVE)) == 2  # the old one stays, expired


def test_expiry_days_are_configurable(web, app, make, clock):
    app.config["CLAIM_EXPIRE_DAYS"] = 5
    app.config["CLAIM_CHECKIN_DAYS"] = 2
    rfp_id = make.rfp(make.user("author"))
    make.user("ada")
    web.login("ada")
    claim(web, rfp_id)
    clock.advance(days=3)
    assert "Check-in due" in page(web, rfp_id)
    clock.advance(days=3)
    assert "Expired" in page(web, rfp_id)


@pytest.mark.engine_independent  # form validation
def test_progress_needs_text_and_keeps_it_on_error(web, app, make, clock):
    rfp_id = make.rfp(make.user("author"))
    make.user("ada")
    web.login("ada")
    claim(web, rfp_id)
    (c,) = claims_in_db(app)
    response = web.post(
        f"/claims/{c.id}/progress", {f"claim-{c.id}-body": "x" * 5001}, form_url=f"/rfps/{rfp_id}"
    )
    assert response.status_code == 422 and "under 5,000 characters" in response.get_data(
        as_text=True
    )
    response = web.post(
        f"/claims/{c.id}/progress", {f"claim-{c.id}-body": ""}, form_url=f"/rfps/{rfp_id}"
    )
    assert response.status_code == 422 and "Write a short update" in response.get_data(as_text=True)


# -- drop, deliver, accept ------------------------------------------------------------------------


@pytest.fixture
def working(web, make, rfp_id):
    make.user("ada")
    web.login("ada")
    claim(web, rfp_id)
    return rfp_id


def the_claim(app):
    (c,) = claims_in_db(app)
    return c


def deliver(web, claim_id, **changes):
    data = {
        "result_url": "https://github.com/ada/warmup",
        "write_up": "The bend sits at **B = 512**.",
        "caption": "Best LR against batch size",
        "alt_text": "Log-log plot; the line bends at 512.",
        "image": (io.BytesIO(images.png()), "result.png"),
    }
    data.update({key: value() if callable(value) else value for key, value in changes.items()})
    return web.post(
        f"/claims/{claim_id}/deliver",
        data,
        form_url=f"/claims/{claim_id}/deliver",
        content_type="multipart/form-data",
    )


def test_drop(web, app, working):
    c = the_claim(app)
    assert "Drop your claim?" in web.get(f"/claims/{c.id}/drop").get_data(as_text=True)
    assert web.post(f"/claims/{c.id}/drop", form_url=f"/claims/{c.id}/drop").status_code == 302
    assert the_claim(app).status is ClaimStatus.DROPPED
    assert "0 working on it" in web.get("/rfps").get_data(as_text=True)
    assert web.post(f"/claims/{c.id}/drop").status_code == 403  # only an active claim is dropped


def test_deliver_then_accept_completes_the_rfp_with_plots_side_by_side(
    web, app, make, working, clock
):
    rfp_id = working
    author = other_client(app)
    author.login("author")
    author.post(
        f"/rfps/{rfp_id}/plots",
        {
            "kind": "example",
            "caption": "requested",
            "alt_text": "the plot I want",
            "image": (io.BytesIO(images.png(color=(1, 1, 1))), "r.png"),
        },
        form_url=f"/rfps/{rfp_id}/plots/new/example",
        content_type="multipart/form-data",
    )
    c = the_claim(app)
    clock.advance(days=3)
    response = deliver(web, c.id)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert response.headers["Location"].endswith(f"#delivery-{c.id}")
    c = the_claim(app)
    assert c.status is ClaimStatus.DELIVERED and c.result_url == "https://github.com/ada/warmup"
    with app.app_context():
        result = get_session().get(Plot, c.result_plot_id)
        assert result.kind is PlotKind.RESULT
    # the author hears of it, and sees requested and delivered side by side
    notes = author.get("/notifications").get_data(as_text=True)
    assert "delivered a result for" in notes
    assert f"#claim-{c.id}" not in notes and notes.count(f"#delivery-{c.id}") == 2  # it moved there
    html = page(author, rfp_id)
    side = html[html.index('class="side-by-side"') :]
    assert side.index("the plot I want") < side.index("Log-log plot; the line bends at 512.")
    assert "<strong>B = 512</strong>" in html and "Accept this result" in html
    assert "Accept this result" not in page(web, rfp_id)  # only the author accepts
    # the RFP's own gallery does not list the result as a requested plot
    gallery = html[html.index('class="plot-gallery"') : html.index('id="results"')]
    assert "the line bends" not in gallery
    assert author.post(f"/claims/{c.id}/accept", form_url=f"/rfps/{rfp_id}").status_code == 302
    with app.app_context():
        assert get_session().get(Rfp, rfp_id).state is RfpState.COMPLETED
    assert the_claim(app).accepted_at == clock.now
    assert "accepted your result" in web.get("/notifications").get_data(as_text=True)
    assert "Completed" in page(web, rfp_id) and "Accepted" in page(web, rfp_id)
    assert author.post(f"/claims/{c.id}/accept").status_code == 403  # once
    assert "You delivered a result here already" not in page(
        web, rfp_id
    )  # completed: no form at all
    assert "Delivered results" in web.get("/users/ada").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"result_url": "javascript:alert(1)"}, "result_url", "starting with https://"),
        ({"result_url": "data:text/html,hi"}, "result_url", "starting with https://"),
        ({"result_url": "ftp://example.org/x"}, "result_url", "starting with https://"),
        ({"result_url": "https://"}, "result_url", "starting with https://"),
        ({"write_up": ""}, "write_up", "Say in a few sentences"),
        (
            {"image": lambda: (io.BytesIO(images.SVG_WITH_SCRIPT), "x.png")},
            "image",
            "PNG, JPEG or WebP",
        ),
        ({"alt_text": ""}, "alt_text", "Describe the plot"),
    ],
)
@pytest.mark.engine_independent  # form validation
def test_bad_deliveries_get_form_errors(web, app, working, changes, field, message):
    c = the_claim(app)
    response = deliver(web, c.id, **changes)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and f'id="{field}-error"' in html and message in html
    assert the_claim(app).status is ClaimStatus.ACTIVE


# -- strangers --------------------------------------------------------------------------------


def claim_write_routes(claim_id):
    return {
        "progress": (f"/claims/{claim_id}/progress", {f"claim-{claim_id}-body": "hijack"}),
        "drop": (f"/claims/{claim_id}/drop", {}),
        "deliver": (
            f"/claims/{claim_id}/deliver",
            {
                "result_url": "https://x.org",
                "write_up": "w",
                "caption": "c",
                "alt_text": "a",
                "image": (io.BytesIO(images.png()), "x.png"),
            },
        ),
        "accept": (f"/claims/{claim_id}/accept", {}),
    }


@pytest.mark.parametrize("route", ["progress", "drop", "deliver", "accept"])
def test_a_stranger_cannot_touch_someone_elses_claim(web, app, make, working, route):
    c = the_claim(app)
    if route == "accept":
        deliver(web, c.id)
    before = the_claim(app)
    make.user("stranger")
    stranger = other_client(app)
    stranger.login("stranger")
    url, data = claim_write_routes(c.id)[route]
    assert stranger.post(url, data, content_type="multipart/form-data").status_code == 403
    after = the_claim(app)
    assert (after.status, after.last_activity_at, after.accepted_at) == (
        before.status,
        before.last_activity_at,
        before.accepted_at,
    )
    # and the claimant cannot accept their own delivery either
    if route == "accept":
        assert web.post(url).status_code == 403


@pytest.mark.parametrize("route", ["progress", "drop", "deliver", "accept"])
def test_a_visitor_is_sent_to_log_in(app, working, route):
    c = the_claim(app)
    visitor = other_client(app)
    url, data = claim_write_routes(c.id)[route]
    response = visitor.post(url, data, content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("route", ["progress", "drop", "deliver", "accept"])
def test_claim_writes_need_csrf(web, app, working, route):
    c = the_claim(app)
    url, data = claim_write_routes(c.id)[route]
    assert web.client.post(url, data=data, content_type="multipart/form-data").status_code == 400


def test_claiming_needs_login_and_csrf(app, web, rfp_id, make):
    visitor = other_client(app)
    assert visitor.post(f"/rfps/{rfp_id}/claims", {}).headers["Location"].startswith("/login")
    make.user("ada")
    web.login("ada")
    assert web.client.post(f"/rfps/{rfp_id}/claims", data={}).status_code == 400
    assert claims_in_db(app) == []


def test_unknown_claims_are_404(web, make):
    make.user("ada")
    web.login("ada")
    for url in ("/claims/999/drop", "/claims/999/deliver"):
        assert web.get(url).status_code == 404
    assert web.post("/claims/999/accept").status_code == 404


# -- the domain layer directly, and concurrency ------------------------------------------------


def test_domain_rules_without_http(app, make):
    author, ada = make.user("author"), make.user("ada")
    rfp_id = make.rfp(author, claim_cap=1)
    policy = ClaimPolicy(checkin_days=21, expire_days=30, per_person=3)
    with app.app_context():
        session = get_session()
        rfp, person = session.get(Rfp, rfp_id), session.get(User, ada.id)
        claim_rfp(session, rfp=rfp, person=person, now=START, policy=policy)
        session.commit()
        with pytest.raises(DomainError, match="already working"):
            claim_rfp(session, rfp=rfp, person=person, now=START, policy=policy)
        session.rollback()
        (c,) = session.scalars(sa.select(Claim)).all()
        assert c.display_state(START + timedelta(days=22), policy) == "check-in due"
        assert c.display_state(START + timedelta(days=31), policy) == "expired"
        assert c.is_active(START + timedelta(days=29), policy)
        # once expired, the same person may claim again
        claim_rfp(session, rfp=rfp, person=person, now=START + timedelta(days=31), policy=policy)
        session.commit()


def race_to_claim(app, make, racers: int) -> list[str]:
    """``racers`` people claim one RFP capped at 1 at the same instant; what each was told."""
    rfp_id = make.rfp(make.user("author"), claim_cap=1)
    people = [make.user(f"racer{n}") for n in range(racers)]
    barrier = threading.Barrier(racers, timeout=30)
    outcomes: list[str] = []

    def racer(person):
        with app.app_context():
            session = get_session()
            rfp, me = session.get(Rfp, rfp_id), session.get(User, person.id)
            barrier.wait()
            try:
                claim_rfp(session, rfp=rfp, person=me, now=datetime.now(UTC), policy=ClaimPolicy())
                session.commit()
                outcomes.append("claimed")
            except DomainError:
                session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=racer, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_twenty_people_claiming_at_once_an_rfp_capped_at_one_yield_one_claim(
    app, make, database_url
):
    assert race_to_claim(app, make, 20) == ["claimed"] + ["refused"] * 19
    assert len(claims_in_db(app)) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_concurrent_claims_on_sqlite_also_yield_one(app, make, database_url):
    assert race_to_claim(app, make, 8) == ["claimed"] + ["refused"] * 7
    assert len(claims_in_db(app)) == 1


def test_notifications_page_and_mark_all_read(web, app, make, working):
    author = other_client(app)
    author.login("author")
    assert "Mark all as read" in author.get("/notifications").get_data(as_text=True)
    assert author.post("/notifications/read", form_url="/notifications").status_code == 302
    with app.app_context():
        assert (
            get_session().scalar(
                sa.select(sa.func.count())
                .select_from(Notification)
                .where(Notification.read_at.is_(None))
            )
            == 0
        )
    assert 'class="badge"' not in author.get("/").get_data(as_text=True)
    assert other_client(app).get("/notifications").status_code == 302


def test_who_delivered_does_not_claim_the_same_rfp_again(web, app, working):
    c = the_claim(app)
    deliver(web, c.id)
    assert "You delivered a result here already" in page(web, working)
    assert claim(web, working).status_code == 422


def test_marking_notifications_read_needs_login_and_csrf(web, app, working):
    assert other_client(app).post("/notifications/read").headers["Location"].startswith("/login")
    assert web.client.post("/notifications/read").status_code == 400


@pytest.mark.demo_data
def test_demo_data_has_claims_in_every_state_and_threads(app, web):
    from rfp_portal.web.context import claim_policy

    with app.test_request_context():
        policy = claim_policy()
        now = datetime.now(UTC)
        states = {c.display_state(now, policy) for c in claims_in_db(app)}
    assert states == {"active", "check-in due", "expired", "delivered", "accepted"}
    html = web.get("/rfps?state=all").get_data(as_text=True)
    assert "Completed" in html and "comments" in html


def test_a_withdrawn_rfp_takes_no_deliveries(web, app, working):
    c = the_claim(app)
    with app.app_context():
        session = get_session()
        session.get(Rfp, working).state = RfpState.WITHDRAWN
        session.commit()
    assert web.get(f"/claims/{c.id}/deliver").status_code == 403
    assert deliver(web, c.id).status_code == 403
    assert the_claim(app).status is ClaimStatus.ACTIVE
