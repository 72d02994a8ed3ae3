"""Research Jams: scheduling, time zones, the calendar feed, presentations, listing badge and filter."""

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest
import sqlalchemy as sa
from werkzeug.http import parse_options_header

from rfp_portal.db import get_session
from rfp_portal.models import Jam, Presentation, Role
from tests.conftest import Web

JAM3 = {
    "number": "3",
    "title": "Open Collab Research Jam",
    "starts_at": "2021-08-04T16:00",
    "timezone": "America/Los_Angeles",
    "duration_minutes": "90",
    "join_url": "https://meet.example.org/jam",
    "description": "Share small updates, or present an RFP; a comma, a semicolon; and \\ a backslash.",
}


def other_client(app) -> Web:
    return Web(app.test_client())


def log_in_an_organiser(web, make) -> Web:
    make.user("host", role=Role.ORGANISER)
    web.login("host")
    return web


@pytest.fixture
def organiser(web, make):
    return log_in_an_organiser(web, make)


def schedule(web, **changes):
    return web.post("/jams/new", {**JAM3, **changes}, form_url="/jams/new")


def jams_in_db(app):
    with app.app_context():
        session = get_session()
        rows = session.scalars(sa.select(Jam).order_by(Jam.number)).all()
        for row in rows:
            session.expunge(row)
        return rows


def test_an_organiser_schedules_a_jam_stored_in_utc(organiser, app):
    form = organiser.get("/jams/new").get_data(as_text=True)
    assert 'value="1"' in form  # the next number is suggested
    response = schedule(organiser)
    assert response.status_code == 302 and response.headers["Location"] == "/jams/3"
    (jam,) = jams_in_db(app)
    assert jam.starts_at == datetime(2021, 8, 4, 23, 0, tzinfo=UTC)
    assert jam.timezone == "America/Los_Angeles"


def test_jam_3_reads_correctly_without_javascript(organiser, app):
    schedule(organiser)
    html = other_client(app).get("/jams/3").get_data(as_text=True)
    assert (
        '<time class="local-time" datetime="2021-08-04T23:00:00+00:00" data-announced>2021-08-04 16:00 PDT / 23:00 UTC</time>'
        in html
    )
    assert "Add to Google Calendar" in html and "dates=20210804T230000Z%2F20210805T003000Z" in html
    assert 'href="/jams/3.ics"' in html


def test_a_winter_jam_is_in_pst(organiser, app):
    schedule(organiser, number="9", starts_at="2021-12-01T16:00")
    html = other_client(app).get("/jams/9").get_data(as_text=True)
    assert "2021-12-01 16:00 PST / 2021-12-02 00:00 UTC" in html


def test_other_time_zones_and_a_time_that_does_not_exist(organiser, app):
    assert (
        schedule(
            organiser, number="5", timezone="Europe/Berlin", starts_at="2021-06-02T18:00"
        ).status_code
        == 302
    )
    assert jams_in_db(app)[0].starts_at == datetime(2021, 6, 2, 16, 0, tzinfo=UTC)
    response = schedule(
        organiser, number="6", starts_at="2021-03-14T02:30"
    )  # clocks jump 2:00 → 3:00
    assert response.status_code == 422 and "does not exist in this time zone" in response.get_data(
        as_text=True
    )


def test_the_ics_feed_round_trips_every_start_to_the_minute_across_dst(organiser, app):
    starts = {
        "1": "2021-03-31T16:00",
        "2": "2021-06-02T16:00",
        "3": "2021-08-04T16:00",
        "4": "2021-11-10T16:00",
    }
    for number, local in starts.items():
        assert schedule(organiser, number=number, starts_at=local).status_code == 302
    response = other_client(app).get("/jams.ics")
    assert response.content_type.startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.data)
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    assert len(events) == 4
    by_number = {int(str(e["summary"]).split("#")[1].split(":")[0]): e for e in events.values()}
    expected = {
        1: datetime(2021, 3, 31, 23, 0, tzinfo=UTC),  # PDT, after the March change
        2: datetime(2021, 6, 2, 23, 0, tzinfo=UTC),
        3: datetime(2021, 8, 4, 23, 0, tzinfo=UTC),
        4: datetime(2021, 11, 11, 0, 0, tzinfo=UTC),  # PST, after the November change
    }
    for number, start in expected.items():
        event = by_number[number]
        assert event.decoded("dtstart") == start
        assert event.decoded("dtend") - event.decoded("dtstart") == timedelta(minutes=90)
        assert event.get("dtstamp") is not None
    # UIDs are stable across fetches; text with commas, semicolons and backslashes survives
    again = icalendar.Calendar.from_ical(other_client(app).get("/jams.ics").data)
    assert {str(e["uid"]) for e in again.walk("VEVENT")} == set(events)
    assert "a comma, a semicolon; and \\ a backslash" in str(by_number[3]["description"])
    unfolded = response.data.replace(b"\r\n ", b"")  # long lines are folded at 75 octets
    assert b"a comma\\, a semicolon\\;" in unfolded  # escaped on the wire (RFC 5545)
    single = icalendar.Calendar.from_ical(other_client(app).get("/jams/3.ics").data)
    assert [str(e["uid"]) for e in single.walk("VEVENT")] == [str(by_number[3]["uid"])]


def test_jams_list_upcoming_and_past(app, web, make, clock):
    clock.now = datetime(2021, 7, 1, tzinfo=UTC)  # before logging in, so the session is from then
    organiser = log_in_an_organiser(web, make)
    schedule(organiser, number="2", starts_at="2021-06-02T16:00")
    schedule(organiser, number="3")
    html = other_client(app).get("/jams").get_data(as_text=True)
    upcoming, past = html.split('id="past"')
    assert "Research Jam #3" in upcoming and "Research Jam #2" in past
    home = other_client(app).get("/").get_data(as_text=True)
    assert "Next: " in home and "Research Jam #3" in home


def test_editing_a_jam(organiser, app):
    schedule(organiser)
    form = organiser.get("/jams/3/edit").get_data(as_text=True)
    assert 'value="2021-08-04T16:00"' in form
    response = organiser.post(
        "/jams/3/edit",
        {**JAM3, "title": "Summer Jam", "starts_at": "2021-08-04T17:00"},
        form_url="/jams/3/edit",
    )
    assert response.status_code == 302
    (jam,) = jams_in_db(app)
    assert jam.title == "Summer Jam" and jam.starts_at == datetime(2021, 8, 5, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"join_url": "javascript:alert(1)"}, "join_url", "starting with https://"),
        ({"join_url": "data:text/html,x"}, "join_url", "starting with https://"),
        ({"starts_at": "yesterday"}, "starts_at", "Not a valid datetime"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Not a valid choice"),
        ({"number": "0"}, "number", "Number must be"),
        ({"number": "9" * 400}, "number", "Enter a number"),
        ({"duration_minutes": "0"}, "duration_minutes", "between 10 and 720"),
        ({"title": ""}, "title", "Give the Jam a title"),
    ],
)
@pytest.mark.engine_independent  # form validation
def test_bad_jam_input_gets_a_message(organiser, app, changes, field, message):
    response = schedule(organiser, **changes)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and f'id="{field}-error"' in html and message in html
    assert jams_in_db(app) == []


def test_a_taken_number_is_refused(organiser, app):
    schedule(organiser)
    response = schedule(organiser, starts_at="2021-09-01T16:00")
    assert response.status_code == 422 and "already exists" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/jams/new", "/jams/3/edit"])
def test_only_organisers_and_admins_schedule_or_edit(app, make, organiser, url):
    schedule(organiser)
    make.user("member")
    member = other_client(app)
    member.login("member")
    assert member.get(url).status_code == 403
    assert member.post(url, {**JAM3, "number": "7", "title": "hijack"}).status_code == 403
    visitor = other_client(app)
    assert visitor.post(url, JAM3).headers["Location"].startswith("/login")
    assert organiser.client.post(url, data=JAM3).status_code == 400  # no CSRF token
    make.user("boss", role=Role.ADMIN)
    admin = other_client(app)
    admin.login("boss")
    assert admin.get(url).status_code == 200
    assert [j.title for j in jams_in_db(app)] == ["Open Collab Research Jam"]


# -- presentations -----------------------------------------------------------------------------


@pytest.fixture
def jam_and_rfp(app, make, organiser):
    schedule(organiser)
    rfp_id = make.rfp(make.user("author"), title="Warmup RFP")
    with app.app_context():
        jam_id = get_session().scalar(sa.select(Jam.id))
    return jam_id, rfp_id


def link(client, rfp_id, jam_id, **extra):
    return client.post(
        f"/rfps/{rfp_id}/presentations", {"jam": str(jam_id), **extra}, form_url=f"/rfps/{rfp_id}"
    )


def test_the_author_links_an_rfp_and_the_listing_shows_the_badge(
    app, jam_and_rfp, make, count_queries
):
    jam_id, rfp_id = jam_and_rfp
    author = other_client(app)
    author.login("author")
    response = link(author, rfp_id, jam_id, slides_url="https://slides.example.org/warmup")
    assert response.status_code == 302
    jam_page = author.get("/jams/3").get_data(as_text=True)
    assert "Warmup RFP" in jam_page and "https://slides.example.org/warmup" in jam_page
    listing = author.get("/rfps").get_data(as_text=True)
    assert 'Presented at <a href="/jams/3">Research Jam #3</a>' in listing
    filtered = author.get("/rfps?jam=3").get_data(as_text=True)
    assert "Warmup RFP" in filtered and "Presented at Research Jam #3" in filtered
    other = make.rfp(make.user("someone"), title="Unpresented RFP")
    assert "Unpresented RFP" not in author.get("/rfps?jam=3").get_data(as_text=True)
    assert "Unpresented RFP" in author.get("/rfps").get_data(as_text=True)
    assert other
    # the listing costs the same queries with and without badges and the filter
    with count_queries() as plain:
        author.get("/rfps")
    with count_queries() as filtered_count:
        author.get("/rfps?jam=3&claimed=no&state=open")
    assert plain.count == filtered_count.count
    assert link(author, rfp_id, jam_id).status_code == 422  # one link per RFP and Jam


def test_an_organiser_links_any_rfp_and_a_stranger_cannot(app, make, organiser, jam_and_rfp):
    jam_id, rfp_id = jam_and_rfp
    make.user("stranger")
    stranger = other_client(app)
    stranger.login("stranger")
    assert link(stranger, rfp_id, jam_id).status_code == 403
    assert (
        other_client(app)
        .post(f"/rfps/{rfp_id}/presentations", {"jam": str(jam_id)})
        .headers["Location"]
        .startswith("/login")
    )
    assert link(organiser, rfp_id, jam_id).status_code == 302
    with app.app_context():
        presentation = get_session().scalar(sa.select(Presentation))
        assert presentation.presenter_id == presentation.rfp.author_id  # the author presents it
        presentation_id = presentation.id
    assert stranger.post(f"/presentations/{presentation_id}/delete").status_code == 403
    author = other_client(app)
    author.login("author")
    assert author.client.post(f"/presentations/{presentation_id}/delete").status_code == 400  # CSRF
    assert (
        author.post(
            f"/presentations/{presentation_id}/delete", form_url=f"/rfps/{rfp_id}"
        ).status_code
        == 302
    )
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(Presentation)) == 0


@pytest.mark.parametrize("field", ["slides_url", "recording_url"])
@pytest.mark.engine_independent  # form validation
def test_javascript_slides_and_recording_links_are_refused(app, jam_and_rfp, field):
    jam_id, rfp_id = jam_and_rfp
    author = other_client(app)
    author.login("author")
    response = link(author, rfp_id, jam_id, **{field: "javascript:alert(1)"})
    assert response.status_code == 422 and f'id="{field}-error"' in response.get_data(as_text=True)


def test_an_unknown_jam_is_a_form_error_or_404(app, jam_and_rfp, web):
    _, rfp_id = jam_and_rfp
    author = other_client(app)
    author.login("author")
    assert link(author, rfp_id, 999).status_code == 422
    for url in ("/jams/999", "/jams/0", "/jams/99999999999999", "/jams/999.ics", "/jams/abc"):
        assert web.get(url).status_code == 404


@pytest.mark.demo_data
def test_demo_data_has_the_community_jams_and_an_upcoming_one(app, web):
    jams = jams_in_db(app)
    starts = {j.number: j.starts_at for j in jams}
    assert starts[1] == datetime(2021, 3, 31, 23, 0, tzinfo=UTC)
    assert starts[2] == datetime(2021, 6, 2, 23, 0, tzinfo=UTC)
    assert starts[3] == datetime(2021, 8, 4, 23, 0, tzinfo=UTC)
    assert any(j.starts_at > datetime.now(UTC) for j in jams)
    assert "Presented at" in web.get("/rfps?state=all").get_data(as_text=True)


def test_every_time_on_a_page_is_a_time_element_in_pacific_and_utc(web, app, make):
    import re

    from rfp_portal.models import Rfp

    rfp_id = make.rfp(make.user("author"))
    with app.app_context():
        session = get_session()
        session.get(Rfp, rfp_id).created_at = datetime(2021, 3, 1, 12, 0, tzinfo=UTC)
        session.commit()
    html = web.get(f"/rfps/{rfp_id}").get_data(as_text=True)
    # Older than a day: its date, with the exact time as the title (tests/test_time_filter.py).
    assert (
        '<time class="local-time relative-time" datetime="2021-03-01T12:00:00+00:00"'
        ' title="2021-03-01 04:00 PST / 12:00 UTC">1 Mar 2021</time>' in html
    )
    assert not re.search(r"<time(?![^>]*local-time)", html)  # no time element without the class


def test_the_jams_atom_feed_parses_with_the_agenda(organiser, app, make, jam_and_rfp):
    import feedparser

    jam_id, rfp_id = jam_and_rfp
    assert link(organiser, rfp_id, jam_id).status_code == 302
    parsed = feedparser.parse(organiser.get("/jams.atom").get_data())
    assert not parsed.bozo, parsed.bozo_exception
    titles = [entry.title for entry in parsed.entries]
    assert any(title.startswith("Research Jam #") for title in titles)
    assert any("On the agenda" in entry.summary for entry in parsed.entries)
    assert 'type="application/atom+xml"' in organiser.get("/jams").get_data(as_text=True)


def test_calendar_uids_are_the_same_through_any_host_name(organiser, app):
    assert schedule(organiser, number="3", starts_at="2021-08-04T16:00").status_code == 302
    uids = []
    for host in ("rfp.example.org", "portal.example.net:8443"):
        data = other_client(app).get("/jams.ics", headers={"Host": host}).data
        uids.append([str(e["uid"]) for e in icalendar.Calendar.from_ical(data).walk("VEVENT")])
    assert uids[0] == uids[1] and len(uids[0]) == 1
    assert "example" not in uids[0][0]


def test_calendar_descriptions_are_plain_text_made_from_the_markdown(organiser, app):
    description = "Share *small* updates or an [RFP](https://example.org/rfp), with $x^2$.\n\n- one"
    assert schedule(organiser, number="3", description=description).status_code == 302
    (event,) = icalendar.Calendar.from_ical(other_client(app).get("/jams.ics").data).walk("VEVENT")
    text = str(event["description"])
    assert "Share small updates or an RFP (https://example.org/rfp), with $x^2$." in text
    assert "- one" in text and "*small*" not in text and "[RFP]" not in text
    page = other_client(app).get("/jams/3").get_data(as_text=True)
    link = re.search(r'href="(https://calendar\.google\.com/[^"]+)"', page).group(1)
    details = parse_qs(urlsplit(html.unescape(link)).query)["details"][0]
    assert "Share small updates" in details and "*small*" not in details


def test_one_jam_downloads_as_a_file_of_its_own(organiser, app):
    assert schedule(organiser, number="3").status_code == 302
    response = other_client(app).get("/jams/3.ics")
    disposition = parse_options_header(response.headers["Content-Disposition"])
    assert disposition == ("attachment", {"filename": "research-jam-3.ics"})
    whole = other_client(app).get("/jams.ics")
    assert parse_options_header(whole.headers["Content-Disposition"])[0] == "inline"
