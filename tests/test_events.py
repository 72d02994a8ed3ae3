"""The community calendar: every event series beside the Jams, one iCalendar feed (and one per
series), series and event pages, and who may add them."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import icalendar
import pytest
import vobject
from werkzeug.http import parse_options_header

from rfp_portal.models import Role
from tests.conftest import Web

# The community page's calendar, at its true UTC times (summer: Pacific is UTC-7).
SEED = {
    "MLC OpenClubHouse #1: Sunday hangout": datetime(2021, 3, 14, 17, 0, tzinfo=UTC),
    "MLC OpenClubHouse #2: Sunday hangout": datetime(2021, 4, 11, 17, 0, tzinfo=UTC),
    "MLC OpenClubHouse #3: Sunday hangout": datetime(2021, 5, 9, 17, 0, tzinfo=UTC),
    "MLC OpenClubHouse #4: Sunday hangout": datetime(2021, 6, 6, 17, 0, tzinfo=UTC),
    "MLC OpenClubHouse #5: Sunday hangout": datetime(2021, 8, 1, 17, 0, tzinfo=UTC),
    "Research Jam #1: Open Collab Research Jam": datetime(2021, 3, 31, 23, 0, tzinfo=UTC),
    "Research Jam #2: Open Collab Research Jam": datetime(2021, 6, 2, 23, 0, tzinfo=UTC),
    "Research Jam #3: Open Collab Research Jam": datetime(2021, 8, 4, 23, 0, tzinfo=UTC),
    "ICLR 2021 Social": datetime(2021, 5, 6, 16, 0, tzinfo=UTC),  # the day is the seed's
    "NeurIPS 2020 Social": datetime(2020, 12, 9, 17, 0, tzinfo=UTC),  # the seed has no date
}


def by_icalendar(body: bytes) -> dict:
    calendar = icalendar.Calendar.from_ical(body)
    return {
        str(event["summary"]): (
            event.decoded("dtstart"),
            str(event["uid"]),
            str(event["description"]),
        )
        for event in calendar.walk("VEVENT")
    }


def by_vobject(body: bytes) -> dict:
    calendar = vobject.readOne(body.decode("utf-8"))
    return {
        event.summary.value: (event.dtstart.value, event.uid.value, event.description.value)
        for event in calendar.vevent_list
    }


@pytest.mark.demo_data
def test_the_calendar_carries_the_seed_at_its_true_times_through_two_parsers(web):
    body = web.get("/events.ics").get_data()
    for parsed in (by_icalendar(body), by_vobject(body)):
        for summary, start in SEED.items():
            assert parsed[summary][0] == start, summary
        assert "Research Jam #4: Open Collab Research Jam" in parsed  # the upcoming one
        for _, _, description in parsed.values():
            assert "**" not in description  # plain text, never Markdown
    descriptions = by_icalendar(body)
    jam4 = descriptions["Research Jam #4: Open Collab Research Jam"][2]
    assert "Agenda:" in jam4 and "Grokking on modular addition: first curves" in jam4
    assert "Looking for a partner" not in jam4  # an offer not yet accepted


@pytest.mark.demo_data
def test_uids_are_the_same_through_two_host_names(app):
    def uids(host: str) -> list[str]:
        client = app.test_client()
        body = client.get("/events.ics", base_url=f"https://{host}").get_data()
        return sorted(uid for _, uid, _ in by_icalendar(body).values())

    first, second = uids("rfp.mlcollective.org"), uids("portal.example.net")
    assert first == second and len(first) == len(SEED) + 1
    assert all(uid.endswith("@rfp-portal.mlcollective.org") for uid in first)


@pytest.mark.demo_data
def test_one_series_in_its_own_calendar_and_the_jams_feed_as_before(web):
    clubhouse = by_icalendar(web.get("/events.ics?series=openclubhouse").get_data())
    assert sorted(clubhouse) == sorted(s for s in SEED if s.startswith("MLC OpenClubHouse"))
    jams = by_icalendar(web.get("/events.ics?series=research-jam").get_data())
    assert set(jams) == set(by_icalendar(web.get("/jams.ics").get_data()))
    assert web.get("/events.ics?series=nothing-like-it").status_code == 404


@pytest.mark.demo_data
def test_one_event_downloads_as_a_file_of_its_own(web):
    response = web.get("/events/openclubhouse/5.ics")
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert (disposition, options["filename"]) == ("attachment", "openclubhouse-5.ics")
    (only,) = by_icalendar(response.get_data())
    assert only == "MLC OpenClubHouse #5: Sunday hangout"


@pytest.mark.demo_data
def test_the_events_page_lists_every_series_and_filters_by_one(web):
    page = html.unescape(web.get("/events").get_data(as_text=True))
    upcoming, past = page.split('id="past"')
    assert "Research Jam #4" in upcoming
    for name in ("MLC OpenClubHouse #5", "ICLR 2021 Social", "NeurIPS 2020 Social"):
        assert name in past
    assert past.index("MLC OpenClubHouse #5") < past.index("MLC OpenClubHouse #1")  # newest first
    only = html.unescape(web.get("/events?series=socials").get_data(as_text=True))
    assert "ICLR 2021 Social" in only and "OpenClubHouse #" not in only
    assert web.get("/events?series=nope").status_code == 404
    series = html.unescape(web.get("/events/openclubhouse").get_data(as_text=True))
    assert "MLC OpenClubHouse #3" in series and "ICLR" not in series
    assert web.get("/events/research-jam").headers["Location"] == "/jams"


@pytest.mark.demo_data
def test_an_event_page_shows_its_time_as_announced_and_hides_a_stale_join_link(web):
    page = web.get("/events/openclubhouse/5").get_data(as_text=True)
    assert '<time class="local-time" datetime="2021-08-01T17:00:00+00:00" data-announced>' in page
    assert "2021-08-01 10:00 PDT / 17:00 UTC" in page
    assert "<dt>Where</dt>" not in page  # past: its join link is no use any more
    assert "dates=20210801T170000Z%2F20210801T180000Z" in page  # the Google Calendar link
    assert web.get("/events/openclubhouse/99").status_code == 404
    assert web.get("/events/openclubhouse/" + "x" * 500).status_code == 404


def test_an_admin_adds_a_series_and_an_organiser_schedules_its_events(app, make, web):
    make.user("root", role=Role.ADMIN)
    web.login("root")
    data = {"name": "Paper reading", "slug": "", "kind": "numbered", "description": "*Weekly*"}
    response = web.post("/events/new-series", data, form_url="/events/new-series")
    assert response.status_code == 302 and response.headers["Location"] == "/events/paper-reading"
    taken = web.post("/events/new-series", data, form_url="/events/new-series")
    assert taken.status_code == 422 and "is taken" in html.unescape(taken.get_data(as_text=True))
    reserved = web.post(
        "/events/new-series", {**data, "slug": "research-jam"}, form_url="/events/new-series"
    )
    assert reserved.status_code == 422

    make.user("host", role=Role.ORGANISER)
    host = Web(app.test_client())
    host.login("host")
    form = host.get("/events/paper-reading/new").get_data(as_text=True)
    assert 'name="number"' in form and 'value="1"' in form  # the next number is suggested
    event = {
        "number": "1",
        "title": "Scaling laws",
        "starts_at": "2031-01-12T09:00",
        "timezone": "Europe/London",
        "duration_minutes": "60",
        "join_url": "https://meet.example.org/papers",
        "description": "Bring **questions**.",
    }
    response = host.post("/events/paper-reading/new", event, form_url="/events/paper-reading/new")
    assert response.headers["Location"] == "/events/paper-reading/1"
    again = host.post("/events/paper-reading/new", event, form_url="/events/paper-reading/new")
    assert again.status_code == 422
    assert "Paper reading #1 already exists" in html.unescape(again.get_data(as_text=True))
    page = Web(app.test_client()).get("/events/paper-reading/1").get_data(as_text=True)
    assert "2031-01-12 09:00 GMT / 09:00 UTC" in page and "<strong>questions</strong>" in page
    assert 'href="https://meet.example.org/papers"' in page  # upcoming: how to join
    feed = by_icalendar(Web(app.test_client()).get("/events.ics").get_data())
    assert feed["Paper reading #1: Scaling laws"][2].startswith("Bring questions.")


def test_a_named_series_takes_its_events_address_from_the_title(app, make, web):
    make.user("root", role=Role.ADMIN)
    web.login("root")
    data = {"name": "Conference socials", "slug": "socials", "kind": "named", "description": ""}
    web.post("/events/new-series", data, form_url="/events/new-series")
    event = {
        "title": "ICLR 2031 Social",
        "conference": "ICLR 2031",
        "link_url": "javascript:alert(1)",
        "starts_at": "2031-05-06T09:00",
        "timezone": "America/Los_Angeles",
        "duration_minutes": "120",
        "description": "",
    }
    refused = web.post("/events/socials/new", event, form_url="/events/socials/new")
    assert refused.status_code == 422
    event["link_url"] = "https://iclr.cc/"
    named_new = web.post("/events/socials/new", {**event, "title": "New"})
    assert named_new.status_code == 422  # /events/socials/new is the form that schedules one
    response = web.post("/events/socials/new", event, form_url="/events/socials/new")
    assert response.headers["Location"] == "/events/socials/iclr-2031-social"
    page = web.get("/events/socials/iclr-2031-social").get_data(as_text=True)
    assert '<a href="https://iclr.cc/" rel="nofollow noopener">ICLR 2031</a>' in page


def test_the_events_page_costs_the_same_queries_however_many_events(app, make, web, count_queries):
    make.user("root", role=Role.ADMIN)
    web.login("root")
    data = {"name": "Club", "slug": "club", "kind": "numbered", "description": ""}
    web.post("/events/new-series", data, form_url="/events/new-series")

    def schedule(number: int) -> None:
        event = {
            "number": str(number),
            "title": "Hangout",
            "starts_at": f"2031-01-{number:02d}T10:00",
            "timezone": "UTC",
            "duration_minutes": "60",
        }
        web.post("/events/club/new", event, form_url="/events/club/new")

    schedule(1)
    visitor = Web(app.test_client())
    with count_queries() as few:
        visitor.get("/events")
    for number in range(2, 12):
        schedule(number)
    with count_queries() as many:
        visitor.get("/events")
    assert many.count == few.count


def test_the_feeds_hold_a_window_of_events_and_the_pages_every_one(
    app, web, clock, monkeypatch, count_queries
):
    """A subscribed calendar fetches the feed every few hours for years: it holds the next
    CALENDAR_UPCOMING events and the CALENDAR_PAST before them (Jams and others together), so
    its size and cost stay the same however long the community has met."""
    from datetime import timedelta

    from rfp_portal.db import get_session
    from rfp_portal.models import Event, EventSeries, Jam, SeriesKind
    from rfp_portal.services import events

    monkeypatch.setattr(events, "CALENDAR_PAST", 3)
    monkeypatch.setattr(events, "CALENDAR_UPCOMING", 2)
    now = clock.now

    def add(first: int, last: int) -> None:
        with app.app_context():
            session = get_session()
            club = session.query(EventSeries).filter_by(slug="club").one_or_none()
            if club is None:
                club = EventSeries(
                    slug="club", name="Club", kind=SeriesKind.NUMBERED, created_at=now
                )
                session.add(club)
            for n in range(first, last + 1):
                # Jam n at now + (n - 6) weeks; Club n a day after it.
                starts = now + timedelta(weeks=n - 6, hours=1)
                session.add(Jam(number=n, title="Jam", starts_at=starts))
                session.add(
                    Event(
                        series=club,
                        number=n,
                        slug=str(n),
                        title="Hangout",
                        starts_at=starts + timedelta(days=1),
                    )
                )
            session.commit()

    def summaries(path: str) -> list[str]:
        calendar = icalendar.Calendar.from_ical(web.get(path).get_data())
        return [str(event["summary"]) for event in calendar.walk("VEVENT")]

    add(1, 4)
    web.get("/events")  # the first request (PostgreSQL: before the listener is connected)
    with count_queries() as few:
        web.get("/events.ics")
    add(5, 12)  # Jams 1–5 and Clubs 1–5 have begun; 6–12 are to come
    jams = summaries("/jams.ics")
    assert jams == [f"Research Jam #{n}: Jam" for n in (3, 4, 5, 6, 7)]
    assert summaries("/events.ics?series=club") == [f"Club #{n}: Hangout" for n in (3, 4, 5, 6, 7)]
    assert summaries("/events.ics") == [
        "Club #4: Hangout",
        "Research Jam #5: Jam",
        "Club #5: Hangout",
        "Research Jam #6: Jam",
        "Club #6: Hangout",
    ]
    with count_queries() as many:
        web.get("/events.ics?fresh")
    assert many.count == few.count
    page = web.get("/events").get_data(as_text=True)
    assert all(f"Club #{n}" in page for n in range(1, 13))  # the page lists every one


def test_a_jam_with_a_long_agenda_lists_the_first_items_and_how_many_more(app, web, make):
    """A calendar app shows a description in a small box: a Jam with more presentations than
    AGENDA_LINES lists that many in the feed, then says how many more its page has."""
    from datetime import timedelta

    from rfp_portal.db import get_session
    from rfp_portal.models import Jam, Presentation
    from rfp_portal.web.calendar import AGENDA_LINES

    author = make.user("ada")
    rfps = [make.rfp(author, title=f"Question {n:02d}") for n in range(AGENDA_LINES + 3)]
    with app.app_context():
        session = get_session()
        jam = Jam(number=7, title="Jam", starts_at=datetime.now(UTC) - timedelta(days=3))
        session.add(jam)
        for rfp_id in rfps:
            session.add(Presentation(rfp_id=rfp_id, jam=jam, presenter_id=author.id))
        session.commit()
    for path in ("/jams.ics", "/events.ics", "/jams/7.ics"):
        (description,) = [d for _, _, d in by_icalendar(web.get(path).get_data()).values()]
        listed = [line for line in description.splitlines() if line.startswith("- Question")]
        assert len(listed) == AGENDA_LINES, path
        assert "- and 3 more (see the Jam's page)" in description, path
    page = web.get("/jams/7").get_data(as_text=True)
    assert all(f"Question {n:02d}" in page for n in range(AGENDA_LINES + 3))
