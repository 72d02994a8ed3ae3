"""The JSON API's calendar: /api/v1/events (Research Jams and the events of other series, on one
list) and the agenda of /api/v1/jams/<number> (the accepted slots members offered)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from jsonschema import Draft202012Validator

from rfp_portal.api.openapi import openapi_document
from rfp_portal.db import get_session
from rfp_portal.models import (
    AgendaSlot,
    Compute,
    Difficulty,
    EventSeries,
    Jam,
    Rfp,
    Role,
    SeriesKind,
    SlotKind,
    User,
)
from rfp_portal.services.agenda import SlotOffer, accept_slot, decline_slot, offer_slot
from rfp_portal.services.events import EventDraft, SeriesDraft, create_event, create_series
from rfp_portal.services.jams import JamDraft, create_jam
from rfp_portal.services.rfps import RfpDraft, publish_rfp, submit_rfp
from tests.conftest import START
from tests.test_api import HOST, error_message, get_json

OCH = "openclubhouse"
SOCIALS = "socials"


# -- making a calendar through the services ------------------------------------------------------


@pytest.fixture
def host(make) -> User:
    return make.user("host", role=Role.ORGANISER)


@pytest.fixture
def admin(make) -> User:
    return make.user("root", role=Role.ADMIN)


def utc_wall_clock(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def schedule_jam(app, host: User, number: int, starts_at: datetime, minutes: int = 90) -> None:
    """Research Jam #number, announced in UTC."""
    draft = JamDraft(
        number=number,
        title="Open Collab Research Jam",
        local_start=utc_wall_clock(starts_at),
        timezone="UTC",
        duration_minutes=minutes,
        join_url="https://meet.example.org/jam",
        description="Share *small* updates.",
    )
    with app.app_context():
        session = get_session()
        create_jam(session, organiser=session.get(User, host.id), draft=draft, now=START)
        session.commit()


def add_series(app, admin: User, name: str, slug: str, kind: SeriesKind) -> None:
    with app.app_context():
        session = get_session()
        create_series(
            session,
            admin=session.get(User, admin.id),
            draft=SeriesDraft(name=name, slug=slug, kind=kind, description="A series."),
            now=START,
        )
        session.commit()


def add_event(
    app,
    host: User,
    slug: str,
    starts_at: datetime,
    *,
    number: int | None = None,
    title: str = "OpenClubHouse",
    minutes: int = 60,
    conference: str | None = None,
    link_url: str | None = None,
) -> None:
    draft = EventDraft(
        number=number,
        title=title,
        local_start=utc_wall_clock(starts_at),
        timezone="UTC",
        duration_minutes=minutes,
        join_url="https://meet.example.org/och",
        description="Bring *questions*.",
        conference=conference,
        link_url=link_url,
    )
    with app.app_context():
        session = get_session()
        series = session.query(EventSeries).filter_by(slug=slug).one()
        create_event(
            session, organiser=session.get(User, host.id), series=series, draft=draft, now=START
        )
        session.commit()


@pytest.fixture
def jams(app, clock, host):
    """Research Jam #3, long past, and #4, a month ahead."""
    schedule_jam(app, host, 3, datetime(2021, 8, 4, 23, 0, tzinfo=UTC))
    schedule_jam(app, host, 4, START + timedelta(days=30))


@pytest.fixture
def calendar(app, jams, admin, host):
    """Newest first: Research Jam #4 (upcoming), OpenClubHouse #5 (upcoming), OpenClubHouse #4,
    Research Jam #3, and the ICLR 2021 Social (a named event at a conference)."""
    add_series(app, admin, "MLC OpenClubHouse", OCH, SeriesKind.NUMBERED)
    add_series(app, admin, "Conference Socials", SOCIALS, SeriesKind.NAMED)
    add_event(app, host, OCH, START - timedelta(days=20), number=4)
    add_event(app, host, OCH, START + timedelta(days=10), number=5)
    add_event(
        app,
        host,
        SOCIALS,
        datetime(2021, 5, 5, 18, 0, tzinfo=UTC),
        title="ICLR 2021 Social",
        minutes=120,
        conference="ICLR 2021",
        link_url="https://iclr.cc/Conferences/2021",
    )


def names(web, query: str = "") -> list[str]:
    return [item["name"] for item in get_json(web, f"/api/v1/events?{query}")["items"]]


ALL = [
    "Research Jam #4",
    "MLC OpenClubHouse #5",
    "MLC OpenClubHouse #4",
    "Research Jam #3",
    "ICLR 2021 Social",
]


# -- the listing ---------------------------------------------------------------------------------


def test_every_event_newest_first_jams_among_them(web, calendar):
    page = get_json(web, "/api/v1/events")
    assert [item["name"] for item in page["items"]] == ALL
    assert (page["page"], page["per_page"], page["total"], page["pages"]) == (1, 20, 5, 1)
    assert page["links"] == {
        "self": f"{HOST}/api/v1/events?page=1&per_page=20",
        "next": None,
        "prev": None,
    }
    jam4, och5, och4, jam3, social = page["items"]
    assert jam4 == {
        "series": "research-jam",
        "series_name": "Research Jam",
        "name": "Research Jam #4",
        "title": "Open Collab Research Jam",
        "number": 4,
        "conference": None,
        "link_url": None,
        "starts_at": "2026-03-31T12:00:00Z",
        "ends_at": "2026-03-31T13:30:00Z",
        "timezone": "UTC",
        "duration_minutes": 90,
        "upcoming": True,
        "join_url": "https://meet.example.org/jam",
        "description_html": "<p>Share <em>small</em> updates.</p>",
        "url": f"{HOST}/jams/4",
        "api_url": f"{HOST}/api/v1/jams/4",
        "ical_url": f"{HOST}/jams/4.ics",
    }
    assert och5 == {
        "series": OCH,
        "series_name": "MLC OpenClubHouse",
        "name": "MLC OpenClubHouse #5",
        "title": "OpenClubHouse",
        "number": 5,
        "conference": None,
        "link_url": None,
        "starts_at": "2026-03-11T12:00:00Z",
        "ends_at": "2026-03-11T13:00:00Z",
        "timezone": "UTC",
        "duration_minutes": 60,
        "upcoming": True,
        "join_url": "https://meet.example.org/och",
        "description_html": "<p>Bring <em>questions</em>.</p>",
        "url": f"{HOST}/events/{OCH}/5",
        "api_url": None,
        "ical_url": f"{HOST}/events/{OCH}/5.ics",
    }
    assert social == {
        "series": SOCIALS,
        "series_name": "Conference Socials",
        "name": "ICLR 2021 Social",
        "title": "ICLR 2021 Social",
        "number": None,
        "conference": "ICLR 2021",
        "link_url": "https://iclr.cc/Conferences/2021",
        "starts_at": "2021-05-05T18:00:00Z",
        "ends_at": "2021-05-05T20:00:00Z",
        "timezone": "UTC",
        "duration_minutes": 120,
        "upcoming": False,
        "join_url": None,  # a past event's meeting link is stale, as for Jams
        "description_html": "<p>Bring <em>questions</em>.</p>",
        "url": f"{HOST}/events/{SOCIALS}/iclr-2021-social",
        "api_url": None,
        "ical_url": f"{HOST}/events/{SOCIALS}/iclr-2021-social.ics",
    }
    assert och4["upcoming"] is False and och4["join_url"] is None
    # A Jam here is the Jam of /api/v1/jams, with the calendar's fields besides.
    jams = {jam["number"]: jam for jam in get_json(web, "/api/v1/jams")["items"]}
    for item in (jam4, jam3):
        assert {k: v for k, v in item.items() if k in jams[item["number"]]} == jams[item["number"]]
    for item in page["items"]:
        for url in (item["url"], item["ical_url"]):
            assert web.get(url.removeprefix(HOST)).status_code == 200, url


def test_a_series_filter_keeps_that_series(web, calendar):
    assert names(web, "series=research-jam") == ["Research Jam #4", "Research Jam #3"]
    assert names(web, f"series={OCH}") == ["MLC OpenClubHouse #5", "MLC OpenClubHouse #4"]
    assert names(web, f"series={SOCIALS}") == ["ICLR 2021 Social"]
    page = get_json(web, f"/api/v1/events?series={OCH}&per_page=1")
    assert page["total"] == 2
    assert page["links"]["next"] == f"{HOST}/api/v1/events?series={OCH}&page=2&per_page=1"


def test_a_series_without_events_is_an_empty_page(web, calendar, app, admin):
    add_series(app, admin, "Reading Group", "reading-group", SeriesKind.NUMBERED)
    page = get_json(web, "/api/v1/events?series=reading-group")
    assert (page["items"], page["total"], page["pages"]) == ([], 0, 1)


@pytest.mark.parametrize("slug", ["nope", "research-jams", "jams", "x" * 40])
def test_an_unknown_series_is_a_404_in_json(web, calendar, slug):
    assert slug[:40] in error_message(web, f"/api/v1/events?series={slug}", 404)


@pytest.mark.parametrize(
    "query",
    [
        "series=",
        "series=OpenClubHouse",
        "series=open%20clubhouse",
        "series=-och",
        "series=och--x",
        "series=" + "x" * 41,
        f"series={OCH}&series=socials",
        "when=soon",
        "when=",
        "page=0",
        "per_page=101",
    ],
)
@pytest.mark.engine_independent  # parameter parsing
def test_bad_event_parameters_are_a_400_naming_them(web, query):
    message = error_message(web, f"/api/v1/events?{query}", 400)
    assert query.partition("=")[0] in message


def test_upcoming_means_not_over_yet_as_for_jams(web, app, clock, admin, host):
    app.config["PAGE_CACHE_ENTRIES"] = 0  # the clock moves by a second; read every answer afresh
    add_series(app, admin, "MLC OpenClubHouse", OCH, SeriesKind.NUMBERED)
    schedule_jam(app, host, 1, START - timedelta(days=10))
    add_event(app, host, OCH, START - timedelta(minutes=60), number=1)  # ends right now
    schedule_jam(app, host, 2, START - timedelta(minutes=90))  # ends right now too
    add_event(app, host, OCH, START + timedelta(days=3), number=2)
    assert names(web, "when=upcoming") == [
        "MLC OpenClubHouse #2",
        "MLC OpenClubHouse #1",
        "Research Jam #2",
    ]
    assert names(web, "when=past") == ["Research Jam #1"]
    clock.advance(seconds=1)
    assert names(web, "when=upcoming") == ["MLC OpenClubHouse #2"]
    assert names(web, "when=past") == ["MLC OpenClubHouse #1", "Research Jam #2", "Research Jam #1"]
    assert names(web, f"when=past&series={OCH}") == ["MLC OpenClubHouse #1"]
    assert names(web, "when=upcoming&series=research-jam") == []
    # The same as the Jams' own listing says.
    jams = get_json(web, "/api/v1/jams?when=past")["items"]
    assert [f"Research Jam #{jam['number']}" for jam in jams] == [
        "Research Jam #2",
        "Research Jam #1",
    ]


def test_pages_follow_each_other_with_the_filters(web, calendar):
    first = get_json(web, "/api/v1/events?per_page=2&when=past")
    assert (first["total"], first["pages"], len(first["items"])) == (3, 2, 2)
    assert first["links"] == {
        "self": f"{HOST}/api/v1/events?when=past&page=1&per_page=2",
        "next": f"{HOST}/api/v1/events?when=past&page=2&per_page=2",
        "prev": None,
    }
    second = get_json(web, first["links"]["next"].removeprefix(HOST))
    seen = [item["name"] for item in first["items"] + second["items"]]
    assert seen == ALL[2:]
    assert second["links"]["next"] is None
    assert second["links"]["prev"] == f"{HOST}/api/v1/events?when=past&page=1&per_page=2"
    pages = [get_json(web, f"/api/v1/events?per_page=2&page={n}")["items"] for n in (1, 2, 3)]
    assert [item["name"] for page in pages for item in page] == ALL
    beyond = get_json(web, "/api/v1/events?per_page=2&page=7")
    assert beyond["items"] == [] and beyond["links"]["next"] is None
    assert beyond["links"]["prev"] == f"{HOST}/api/v1/events?page=3&per_page=2"


def test_events_at_the_same_time_keep_one_order(web, app, clock, admin, host):
    """Newest first, then Jams (a later number first) before other events: the same on every
    page and on both databases."""
    add_series(app, admin, "MLC OpenClubHouse", OCH, SeriesKind.NUMBERED)
    moment = START + timedelta(days=5)
    for number in (7, 9, 8):
        add_event(app, host, OCH, moment, number=number)
    schedule_jam(app, host, 1, moment)
    schedule_jam(app, host, 2, moment)
    expected = [
        "Research Jam #2",
        "Research Jam #1",
        "MLC OpenClubHouse #9",
        "MLC OpenClubHouse #8",
        "MLC OpenClubHouse #7",
    ]
    assert names(web) == expected
    paged = [names(web, f"per_page=2&page={n}") for n in (1, 2, 3)]
    assert [name for page in paged for name in page] == expected


# -- a Jam's agenda ------------------------------------------------------------------------------


def new_rfp(app, author: User, title: str, *, publish: bool = True) -> int:
    draft = RfpDraft(
        title=title,
        summary="A summary.",
        big_picture="Big picture.",
        first_plot="First plot.",
        tags=["testing"],
        difficulty=Difficulty.BEGINNER,
        compute=Compute.LAPTOP,
        claim_cap=None,
    )
    with app.app_context():
        session = get_session()
        author = session.get(User, author.id)
        rfp = submit_rfp(session, author=author, draft=draft, publish=publish, no_plot_yet=True)
        session.commit()
        return rfp.id


def jam_number(session, number: int) -> Jam:
    return session.query(Jam).filter_by(number=number).one()


def offer(
    app,
    person: User,
    number: int,
    minutes: int,
    *,
    rfp: int | None = None,
    update: str = "",
    link_url: str | None = None,
    decide: str | None = None,
) -> None:
    """``person`` offers Jam #number to present RFP ``rfp``, or an ``update`` (a title);
    ``decide``: "accept" or "decline" it."""
    with app.app_context():
        session = get_session()
        organiser = session.query(User).filter_by(username="host").one()
        if rfp is not None:
            what = SlotOffer(kind=SlotKind.RFP, minutes=minutes, rfp=session.get(Rfp, rfp))
        else:
            what = SlotOffer(
                kind=SlotKind.UPDATE,
                minutes=minutes,
                title=update,
                line=f"{update}, in a line.",
                link_url=link_url,
            )
        slot = offer_slot(
            session,
            jam=jam_number(session, number),
            person=session.get(User, person.id),
            offer=what,
            now=START,
        )
        if decide == "accept":
            accept_slot(session, slot=slot, organiser=organiser, now=START)
        elif decide == "decline":
            decline_slot(session, slot=slot, organiser=organiser, reason="Full.", now=START)
        session.commit()


@pytest.fixture
def agenda(app, make, jams):
    """Jam #4 (upcoming) with three accepted slots (a published RFP, an update, a draft RFP),
    an offer waiting and a declined one; Jam #3, past, with no slots."""
    ada, jun = make.user("ada"), make.user("jun")
    published = new_rfp(app, ada, "Where does linear learning-rate scaling break down?")
    draft = new_rfp(app, ada, "A secret draft about grokking", publish=False)
    waiting = new_rfp(app, jun, "An RFP still waiting for an answer")
    offer(app, ada, 4, 20, rfp=published, decide="accept")
    offer(
        app,
        jun,
        4,
        10,
        update="Sparse probes",
        link_url="https://example.org/probes",
        decide="accept",
    )
    offer(app, ada, 4, 15, rfp=draft, decide="accept")
    offer(app, jun, 4, 10, rfp=waiting)
    offer(app, jun, 4, 5, update="A declined update", decide="decline")
    return {"published": published, "draft": draft, "waiting": waiting}


def person_json(username: str) -> dict:
    return {
        "username": username,
        "display_name": f"Person {username}",
        "url": f"{HOST}/users/{username}",
    }


def test_a_jam_lists_its_agenda_in_order(web, agenda):
    jam = get_json(web, "/api/v1/jams/4")
    published = agenda["published"]
    assert jam["agenda"] == [
        {
            "position": 0,
            "kind": "rfp",
            "title": "Where does linear learning-rate scaling break down?",
            "line": None,
            "link_url": None,
            "minutes": 20,
            "starts_at": "2026-03-31T12:00:00Z",
            "ends_at": "2026-03-31T12:20:00Z",
            "presenter": person_json("ada"),
            "rfp": {
                "id": published,
                "url": f"{HOST}/rfps/{published}",
                "api_url": f"{HOST}/api/v1/rfps/{published}",
            },
            "slides_url": None,
            "recording_url": None,
        },
        {
            "position": 1,
            "kind": "update",
            "title": "Sparse probes",
            "line": "Sparse probes, in a line.",
            "link_url": "https://example.org/probes",
            "minutes": 10,
            "starts_at": "2026-03-31T12:20:00Z",
            "ends_at": "2026-03-31T12:30:00Z",
            "presenter": person_json("jun"),
            "rfp": None,
            "slides_url": None,
            "recording_url": None,
        },
        {
            "position": 2,
            "kind": "rfp",
            "title": "An RFP (to be published)",
            "line": None,
            "link_url": None,
            "minutes": 15,
            "starts_at": "2026-03-31T12:30:00Z",
            "ends_at": "2026-03-31T12:45:00Z",
            "presenter": person_json("ada"),
            "rfp": None,
            "slides_url": None,
            "recording_url": None,
        },
    ]
    for item in jam["agenda"]:
        if item["rfp"]:
            assert get_json(web, item["rfp"]["api_url"].removeprefix(HOST))["id"] == published
    # The presentation the accepted published RFP made is there as before; the draft's is not.
    assert [p["rfp"] for p in jam["presentations"]] == [published]
    assert get_json(web, "/api/v1/jams/3")["agenda"] == []


def test_a_draft_offers_and_declined_slots_stay_private(web, agenda):
    body = web.get("/api/v1/jams/4").get_data(as_text=True)
    draft = agenda["draft"]
    for private in (
        "A secret draft about grokking",
        f'/rfps/{draft}"',
        f"/rfps/{draft}/",
        "An RFP still waiting for an answer",
        "A declined update",
        "Full.",
    ):
        assert private not in body
    assert "An RFP (to be published)" in body


def test_a_published_draft_gets_its_rfp_on_the_agenda(web, app, agenda):
    with app.app_context():
        session = get_session()
        rfp = session.get(Rfp, agenda["draft"])
        publish_rfp(session, rfp=rfp, actor=rfp.author, no_plot_yet=True, now=START)
        session.commit()
    slot = get_json(web, "/api/v1/jams/4")["agenda"][2]
    assert slot["title"] == "A secret draft about grokking"
    assert slot["rfp"]["id"] == agenda["draft"]


def test_slides_and_recording_show_on_the_agenda(web, app, agenda):
    with app.app_context():
        session = get_session()
        slot = session.query(AgendaSlot).filter_by(title="Sparse probes").one()
        slot.slides_url, slot.recording_url = "https://ex.org/s", "https://ex.org/r"
        session.commit()
    slot = get_json(web, "/api/v1/jams/4")["agenda"][1]
    assert (slot["slides_url"], slot["recording_url"]) == ("https://ex.org/s", "https://ex.org/r")


# -- the document's promises ---------------------------------------------------------------------


def conforms(body: dict, schema: str) -> None:
    """``body`` matches the named schema of the OpenAPI document (refs resolved within it)."""
    document = openapi_document()
    validator = Draft202012Validator(
        {"$ref": f"#/components/schemas/{schema}", "components": document["components"]},
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, errors


def test_answers_match_the_openapi_document(web, calendar, agenda):
    """The fuzzing runs on the demo data, which has no events of other series and no agenda
    slots; these answers have both."""
    conforms(get_json(web, "/api/v1/events"), "CalendarEventPage")
    conforms(get_json(web, "/api/v1/events?series=socials"), "CalendarEventPage")
    conforms(get_json(web, "/api/v1/jams/4"), "JamDetail")
    conforms(get_json(web, "/api/v1/jams/3"), "JamDetail")
    conforms(get_json(web, "/api/v1/events?series=nope", 404), "Error")


@pytest.mark.engine_independent  # the document
def test_the_document_describes_the_calendar(web):
    document = get_json(web, "/api/v1/openapi.json")
    operation = document["paths"]["/api/v1/events"]["get"]
    assert operation["operationId"] == "listEvents"
    assert {p["name"] for p in operation["parameters"]} == {"series", "when", "page", "per_page"}
    assert set(operation["responses"]) == {"200", "400", "404", "414"}
    jam = document["components"]["schemas"]["JamDetail"]
    assert jam["properties"]["agenda"]["items"] == {"$ref": "#/components/schemas/AgendaSlot"}


# -- queries -------------------------------------------------------------------------------------


def count(count_queries, web, url: str) -> int:
    with count_queries() as q:
        get_json(web, url)
    return q.count


LISTINGS = [
    "/api/v1/events",
    f"/api/v1/events?series={OCH}",
    "/api/v1/events?series=research-jam",
    "/api/v1/events?when=upcoming",
    "/api/v1/events?when=past&per_page=50",
]


def test_the_listing_costs_a_fixed_number_of_queries(web, app, clock, admin, host, count_queries):
    add_series(app, admin, "MLC OpenClubHouse", OCH, SeriesKind.NUMBERED)
    add_series(app, admin, "Conference Socials", SOCIALS, SeriesKind.NAMED)
    schedule_jam(app, host, 1, START - timedelta(days=40))
    add_event(app, host, OCH, START + timedelta(days=40), number=1)
    two = [count(count_queries, web, url) for url in LISTINGS]
    for n in range(2, 7):  # five more Jams and five more events, past and upcoming
        schedule_jam(app, host, n, START + timedelta(days=(-1) ** n * 7 * n))
        add_event(app, host, OCH, START + timedelta(days=(-1) ** n * 5 * n), number=n)
    add_event(app, host, SOCIALS, START - timedelta(days=3), title="NeurIPS Social")
    assert get_json(web, "/api/v1/events?per_page=100")["total"] == 13
    assert [count(count_queries, web, url) for url in LISTINGS] == two


def test_a_jam_with_a_longer_agenda_costs_no_more_queries(
    web, app, make, clock, host, count_queries
):
    schedule_jam(app, host, 4, START + timedelta(days=30), minutes=180)
    ada = make.user("ada")
    offer(app, ada, 4, 10, rfp=new_rfp(app, ada, "First"), decide="accept")
    one = count(count_queries, web, "/api/v1/jams/4")
    people = [make.user() for _ in range(3)]
    for n, person in enumerate(people):
        offer(app, person, 4, 10, rfp=new_rfp(app, person, f"RFP {n}"), decide="accept")
        draft = new_rfp(app, person, f"Draft {n}", publish=False)
        offer(app, person, 4, 10, rfp=draft, decide="accept")
        offer(app, person, 4, 5, update=f"Update {n}", decide="accept")
        offer(app, person, 4, 5, update=f"Offer {n}")
    assert len(get_json(web, "/api/v1/jams/4")["agenda"]) == 10
    assert count(count_queries, web, "/api/v1/jams/4") == one
