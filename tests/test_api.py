"""The read-only JSON API v1: shapes and values, filters, pages, errors, queries, and its OpenAPI
document, which schemathesis checks against the API served on a real socket."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES
from werkzeug.serving import make_server

from rfp_portal.api.openapi import PATHS
from rfp_portal.db import get_session
from rfp_portal.models import Claim, Compute, Difficulty, Jam, Rfp, RfpState, Role, User
from rfp_portal.services.claims import accept_delivery, claim_rfp, deliver_result
from rfp_portal.services.jams import JamDraft, create_jam, link_to_jam
from rfp_portal.services.plots import add_example_plot
from rfp_portal.storage import get_store
from rfp_portal.web.context import claim_policy
from tests import images
from tests.conftest import START

HOST = "http://localhost"


def get_json(web, url: str, status: int = 200):
    response = web.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    return response.get_json()


def error_message(web, url: str, status: int, method: str = "GET") -> str:
    response = web.client.open(url, method=method)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["status"] == status
    assert body["error"]["message"]
    return body["error"]["message"]


@pytest.fixture
def host(make) -> User:
    return make.user("host", role=Role.ORGANISER)


def schedule_jam(app, host: User, number: int, starts_at: datetime) -> None:
    """Research Jam #number, announced in UTC, 90 minutes long."""
    draft = JamDraft(
        number=number,
        title="Open Collab Research Jam",
        local_start=starts_at.astimezone(UTC).replace(tzinfo=None),
        timezone="UTC",
        duration_minutes=90,
        join_url="https://meet.example.org/jam",
        description="Share *small* updates.",
    )
    with app.app_context():
        session = get_session()
        create_jam(session, organiser=session.get(User, host.id), draft=draft, now=START)
        session.commit()


@pytest.fixture
def story(app, make, clock, host):
    """An RFP with everything: an example plot, two claims (one delivered and accepted), a "want"
    and a presentation at Research Jam #3; plus a bare RFP and an upcoming Jam #4."""
    ada, jun, sam = make.user("ada"), make.user("jun"), make.user("sam")
    rfp_id = make.rfp(
        ada,
        title="Where does linear learning-rate scaling break down?",
        summary="Best learning rate against batch size.",
        big_picture="The *linear scaling rule*, $\\eta \\propto B$.",
        first_plot="Batch size on **x**.",
        tags=["optimization", "scaling"],
        claim_cap=3,
    )
    clock.advance(days=1)
    bare_id = make.rfp(jun, title="A bare RFP", tags=["vision"])
    schedule_jam(app, host, 3, datetime(2021, 8, 4, 23, 0, tzinfo=UTC))
    schedule_jam(app, host, 4, START + timedelta(days=30))
    with app.app_context():
        session, store = get_session(), get_store()
        rfp = session.get(Rfp, rfp_id)  # made at START, the bare one a day later: the clock's
        author, worker, finisher = (session.get(User, u.id) for u in (ada, jun, sam))
        add_example_plot(
            session,
            store,
            rfp=rfp,
            actor=author,
            data=images.png(),
            caption="Wanted",
            alt_text="The plot asked for",
        )
        claim_rfp(session, rfp=rfp, person=worker, now=clock.now, policy=claim_policy())
        done = claim_rfp(session, rfp=rfp, person=finisher, now=clock.now, policy=claim_policy())
        deliver_result(
            session,
            store,
            claim=done,
            person=finisher,
            result_url="https://example.org/result",
            write_up="It bends at **512**.",
            image=images.png(color=(1, 2, 3)),
            caption="Result",
            alt_text="The bend",
            now=clock.now,
        )
        accept_delivery(session, claim=done, person=author, now=clock.now)
        rfp.want_count = 1  # one "I want this plot too" (the API reads only the counter)
        jam = jam_number(session, 3)
        link_to_jam(
            session,
            rfp=rfp,
            jam=jam,
            person=author,
            slides_url="https://slides.example.org/lr",
            recording_url=None,
            now=clock.now,
        )
        session.commit()
        plot_id, result_plot_id = rfp.plots[0].id, done.result_plot_id
    return {"rfp": rfp_id, "bare": bare_id, "plot": plot_id, "result_plot": result_plot_id}


# -- shapes and values ---------------------------------------------------------------------------

SUMMARY_KEYS = {
    "id",
    "title",
    "summary",
    "state",
    "difficulty",
    "compute",
    "tags",
    "author",
    "created_at",
    "updated_at",
    "want_count",
    "active_claims",
    "comments",
    "claimed",
    "presentations",
    "url",
    "api_url",
    "thumbnail_url",
}


def test_the_rfp_listing_gives_summaries_newest_first(web, story):
    page = get_json(web, "/api/v1/rfps?state=all")
    assert [item["id"] for item in page["items"]] == [story["bare"], story["rfp"]]
    assert (page["page"], page["per_page"], page["total"], page["pages"]) == (1, 20, 2, 1)
    bare, rich = page["items"]
    assert set(rich) == SUMMARY_KEYS
    assert rich == {
        "id": story["rfp"],
        "title": "Where does linear learning-rate scaling break down?",
        "summary": "Best learning rate against batch size.",
        "state": "completed",
        "difficulty": "beginner",
        "compute": "laptop",
        "tags": ["optimization", "scaling"],
        "author": {"username": "ada", "display_name": "Person ada", "url": f"{HOST}/users/ada"},
        "created_at": "2026-03-01T12:00:00Z",
        "updated_at": "2026-03-02T12:00:00Z",  # accepting the result completed it
        "want_count": 1,
        "active_claims": 1,
        "comments": 0,
        "claimed": True,
        "presentations": [
            {"jam": 3, "jam_title": "Open Collab Research Jam", "url": f"{HOST}/api/v1/jams/3"}
        ],
        "url": f"{HOST}/rfps/{story['rfp']}",
        "api_url": f"{HOST}/api/v1/rfps/{story['rfp']}",
        "thumbnail_url": rich["thumbnail_url"],
    }
    assert rich["thumbnail_url"].startswith(f"{HOST}/plots/{story['plot']}/thumb?v=")
    assert bare["thumbnail_url"] is None and bare["presentations"] == []
    assert bare["claimed"] is False and bare["active_claims"] == 0


def test_every_url_in_a_summary_answers(web, story):
    (item,) = get_json(web, "/api/v1/rfps?state=completed")["items"]
    for url in (item["url"], item["api_url"], item["thumbnail_url"], item["author"]["url"]):
        assert web.get(url.removeprefix(HOST)).status_code == 200, url
    assert get_json(web, item["presentations"][0]["url"].removeprefix(HOST))["number"] == 3


def test_an_rfp_in_full(web, story):
    rfp = get_json(web, f"/api/v1/rfps/{story['rfp']}")
    summary = get_json(web, "/api/v1/rfps?state=completed")["items"][0]
    extra = {"big_picture", "first_plot", "claim_cap", "plots", "claims", "results"}
    assert set(rfp) == SUMMARY_KEYS | extra
    assert {k: v for k, v in rfp.items() if k not in extra | {"presentations"}} == {
        k: v for k, v in summary.items() if k != "presentations"
    }
    assert rfp["big_picture"]["markdown"] == "The *linear scaling rule*, $\\eta \\propto B$."
    assert "<em>linear scaling rule</em>" in rfp["big_picture"]["html"]
    assert "<math" in rfp["big_picture"]["html"]
    assert rfp["first_plot"] == {
        "markdown": "Batch size on **x**.",
        "html": "<p>Batch size on <strong>x</strong>.</p>",
    }
    assert rfp["claim_cap"] == 3
    (plot,) = rfp["plots"]
    version = plot["image_url"].rpartition("v=")[2]
    assert plot == {
        "id": story["plot"],
        "kind": "example",
        "caption": "Wanted",
        "alt_text": "The plot asked for",
        "width": 640,
        "height": 400,
        "image_url": f"{HOST}/plots/{story['plot']}/image?v={version}",
        "thumbnail_url": f"{HOST}/plots/{story['plot']}/thumb?v={version}",
    }
    assert rfp["claims"] == {"active": 1, "delivered": 1, "accepted": 1, "total": 2}
    (result,) = rfp["results"]
    assert result["claimant"]["username"] == "sam"
    assert result["result_url"] == "https://example.org/result"
    assert result["write_up"]["html"] == "<p>It bends at <strong>512</strong>.</p>"
    assert result["image_url"].startswith(f"{HOST}/plots/{story['result_plot']}/image?v=")
    assert result["delivered_at"] == result["accepted_at"] == "2026-03-02T12:00:00Z"
    assert rfp["presentations"] == [
        {
            "jam": 3,
            "jam_title": "Open Collab Research Jam",
            "url": f"{HOST}/api/v1/jams/3",
            "starts_at": "2021-08-04T23:00:00Z",
            "presenter": {
                "username": "ada",
                "display_name": "Person ada",
                "url": f"{HOST}/users/ada",
            },
            "slides_url": "https://slides.example.org/lr",
            "recording_url": None,
        }
    ]
    bare = get_json(web, f"/api/v1/rfps/{story['bare']}")
    assert bare["plots"] == [] and bare["results"] == [] and bare["claim_cap"] is None
    assert bare["claims"] == {"active": 0, "delivered": 0, "accepted": 0, "total": 0}


def test_an_expired_claim_is_not_active(web, story, clock):
    clock.advance(days=31)
    rfp = get_json(web, f"/api/v1/rfps/{story['rfp']}")
    assert rfp["claims"] == {"active": 0, "delivered": 1, "accepted": 1, "total": 2}
    assert rfp["active_claims"] == 0 and rfp["claimed"] is False


def test_jams_newest_first_and_one_jam_with_its_agenda(web, story):
    page = get_json(web, "/api/v1/jams")
    assert [jam["number"] for jam in page["items"]] == [4, 3]
    upcoming, past = page["items"]
    assert upcoming == {
        "number": 4,
        "title": "Open Collab Research Jam",
        "starts_at": "2026-03-31T12:00:00Z",
        "ends_at": "2026-03-31T13:30:00Z",
        "timezone": "UTC",
        "duration_minutes": 90,
        "upcoming": True,
        "join_url": "https://meet.example.org/jam",
        "url": f"{HOST}/jams/4",
        "api_url": f"{HOST}/api/v1/jams/4",
        "ical_url": f"{HOST}/jams/4.ics",
    }
    assert past["upcoming"] is False and past["join_url"] is None  # as the Jam's page does
    jam = get_json(web, "/api/v1/jams/3")
    assert {
        k: v for k, v in jam.items() if k not in ("description", "presentations", "agenda")
    } == past
    assert jam["description"] == {
        "markdown": "Share *small* updates.",
        "html": "<p>Share <em>small</em> updates.</p>",
    }
    assert jam["presentations"] == [
        {
            "rfp": story["rfp"],
            "title": "Where does linear learning-rate scaling break down?",
            "state": "completed",
            "url": f"{HOST}/rfps/{story['rfp']}",
            "api_url": f"{HOST}/api/v1/rfps/{story['rfp']}",
            "presenter": {
                "username": "ada",
                "display_name": "Person ada",
                "url": f"{HOST}/users/ada",
            },
            "slides_url": "https://slides.example.org/lr",
            "recording_url": None,
        }
    ]
    for url in (jam["url"], jam["ical_url"]):
        assert web.get(url.removeprefix(HOST)).status_code == 200


def test_upcoming_means_not_over_yet_as_on_the_jams_page(web, app, clock, host):
    # A kept page may lag the clock by PAGE_CACHE_SECONDS (tests/test_page_cache.py); this test
    # moves it by one second to find where the boundary lies, so it reads every answer afresh.
    app.config["PAGE_CACHE_ENTRIES"] = 0
    schedule_jam(app, host, 1, START - timedelta(days=10))
    schedule_jam(app, host, 2, START - timedelta(minutes=90))  # ends right now
    schedule_jam(app, host, 3, START + timedelta(days=10))

    def numbers(when):
        return [jam["number"] for jam in get_json(web, f"/api/v1/jams?when={when}")["items"]]

    def upcoming_by_the_model():
        with app.app_context():
            jams = get_session().scalars(sa.select(Jam).order_by(Jam.number.desc()))
            return [jam.number for jam in jams if jam.is_upcoming(clock.now)]

    assert numbers("upcoming") == upcoming_by_the_model() == [3, 2]
    assert numbers("past") == [1]
    clock.advance(seconds=1)
    assert numbers("upcoming") == upcoming_by_the_model() == [3]
    assert numbers("past") == [2, 1]
    page = get_json(web, "/api/v1/jams?when=past&per_page=1")
    assert page["links"]["next"] == f"{HOST}/api/v1/jams?when=past&page=2&per_page=1"


# -- filters, sorts and pages --------------------------------------------------------------------


def titles(web, query: str) -> list[str]:
    return [item["title"] for item in get_json(web, f"/api/v1/rfps?{query}")["items"]]


def test_the_listing_filters_and_sorts(web, app, make, story):
    make.rfp(
        make.user("maria"),
        title="Grokking on modular arithmetic",
        tags=["Grokking"],
        difficulty=Difficulty.ADVANCED,
        compute=Compute.ONE_GPU,
    )
    lr = "Where does linear learning-rate scaling break down?"
    everything = ["Grokking on modular arithmetic", "A bare RFP", lr]
    assert titles(web, "") == everything  # open and completed, newest first
    assert titles(web, "state=completed") == [lr]
    assert titles(web, "state=all&claimed=yes") == [lr]
    assert titles(web, "claimed=no") == ["Grokking on modular arithmetic", "A bare RFP"]
    assert titles(web, "state=all&tag=Optimization&tag=scaling") == [lr]
    assert titles(web, "state=all&tag=optimization&tag=vision") == []
    assert titles(web, "state=all&jam=3") == [lr] and titles(web, "jam=4") == []
    assert titles(web, "difficulty=advanced&compute=one+GPU") == ["Grokking on modular arithmetic"]
    assert titles(web, "q=modular+arithmetic") == ["Grokking on modular arithmetic"]
    assert titles(web, "state=all&sort=wanted")[0] == lr
    assert titles(web, "state=all&sort=claims")[0] == lr
    assert titles(web, "state=all&sort=updated")[0] == "Grokking on modular arithmetic"


def test_pages_link_to_each_other_with_the_filters(web, make):
    person = make.user()
    for n in range(7):
        make.rfp(person, title=f"RFP {n}", tags=["shared", f"t{n}"])
    first = get_json(web, "/api/v1/rfps?tag=shared&per_page=3&sort=new")
    assert (first["total"], first["pages"], len(first["items"])) == (7, 3, 3)
    base = f"{HOST}/api/v1/rfps?sort=new&tag=shared"
    assert first["links"] == {
        "self": f"{base}&page=1&per_page=3",
        "next": f"{base}&page=2&per_page=3",
        "prev": None,
    }
    seen = [item["title"] for item in first["items"]]
    page = first
    while page["links"]["next"]:
        page = get_json(web, page["links"]["next"].removeprefix(HOST))
        seen += [item["title"] for item in page["items"]]
    assert seen == [f"RFP {n}" for n in reversed(range(7))]
    assert page["page"] == 3 and page["links"]["prev"] == f"{base}&page=2&per_page=3"
    beyond = get_json(web, "/api/v1/rfps?tag=shared&per_page=3&sort=new&page=9")
    assert beyond["items"] == [] and beyond["links"]["next"] is None
    assert beyond["links"]["prev"] == f"{base}&page=3&per_page=3"  # back to the last page


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=%2B2", "page"),
        ("page=100001", "page"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("per_page=", "per_page"),
        ("state=closed", "state"),
        ("claimed=maybe", "claimed"),
        ("claimed=", "claimed"),
        ("difficulty=easy", "difficulty"),
        ("compute=GPU", "compute"),
        ("sort=random", "sort"),
        ("jam=0", "jam"),
        ("jam=%233", "jam"),
        ("jam=99999999999", "jam"),
        ("tag=", "tag"),
        ("tag=%20%20", "tag"),
        ("tag=" + "x" * 31, "tag"),
        ("tag=caf%C3%A9", "tag"),
        ("tag=a&tag=b&tag=c&tag=d&tag=e&tag=f", "tags"),
        ("q=" + "x" * 201, "q"),
        ("state=open&state=all", "state"),
        ("page=0&sort=random", "page sort"),
    ],
)
@pytest.mark.engine_independent  # parameter parsing
def test_bad_listing_parameters_are_a_400_naming_them(web, query, names):
    message = error_message(web, f"/api/v1/rfps?{query}", 400)
    for name in names.split():
        assert name in message


@pytest.mark.parametrize("query", ["when=soon", "when=", "page=0", "per_page=1000"])
@pytest.mark.engine_independent  # parameter parsing
def test_bad_jam_parameters_are_a_400(web, query):
    error_message(web, f"/api/v1/jams?{query}", 400)


@pytest.mark.engine_independent  # parameter parsing
def test_the_html_listing_stays_lenient(web):
    assert web.get("/rfps?sort=random&page=0&claimed=maybe").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/rfps/999",
        "/api/v1/rfps/0",
        "/api/v1/rfps/-1",
        "/api/v1/rfps/2147483648",
        "/api/v1/rfps/abc",
        "/api/v1/jams/9",
        "/api/v1/jams/99999999999",
        "/api/v1/nothing",
        "/api/v2/rfps",
        "/api/",
    ],
)
def test_unknown_things_are_a_404_in_json(web, url):
    error_message(web, url, 404)


@pytest.mark.engine_independent  # error pages
def test_errors_elsewhere_stay_html_pages(web):
    response = web.get("/rfps/999")
    assert response.status_code == 404 and response.mimetype == "text/html"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("url", ["/api/v1/rfps", "/api/v1/rfps/1", "/api/v1/jams/1"])
@pytest.mark.engine_independent  # routing
def test_writing_is_a_405_in_json_naming_what_is_allowed(web, method, url):
    error_message(web, url, 405, method=method)
    response = web.client.open(url, method=method)
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_a_failure_of_ours_is_a_500_in_json(web, app, story, monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as in production, not raise into the test

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("rfp_portal.api.serialize.rfp_detail", broken)
    message = error_message(web, f"/api/v1/rfps/{story['rfp']}", 500)
    assert "boom" not in message
    assert get_json(web, "/api/v1/rfps")["total"] == 2  # the next request is fine


def test_a_nul_byte_is_a_400_in_json(web):
    error_message(web, "/api/v1/rfps?q=%00", 400)


# -- queries -------------------------------------------------------------------------------------


def count(count_queries, web, url: str) -> int:
    with count_queries() as q:
        get_json(web, url)
    return q.count


def test_the_listing_costs_a_fixed_number_of_queries(web, app, make, story, count_queries):
    # one RFP with everything a summary shows: tags, a plot, claims, a presentation
    one = count(count_queries, web, "/api/v1/rfps?state=completed")
    author = make.user()
    for n in range(15):
        make.rfp(author, tags=[f"t{n}", "shared"])
    with app.app_context():
        session, store = get_session(), get_store()
        person, jam = session.get(User, author.id), jam_number(session, 3)
        for rfp in session.scalars(sa.select(Rfp).where(Rfp.author_id == author.id)):
            add_example_plot(
                session,
                store,
                rfp=rfp,
                actor=person,
                data=images.png(64, 40),
                caption="c",
                alt_text="a",
            )
            link_to_jam(
                session,
                rfp=rfp,
                jam=jam,
                person=person,
                slides_url=None,
                recording_url=None,
                now=START,
            )
        session.commit()
    assert count(count_queries, web, "/api/v1/rfps?state=all") == one
    fifteen = "/api/v1/rfps?state=all&q=rfp&tag=shared&sort=claims&claimed=no"
    assert len(get_json(web, fifteen)["items"]) == 15
    assert count(count_queries, web, fifteen) == one


def test_one_rfp_and_one_jam_cost_a_fixed_number_of_queries(
    web, app, make, story, count_queries, clock
):
    rfp_url = f"/api/v1/rfps/{story['rfp']}"
    before = count(count_queries, web, rfp_url), count(count_queries, web, "/api/v1/jams/3")
    people = [make.user() for _ in range(3)]
    with app.app_context():
        session = get_session()
        rfp, jam = session.get(Rfp, story["rfp"]), jam_number(session, 3)
        rfp.state, rfp.claim_cap = RfpState.OPEN, None  # so it takes more claims
        for person in people:
            claim_rfp(
                session,
                rfp=rfp,
                person=session.get(User, person.id),
                now=clock.now,
                policy=claim_policy(),
            )
        link_to_jam(
            session,
            rfp=session.get(Rfp, story["bare"]),
            jam=jam,
            person=jam_host(session),
            slides_url=None,
            recording_url=None,
            now=START,
        )
        session.commit()
    assert get_json(web, rfp_url)["claims"]["total"] == 5
    assert len(get_json(web, "/api/v1/jams/3")["presentations"]) == 2
    after = count(count_queries, web, rfp_url), count(count_queries, web, "/api/v1/jams/3")
    assert after == before


def jam_host(session) -> User:
    return session.scalars(sa.select(User).where(User.username == "host")).one()


def jam_number(session, number: int) -> Jam:
    return session.scalars(sa.select(Jam).where(Jam.number == number)).one()


def test_claims_counted_are_those_of_the_model(app, web, story, clock):
    """``claims.active`` agrees with :meth:`Claim.is_active`, however the clock moves."""
    for days in (0, 29, 31):
        clock.now = START + timedelta(days=1 + days)
        with app.test_request_context():
            claims = get_session().query(Claim).all()
            active = sum(c.is_active(clock.now, claim_policy()) for c in claims)
        assert get_json(web, f"/api/v1/rfps/{story['rfp']}")["claims"]["active"] == active


# -- the OpenAPI document and schemathesis -------------------------------------------------------


@pytest.mark.engine_independent  # the document
def test_the_openapi_document_is_valid_3_1_and_describes_every_route(web, app):
    document = get_json(web, "/api/v1/openapi.json")
    validate(document)  # raises on an invalid document
    assert document["openapi"] == "3.1.0"
    routes = {
        rule.rule.replace("<id:rfp_id>", "{rfp_id}").replace("<id:number>", "{number}")
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
    }
    assert set(document["paths"]) == routes
    for operations in document["paths"].values():
        assert set(operations) == {"get"}


@pytest.fixture
def live_api(request, app):
    """The portal with its demo data, served by werkzeug on a free loopback port (as the browser
    tests do); yields its base URL."""
    assert request.node.get_closest_marker("demo_data"), "mark the test demo_data"
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="api-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture
def api_schema(live_api):
    """The API's own OpenAPI document, as schemathesis reads it from the live server."""
    # A NUL byte is refused (a JSON 400) before the API sees the request, as on every page (see
    # test_a_nul_byte_is_a_400_in_json); the document's strings do not promise to take one.
    config = schemathesis.Config.from_dict(
        {"generation": {"allow-x00": False}, "checks": REJECTING_TOO_LONG}
    )
    return schemathesis.openapi.from_url(f"{live_api}/api/v1/openapi.json", config=config)


# An address past 4,096 characters is refused as 414, as documented: a refusal of negative data
# like the 4xx schemathesis expects by default.
REJECTING_TOO_LONG = {
    "negative_data_rejection": {
        "expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "414"]
    }
}


@pytest.mark.demo_data
def test_fuzzing_finds_no_broken_promise_of_the_openapi_document(api_schema, subtests):
    """Schemathesis's default checks on requests it makes from the document, for every operation:
    no server error, only documented status codes and content types, responses matching their
    schemas, what the document allows accepted (positive) and what it forbids refused (negative).
    """
    operations = [result.ok() for result in api_schema.get_all_operations()]
    # every operation but the document itself, which schemathesis leaves out
    assert {operation.path for operation in operations} == set(PATHS) - {"/api/v1/openapi.json"}
    for operation in operations:
        modes = [GenerationMode.POSITIVE]
        if operation.definition.raw.get("parameters"):
            modes.append(GenerationMode.NEGATIVE)  # nothing to get wrong without parameters
        for mode in modes:
            with subtests.test(msg=f"{operation.label} {mode.value}"):
                run_schemathesis(operation, mode)


def run_schemathesis(operation, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case):
        case.call_and_validate()

    check()


@pytest.mark.demo_data
def test_schemathesis_run_finds_no_broken_promise_either(live_api, tmp_path):
    """The other phases of ``schemathesis run``: the document's examples, coverage (every
    boundary and enum value, each just inside and just outside what is allowed, and methods the
    document does not list) and stateful sequences that follow the links between responses.
    Fuzzing is the test above."""
    statuses = ", ".join(
        f'"{s}"' for s in REJECTING_TOO_LONG["negative_data_rejection"]["expected-statuses"]
    )
    config_file = tmp_path / "schemathesis.toml"
    config_file.write_text(f"[checks.negative_data_rejection]\nexpected-statuses = [{statuses}]\n")
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config_file),
        "run",
        f"{live_api}/api/v1/openapi.json",
        "--phases",
        "examples,coverage,stateful",
        "--max-examples",
        "40",
        "--generation-allow-x00",
        "false",
        "--generation-database",
        "none",
        "--no-color",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5_000:]
