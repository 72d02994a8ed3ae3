"""Models as the JSON the API promises: one function per shape in the OpenAPI document.

Every URL is absolute, every time is UTC in ISO 8601 with a ``Z``; nothing here touches the
database, so the views decide (and the tests count) what is loaded.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import url_for

from rfp_portal.models import (
    AgendaSlot,
    Claim,
    ClaimPolicy,
    ClaimStatus,
    Event,
    Jam,
    Plot,
    Presentation,
    Rfp,
    SlotKind,
    User,
)
from rfp_portal.models.event import RESEARCH_JAM
from rfp_portal.models.rfp import PUBLISHED


def timestamp(value: datetime) -> str:
    """e.g. ``2021-08-04T23:00:00Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def optional_timestamp(value: datetime | None) -> str | None:
    return None if value is None else timestamp(value)


def person(user: User) -> dict:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "url": url_for("users.show", username=user.username, _external=True),
    }


def markdown(text: str, html: str) -> dict:
    return {"markdown": text, "html": html}


def plot_urls(plot: Plot) -> dict:
    """The image and its thumbnail; the version in the URL changes whenever the image does."""
    return {
        "image_url": url_for("plots.image", plot_id=plot.id, v=plot.version, _external=True),
        "thumbnail_url": url_for("plots.thumb", plot_id=plot.id, v=plot.version, _external=True),
    }


def rfp_urls(rfp_id: int) -> dict:
    return {
        "url": url_for("rfps.show", rfp_id=rfp_id, _external=True),
        "api_url": url_for("api.rfp", rfp_id=rfp_id, _external=True),
    }


def jam_urls(number: int) -> dict:
    return {
        "url": url_for("jams.show", number=number, _external=True),
        "api_url": url_for("api.jam", number=number, _external=True),
        "ical_url": url_for("jams.jam_calendar", number=number, _external=True),
    }


def _presentation_of_rfp(presentation: Presentation) -> dict:
    jam = presentation.jam
    return {
        "jam": jam.number,
        "jam_title": jam.title,
        "url": url_for("api.jam", number=jam.number, _external=True),
    }


def rfp_summary(rfp: Rfp) -> dict:
    """An RFP as a listing shows it; ``rfp`` comes from a listing query (counts loaded)."""
    active_claims = rfp.active_claim_count or 0
    first_plot = rfp.plots[0] if rfp.plots else None
    return {
        "id": rfp.id,
        "title": rfp.title,
        "summary": rfp.summary,
        "state": rfp.state.value,
        "difficulty": rfp.difficulty.value,
        "compute": rfp.compute.value,
        "tags": [tag.name for tag in rfp.tags],
        "author": person(rfp.author),
        "created_at": timestamp(rfp.created_at),
        "updated_at": timestamp(rfp.updated_at),
        "want_count": rfp.want_count,
        "active_claims": active_claims,
        "comments": rfp.comment_count or 0,
        "claimed": active_claims > 0,
        "presentations": [_presentation_of_rfp(p) for p in rfp.presentations],
        **rfp_urls(rfp.id),
        "thumbnail_url": plot_urls(first_plot)["thumbnail_url"] if first_plot else None,
    }


def _plot(plot: Plot) -> dict:
    return {
        "id": plot.id,
        "kind": plot.kind.value,
        "caption": plot.caption,
        "alt_text": plot.alt_text,
        "width": plot.width,
        "height": plot.height,
        **plot_urls(plot),
    }


def _claim_counts(claims: list[Claim], now: datetime, policy: ClaimPolicy) -> dict:
    delivered = [c for c in claims if c.status is ClaimStatus.DELIVERED]
    return {
        "active": sum(1 for c in claims if c.is_active(now, policy)),
        "delivered": len(delivered),
        "accepted": sum(1 for c in delivered if c.accepted_at is not None),
        "total": len(claims),
    }


def _result(claim: Claim) -> dict:
    plot = claim.result_plot
    return {
        "claimant": person(claim.claimant),
        "result_url": claim.result_url,
        "write_up": markdown(claim.write_up_md or "", claim.write_up_html or ""),
        "image_url": plot_urls(plot)["image_url"] if plot else None,
        "delivered_at": timestamp(claim.ended_at or claim.last_activity_at),
        "accepted_at": optional_timestamp(claim.accepted_at),
    }


def _presentation_of_rfp_detail(presentation: Presentation) -> dict:
    return {
        **_presentation_of_rfp(presentation),
        "starts_at": timestamp(presentation.jam.starts_at),
        "presenter": person(presentation.presenter),
        "slides_url": presentation.slides_url,
        "recording_url": presentation.recording_url,
    }


def rfp_detail(rfp: Rfp, *, now: datetime, policy: ClaimPolicy) -> dict:
    """Everything of :func:`rfp_summary`, the text, plots, claim counts, results and presentations.

    ``rfp`` must have its claims (with claimant and result plot) and its presentations (with Jam
    and presenter) loaded.
    """
    return {
        **rfp_summary(rfp),
        "big_picture": markdown(rfp.big_picture_md, rfp.big_picture_html),
        "first_plot": markdown(rfp.first_plot_md, rfp.first_plot_html),
        "claim_cap": rfp.claim_cap,
        "plots": [_plot(plot) for plot in rfp.plots],
        "claims": _claim_counts(rfp.claims, now, policy),
        "results": [_result(c) for c in rfp.claims if c.status is ClaimStatus.DELIVERED],
        "presentations": [_presentation_of_rfp_detail(p) for p in rfp.presentations],
    }


def jam_summary(jam: Jam, *, now: datetime) -> dict:
    return {
        "number": jam.number,
        "title": jam.title,
        "starts_at": timestamp(jam.starts_at),
        "ends_at": timestamp(jam.ends_at),
        "timezone": jam.timezone,
        "duration_minutes": jam.duration_minutes,
        "upcoming": jam.is_upcoming(now),
        # As on the Jam's page: a past Jam's meeting link is stale, so it is not offered.
        "join_url": jam.join_url if jam.is_upcoming(now) else None,
        **jam_urls(jam.number),
    }


def _presentation_at_jam(presentation: Presentation) -> dict:
    rfp = presentation.rfp
    return {
        "rfp": rfp.id,
        "title": rfp.title,
        "state": rfp.state.value,
        **rfp_urls(rfp.id),
        "presenter": person(presentation.presenter),
        "slides_url": presentation.slides_url,
        "recording_url": presentation.recording_url,
    }


def _agenda_rfp(slot: AgendaSlot) -> dict | None:
    """The RFP an accepted slot presents, once it is published: a draft's id (like its title)
    stays private until then."""
    rfp = slot.rfp
    if slot.kind is not SlotKind.RFP or rfp is None or rfp.state not in PUBLISHED:
        return None
    return {"id": rfp.id, **rfp_urls(rfp.id)}


def _agenda_slot(slot: AgendaSlot) -> dict:
    """An accepted slot as the Jam's agenda shows it (``public_title`` hides a draft's title)."""
    return {
        "position": slot.position,
        "kind": slot.kind.value,
        "title": slot.public_title(),
        "line": slot.line if slot.kind is SlotKind.UPDATE else None,
        "link_url": slot.link_url,
        "minutes": slot.minutes,
        "starts_at": optional_timestamp(slot.starts_at),
        "ends_at": optional_timestamp(slot.ends_at),
        "presenter": person(slot.offered_by),
        "rfp": _agenda_rfp(slot),
        "slides_url": slot.slides_url,
        "recording_url": slot.recording_url,
    }


def jam_detail(jam: Jam, *, now: datetime) -> dict:
    """``jam`` must have its presentations (with RFP and presenter) and its slots (with RFP and
    offerer) loaded (:func:`rfp_portal.models.jam.with_agenda`)."""
    return {
        **jam_summary(jam, now=now),
        "description": markdown(jam.description_md, jam.description_html),
        "presentations": [_presentation_at_jam(p) for p in jam.presentations],
        # Only what is on the agenda: offers waiting and declined ones are the offerer's.
        "agenda": [_agenda_slot(slot) for slot in jam.agenda_slots],
    }


def calendar_event(entry: Jam | Event, *, now: datetime) -> dict:
    """A Research Jam or an event of another series, as the calendar lists it. An ``Event``
    must have its series loaded."""
    upcoming = entry.is_upcoming(now)
    if isinstance(entry, Jam):
        series, series_name = RESEARCH_JAM.slug, RESEARCH_JAM.name
        conference = link_url = None
        urls = jam_urls(entry.number)
    else:
        series, series_name = entry.series.slug, entry.series.name
        conference, link_url = entry.conference, entry.link_url
        key = {"series": series, "key": entry.slug, "_external": True}
        urls = {
            "url": url_for("events.show", **key),
            "api_url": None,  # only Jams have a page of their own in this API
            "ical_url": url_for("events.event_calendar", **key),
        }
    return {
        "series": series,
        "series_name": series_name,
        "name": entry.name,
        "title": entry.title,
        "number": entry.number,
        "conference": conference,
        "link_url": link_url,
        "starts_at": timestamp(entry.starts_at),
        "ends_at": timestamp(entry.ends_at),
        "timezone": entry.timezone,
        "duration_minutes": entry.duration_minutes,
        "upcoming": upcoming,
        # As jam_summary: a past event's meeting link is stale, so it is not offered.
        "join_url": entry.join_url if upcoming else None,
        "description_html": entry.description_html,
        **urls,
    }
