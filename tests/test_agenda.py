"""Jam agendas people sign up for: offers, the organisers' decisions, order and times, the
"presented at" link an accepted RFP slot becomes, and every refusal with its message."""

from __future__ import annotations

import html
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from rfp_portal.db import get_session
from rfp_portal.models import AgendaSlot, Jam, Presentation, Role, SlotState
from rfp_portal.services.jams import JamDraft, create_jam
from tests.conftest import Web

# 2026-03-01 12:00 UTC is the test clock's start: the Jam is 10 days later, 16:00 Pacific.
JAM_DAY = datetime(2026, 3, 11, 16, 0)


def make_jam(app, make, *, number=7, offers_close=None, minutes=90):
    host = make.user("host", role=Role.ORGANISER)
    with app.app_context():
        session = get_session()
        jam = create_jam(
            session,
            organiser=session.merge(host),
            draft=JamDraft(
                number=number,
                title="Open Collab Research Jam",
                local_start=JAM_DAY,
                timezone="America/Los_Angeles",
                duration_minutes=minutes,
                join_url=None,
                description="",
                offers_close=offers_close,
            ),
            now=datetime.now().astimezone(),
        )
        session.commit()
        return jam.number


def slots(app) -> list[AgendaSlot]:
    with app.app_context():
        session = get_session()
        rows = session.scalars(sa.select(AgendaSlot).order_by(AgendaSlot.id)).all()
        for row in rows:
            session.expunge(row)
        return rows


def offer_update(web: Web, number: int, **changes):
    data = {
        "kind": "update",
        "title": "Loss spikes at warm-up",
        "line": "Three seeds, two learning rates.",
        "link_url": "https://example.org/notebook",
        "minutes": "10",
        **changes,
    }
    return web.post(f"/jams/{number}/slots", data, form_url=f"/jams/{number}")


def offer_rfp(web: Web, number: int, rfp_id: int, minutes: str = "20"):
    data = {"kind": "rfp", "rfp": str(rfp_id), "minutes": minutes}
    return web.post(f"/jams/{number}/slots", data, form_url=f"/jams/{number}")


def other(app, make, username: str, role=Role.MEMBER) -> Web:
    make.user(username, role=role)
    web = Web(app.test_client())
    web.login(username)
    return web


def page(web: Web, url: str) -> str:
    return html.unescape(web.get(url).get_data(as_text=True))


def test_two_offers_accepted_reordered_and_timed_in_the_jams_zone(clock, app, make, web):
    number = make_jam(app, make)
    ada = make.user("ada")
    rfp_id = make.rfp(ada, title="Does warm-up length matter?")
    web.login("ada")
    assert offer_rfp(web, number, rfp_id).status_code == 302
    jun = other(app, make, "jun")
    assert offer_update(jun, number).status_code == 302
    assert "waiting for an organiser" in page(jun, f"/jams/{number}")

    host = Web(app.test_client())
    host.login("host")
    organiser_page = page(host, f"/jams/{number}")
    assert "Offers waiting for an answer" in organiser_page
    first, second = slots(app)
    for slot in (first, second):
        response = host.post(f"/slots/{slot.id}/accept", form_url=f"/jams/{number}")
        assert response.status_code == 302
    first, second = slots(app)
    assert (first.start_offset_minutes, second.start_offset_minutes) == (0, 20)

    # the update moves up: it opens the Jam, the RFP follows straight after it
    host.post(f"/slots/{second.id}/move", {"direction": "up"}, form_url=f"/jams/{number}")
    first, second = slots(app)
    assert (second.position, second.start_offset_minutes) == (0, 0)
    assert (first.position, first.start_offset_minutes) == (1, 10)

    visitor = page(Web(app.test_client()), f"/jams/{number}")
    agenda = visitor[visitor.index('id="agenda-title"') :]
    assert agenda.index("Loss spikes at warm-up") < agenda.index("Does warm-up length matter?")
    assert "16:00 PDT / 23:00 UTC" in agenda and "16:10 PDT / 23:10 UTC" in agenda

    # the organiser sets the RFP at 16:45 in the Jam's own zone
    response = host.post(
        f"/slots/{first.id}/time", {f"time-{first.id}-start": "16:45"}, form_url=f"/jams/{number}"
    )
    assert response.status_code == 302
    assert slots(app)[0].start_offset_minutes == 45

    # the RFP is "to be presented" now, "presented" once the Jam is over
    linked = f'at <a href="/jams/{number}">Research Jam #{number}</a>'
    assert f"To be presented {linked}" in page(web, f"/rfps/{rfp_id}")
    clock.now = datetime(2026, 3, 13, tzinfo=clock.now.tzinfo)
    web.login("ada")
    assert f"Presented {linked}" in page(web, f"/rfps/{rfp_id}")


def test_a_draft_offered_keeps_its_title_private_until_published(clock, app, make, web):
    number = make_jam(app, make)
    ada = make.user("ada")
    web.login("ada")
    response = web.post(
        "/rfps/new",
        {
            "title": "A secret draft about grokking",
            "summary": "s",
            "big_picture": "b",
            "first_plot": "f",
            "tags": "x",
            "difficulty": "beginner",
            "compute": "laptop",
            "save_draft": "1",
        },
        form_url="/rfps/new",
    )
    assert response.status_code in (302, 303)
    with app.app_context():
        from rfp_portal.models import Rfp

        draft_id = get_session().scalar(sa.select(Rfp.id).where(Rfp.author_id == ada.id))
    assert "A secret draft about grokking (draft)" in page(web, f"/jams/{number}")
    assert offer_rfp(web, number, draft_id).status_code == 302
    host = other(app, make, "host2", role=Role.ORGANISER)
    assert "A secret draft" not in page(host, f"/jams/{number}")  # organisers can't read drafts
    (slot,) = slots(app)
    host.post(f"/slots/{slot.id}/accept", form_url=f"/jams/{number}")
    visitor = page(Web(app.test_client()), f"/jams/{number}")
    assert "A secret draft" not in visitor and "An RFP (to be published)" in visitor
    assert "A secret draft" not in Web(app.test_client()).get(f"/jams/{number}.ics").get_data(
        as_text=True
    )
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(Presentation)) == 0
    web.post(f"/rfps/{draft_id}/publish", {"no_plot_yet": "y"}, form_url=f"/rfps/{draft_id}/edit")
    with app.app_context():
        link = get_session().scalar(sa.select(Presentation))
        assert link is not None and link.rfp_id == draft_id and link.presenter_id == ada.id
    assert "A secret draft about grokking" in page(Web(app.test_client()), f"/jams/{number}")


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("too long", "lasts 90 minutes; ask for 90 minutes or fewer"),
        ("someone else's RFP", "You can only offer to present an RFP you wrote"),
        ("no title", "Give your update a title"),
        ("after the deadline", "closed at 2026-03-09 16:00 PDT"),
        ("past Jam", "has already begun or taken place"),
    ],
)
def test_offers_that_break_a_rule_are_refused_with_a_clear_message(
    clock, app, make, web, case, message
):
    closes = datetime(2026, 3, 9, 16, 0)
    number = make_jam(app, make, offers_close=closes)
    stranger = make.user("stranger")
    theirs = make.rfp(stranger, title="Not yours")
    make.user("ada")
    web.login("ada")
    if case == "too long":
        response = offer_update(web, number, minutes="120")
    elif case == "someone else's RFP":
        response = offer_rfp(web, number, theirs)
    elif case == "no title":
        response = offer_update(web, number, title="")
    elif case == "after the deadline":
        clock.now = datetime(2026, 3, 10, 0, 1, tzinfo=clock.now.tzinfo)  # 16:01 PST on the 9th
        web.login("ada")
        response = web.post(
            f"/jams/{number}/slots",
            {"kind": "update", "title": "t", "line": "l", "minutes": "5"},
            form_url="/rfps",
        )
    else:
        clock.now = datetime(2026, 3, 12, tzinfo=clock.now.tzinfo)
        web.login("ada")
        response = web.post(
            f"/jams/{number}/slots",
            {"kind": "update", "title": "t", "line": "l", "minutes": "5"},
            form_url="/rfps",
        )
    assert response.status_code == 422
    assert message in html.unescape(response.get_data(as_text=True))
    assert slots(app) == []


def test_accepting_past_the_end_of_the_jam_is_refused(clock, app, make, web):
    number = make_jam(app, make, minutes=30)
    make.user("ada")
    web.login("ada")
    offer_update(web, number, minutes="20")
    offer_update(web, number, title="Another", minutes="20")
    host = other(app, make, "boss", role=Role.ORGANISER)
    first, second = slots(app)
    host.post(f"/slots/{first.id}/accept", form_url=f"/jams/{number}")
    response = host.post(f"/slots/{second.id}/accept", form_url=f"/jams/{number}")
    assert response.status_code == 302
    assert "Only 10 minutes are left" in page(host, f"/jams/{number}")
    assert slots(app)[1].state is SlotState.OFFERED


def test_an_overlapping_or_outside_time_is_refused_on_the_slot(clock, app, make, web):
    number = make_jam(app, make)
    make.user("ada")
    web.login("ada")
    offer_update(web, number, minutes="20")
    offer_update(web, number, title="Second", minutes="20")
    host = other(app, make, "boss", role=Role.ORGANISER)
    first, second = slots(app)
    for slot in (first, second):
        host.post(f"/slots/{slot.id}/accept", form_url=f"/jams/{number}")
    field = f"time-{second.id}-start"
    overlapping = host.post(
        f"/slots/{second.id}/time", {field: "16:10"}, form_url=f"/jams/{number}"
    )
    assert overlapping.status_code == 422
    assert "That overlaps “Loss spikes at warm-up”" in html.unescape(
        overlapping.get_data(as_text=True)
    )
    outside = host.post(f"/slots/{second.id}/time", {field: "17:20"}, form_url=f"/jams/{number}")
    assert outside.status_code == 422
    assert "so that its 20 minutes fit within the Jam" in outside.get_data(as_text=True)
    assert slots(app)[1].start_offset_minutes == 20


def test_a_declined_offer_tells_its_offerer_why_and_an_empty_reason_is_refused(
    clock, app, make, web
):
    number = make_jam(app, make)
    make.user("ada")
    web.login("ada")
    offer_update(web, number)
    host = other(app, make, "boss", role=Role.ORGANISER)
    (slot,) = slots(app)
    field = f"decline-{slot.id}-reason"
    empty = host.post(f"/slots/{slot.id}/decline", {field: "  "}, form_url=f"/jams/{number}")
    assert empty.status_code == 422 and "Say why" in empty.get_data(as_text=True)
    host.post(
        f"/slots/{slot.id}/decline",
        {field: "Full this month, next one?"},
        form_url=f"/jams/{number}",
    )
    assert "declined</strong>: “Full this month, next one?”" in page(web, f"/jams/{number}")


def test_presenters_add_slides_and_a_recording_that_the_rfp_shows(clock, app, make, web):
    number = make_jam(app, make)
    ada = make.user("ada")
    rfp_id = make.rfp(ada, title="Warm-up")
    web.login("ada")
    offer_rfp(web, number, rfp_id)
    host = other(app, make, "boss", role=Role.ORGANISER)
    (slot,) = slots(app)
    host.post(f"/slots/{slot.id}/accept", form_url=f"/jams/{number}")
    clock.now = datetime(2026, 3, 12, tzinfo=clock.now.tzinfo)
    web.login("ada")
    data = {
        f"materials-{slot.id}-slides_url": "https://example.org/slides",
        f"materials-{slot.id}-recording_url": "javascript:alert(1)",
    }
    refused = web.post(f"/slots/{slot.id}/materials", data, form_url=f"/jams/{number}")
    assert refused.status_code == 422
    data[f"materials-{slot.id}-recording_url"] = "https://example.org/video"
    assert (
        web.post(f"/slots/{slot.id}/materials", data, form_url=f"/jams/{number}").status_code == 302
    )
    rfp_page = page(web, f"/rfps/{rfp_id}")
    assert "https://example.org/slides" in rfp_page and "https://example.org/video" in rfp_page


def test_withdrawing_an_accepted_rfp_slot_removes_its_presented_at_link(clock, app, make, web):
    number = make_jam(app, make)
    ada = make.user("ada")
    rfp_id = make.rfp(ada)
    web.login("ada")
    offer_rfp(web, number, rfp_id)
    host = other(app, make, "boss", role=Role.ORGANISER)
    (slot,) = slots(app)
    host.post(f"/slots/{slot.id}/accept", form_url=f"/jams/{number}")
    assert web.post(f"/slots/{slot.id}/withdraw", form_url=f"/jams/{number}").status_code == 302
    with app.app_context():
        session = get_session()
        assert session.scalar(sa.select(sa.func.count()).select_from(Presentation)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(AgendaSlot)) == 0


def test_the_jam_page_costs_the_same_queries_with_many_slots(clock, app, make, web, count_queries):
    number = make_jam(app, make, minutes=600)
    people = [other(app, make, f"p{n}") for n in range(6)]
    offer_update(people[0], number)
    visitor = Web(app.test_client())
    visitor.get(f"/jams/{number}")
    with count_queries() as few:
        visitor.get(f"/jams/{number}")
    for person in people[1:]:
        offer_update(person, number, minutes="5")
    host = other(app, make, "boss", role=Role.ORGANISER)
    for slot in slots(app)[:4]:
        host.post(f"/slots/{slot.id}/accept", form_url=f"/jams/{number}")
    with count_queries() as many:
        Web(app.test_client()).get(f"/jams/{number}")
    assert many.count == few.count


def test_moving_the_jam_moves_its_agenda(clock, app, make, web):
    number = make_jam(app, make)
    make.user("ada")
    web.login("ada")
    offer_update(web, number)
    host = other(app, make, "boss", role=Role.ORGANISER)
    (slot,) = slots(app)
    host.post(f"/slots/{slot.id}/accept", form_url=f"/jams/{number}")
    with app.app_context():
        session = get_session()
        jam = session.scalar(sa.select(Jam).where(Jam.number == number))
        jam.starts_at += timedelta(hours=1)
        session.commit()
    assert "17:00 PDT / 00:00 UTC" in page(Web(app.test_client()), f"/jams/{number}")


def test_a_jam_cannot_be_shortened_below_its_agenda(clock, app, make, web):
    number = make_jam(app, make)
    make.user("ada")
    web.login("ada")
    offer_update(web, number, minutes="40")
    host = other(app, make, "boss", role=Role.ORGANISER)
    (slot,) = slots(app)
    host.post(f"/slots/{slot.id}/accept", form_url=f"/jams/{number}")
    form = {
        "number": str(number),
        "title": "Shorter",
        "starts_at": "2026-03-11T16:00",
        "timezone": "America/Los_Angeles",
        "duration_minutes": "30",
    }
    refused = host.post(f"/jams/{number}/edit", form, form_url=f"/jams/{number}/edit")
    assert refused.status_code == 422
    assert "The agenda runs 40 minutes" in refused.get_data(as_text=True)
    assert host.post(f"/jams/{number}/edit", {**form, "duration_minutes": "40"}).status_code == 302


def test_an_rfp_offered_for_a_jam_is_linked_by_its_slot_not_by_hand(clock, app, make, web):
    number = make_jam(app, make)
    ada = make.user("ada")
    rfp_id = make.rfp(ada)
    web.login("ada")
    offer_rfp(web, number, rfp_id)
    with app.app_context():
        jam_id = get_session().scalar(sa.select(Jam.id).where(Jam.number == number))
    response = web.post(
        f"/rfps/{rfp_id}/presentations", {"jam": str(jam_id)}, form_url=f"/rfps/{rfp_id}"
    )
    assert response.status_code == 422
    assert "it is linked once accepted" in response.get_data(as_text=True)
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(Presentation)) == 0


def test_after_a_withdrawal_the_order_stays_the_time_order_and_nothing_overlaps(
    clock, app, make, web
):
    number = make_jam(app, make)
    people = [other(app, make, f"p{n}") for n in range(4)]
    for person, minutes in zip(people[:3], ("10", "10", "30"), strict=True):
        offer_update(person, number, title=f"Update by {minutes}", minutes=minutes)
    host = other(app, make, "boss", role=Role.ORGANISER)
    x, w, c = slots(app)
    for slot in (x, w, c):
        host.post(f"/slots/{slot.id}/accept", form_url=f"/jams/{number}")
    people[1].post(f"/slots/{w.id}/withdraw", form_url=f"/jams/{number}")
    offer_update(people[3], number, title="Short", minutes="5")
    d = slots(app)[-1]
    host.post(f"/slots/{d.id}/accept", form_url=f"/jams/{number}")
    host.post(f"/slots/{d.id}/move", {"direction": "up"}, form_url=f"/jams/{number}")
    host.post(f"/slots/{c.id}/move", {"direction": "up"}, form_url=f"/jams/{number}")
    agenda = sorted(
        (s for s in slots(app) if s.state is SlotState.ACCEPTED), key=lambda s: s.position
    )
    spans = [(s.start_offset_minutes, s.start_offset_minutes + s.minutes) for s in agenda]
    assert spans == sorted(spans)  # the order is the time order
    assert all(
        end <= start for (_, end), (start, _) in zip(spans, spans[1:], strict=False)
    )  # no overlap
    assert [s.position for s in agenda] == list(range(len(agenda)))


def test_a_link_made_by_hand_outlives_a_slot_for_the_same_rfp(clock, app, make, web):
    number = make_jam(app, make)
    ada = make.user("ada")
    rfp_id = make.rfp(ada)
    web.login("ada")
    offer_rfp(web, number, rfp_id)
    host = other(app, make, "boss", role=Role.ORGANISER)
    (slot,) = slots(app)
    host.post(f"/slots/{slot.id}/decline", {f"decline-{slot.id}-reason": "Full"})
    with app.app_context():
        jam_id = get_session().scalar(sa.select(Jam.id).where(Jam.number == number))
    data = {"jam": str(jam_id), "slides_url": "https://example.org/mine"}
    assert web.post(f"/rfps/{rfp_id}/presentations", data).status_code == 302
    host.post(f"/slots/{slot.id}/accept", form_url=f"/jams/{number}")
    web.post(f"/slots/{slot.id}/withdraw", form_url=f"/jams/{number}")
    with app.app_context():
        (kept,) = get_session().scalars(sa.select(Presentation)).all()
        assert kept.slides_url == "https://example.org/mine"


def test_a_link_a_slot_made_is_removed_through_the_slot_not_by_hand(clock, app, make, web):
    number = make_jam(app, make)
    ada = make.user("ada")
    rfp_id = make.rfp(ada)
    web.login("ada")
    offer_rfp(web, number, rfp_id)
    host = other(app, make, "boss", role=Role.ORGANISER)
    (slot,) = slots(app)
    host.post(f"/slots/{slot.id}/accept", form_url=f"/jams/{number}")
    presentation_id = slots(app)[0].presentation_id
    web.post(f"/presentations/{presentation_id}/delete", form_url=f"/rfps/{rfp_id}")
    assert "This link comes from a slot" in page(web, f"/rfps/{rfp_id}")
    with app.app_context():
        assert get_session().get(Presentation, presentation_id) is not None


def test_an_rfp_number_too_large_for_the_database_is_a_message_not_an_error(clock, app, make, web):
    number = make_jam(app, make)
    make.user("ada")
    web.login("ada")
    response = offer_rfp(web, number, 10**20)
    assert response.status_code == 422
    assert "Choose one of your RFPs" in response.get_data(as_text=True)


def test_slot_times_count_real_minutes_across_a_clock_change(clock, app, make, web):
    # Jam at 00:30 PDT on 1 Nov 2026; at 02:00 PDT the clocks go back to 01:00 PST.
    host = make.user("night", role=Role.ORGANISER)
    with app.app_context():
        session = get_session()
        create_jam(
            session,
            organiser=session.merge(host),
            draft=JamDraft(
                number=30,
                title="Night Jam",
                local_start=datetime(2026, 11, 1, 0, 30),
                timezone="America/Los_Angeles",
                duration_minutes=180,
                join_url=None,
                description="",
            ),
            now=datetime.now().astimezone(),
        )
        session.commit()
    make.user("ada")
    web.login("ada")
    offer_update(web, 30, minutes="10")
    organiser = Web(app.test_client())
    organiser.login("night")
    (slot,) = slots(app)
    organiser.post(f"/slots/{slot.id}/accept", form_url="/jams/30")
    organiser.post(f"/slots/{slot.id}/time", {f"time-{slot.id}-start": "02:10"})
    # 02:10 PST (10:10 UTC) is 160 real minutes after 00:30 PDT (07:30 UTC), not 100
    assert slots(app)[0].start_offset_minutes == 160
