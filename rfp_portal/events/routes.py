"""The community calendar: every event series (Research Jams among them) on one page and in one
iCalendar feed; the events of the other series; admins add series, organisers schedule events.

Research Jams keep their own addresses (``/jams/…``, in the jams blueprint); here they are listed
beside the others, and ``/events/research-jam`` leads to ``/jams``.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from rfp_portal.db import get_session
from rfp_portal.events.forms import EventForm, SeriesForm
from rfp_portal.models import Event, EventSeries, SeriesKind
from rfp_portal.models.event import RESEARCH_JAM
from rfp_portal.services.events import (
    EventDraft,
    SeriesDraft,
    all_series,
    calendar_entries,
    create_event,
    create_series,
    find_event,
    find_series,
    next_event_number,
    update_event,
)
from rfp_portal.web.calendar import calendar_response, google_calendar_link
from rfp_portal.web.context import now
from rfp_portal.web.preview import asked_for_preview, preview_form
from rfp_portal.web.views import perform

bp = Blueprint("events", __name__)

CALENDAR_NAME = "ML Collective Open Collab events"


def load_series(slug: str) -> EventSeries:
    """A series other than Research Jam. :raise 404: when there is none by that name."""
    series = find_series(get_session(), slug)
    if series is None or series.is_jams:
        abort(404, description=f"There is no event series “{slug[:60]}”.")
    return series


def load_event(slug: str, key: str) -> Event:
    """:raise 404: when the series or the event is not there."""
    series = load_series(slug)
    event = find_event(get_session(), series, key)
    if event is None:
        abort(404, description=f"There is no event “{key[:60]}” in {series.name}.")
    return event


def series_filter():
    """The series ``?series=`` names (None: every series). :raise 404: for an unknown one."""
    slug = request.args.get("series", "").strip()
    if not slug:
        return None
    series = find_series(get_session(), slug)
    if series is None:
        abort(404, description=f"There is no event series “{slug[:60]}”.")
    return series


def split_by_time(entries):
    """Upcoming events soonest first; past ones most recent first."""
    moment = now()
    upcoming = [entry for entry in entries if entry.is_upcoming(moment)]
    past = [entry for entry in reversed(entries) if not entry.is_upcoming(moment)]
    return upcoming, past


def organisers_only() -> None:
    if not current_user.is_organiser:
        abort(403, description="Only organisers schedule and edit events.")


@bp.route("/events")
def index():
    chosen = series_filter()
    upcoming, past = split_by_time(calendar_entries(get_session(), series=chosen))
    return render_template(
        "events/index.html",
        upcoming=upcoming,
        past=past,
        chosen=chosen,
        series_list=all_series(get_session()),
    )


@bp.route("/events.ics")
def calendar():
    chosen = series_filter()
    name = CALENDAR_NAME if chosen is None else f"Open Collab: {chosen.name}"
    filename = "open-collab-events.ics" if chosen is None else f"{chosen.slug}.ics"
    return calendar_response(
        calendar_entries(get_session(), series=chosen, around=now()), name=name, filename=filename
    )


@bp.route("/events/new-series", methods=["GET", "POST"])
@login_required
def new_series():
    if not current_user.is_admin:
        abort(403, description="Only admins add event series.")
    form = SeriesForm()
    if asked_for_preview():
        previews = preview_form(form, ["description"])
        return render_template("events/series_form.html", form=form, previews=previews)
    if form.validate_on_submit():
        draft = SeriesDraft(
            name=form.name.data,
            slug=form.slug.data or "",
            kind=SeriesKind(form.kind.data),
            description=form.description.data or "",
        )
        done = perform(
            lambda: create_series(get_session(), admin=current_user, draft=draft, now=now()),
            form=form,
            costly=True,
        )
        if done:
            flash(f"{done.value.name} is added.", "success")
            return redirect(url_for("events.series", series=done.value.slug))
    return render_template("events/series_form.html", form=form), (
        422 if form.is_submitted() else 200
    )


@bp.route("/events/<series>")
def series(series: str):
    if series == RESEARCH_JAM.slug:
        return redirect(url_for("jams.index"))
    chosen = load_series(series)
    upcoming, past = split_by_time(calendar_entries(get_session(), series=chosen))
    return render_template("events/series.html", series=chosen, upcoming=upcoming, past=past)


def draft_from(form: EventForm) -> EventDraft:
    return EventDraft(
        number=form.number.data,
        title=form.title.data,
        conference=form.conference.data,
        link_url=form.link_url.data,
        local_start=form.starts_at.data,
        timezone=form.timezone.data,
        duration_minutes=form.duration_minutes.data,
        join_url=form.join_url.data,
        description=form.description.data or "",
    )


@bp.route("/events/<series>/new", methods=["GET", "POST"])
@login_required
def new(series: str):
    organisers_only()
    if series == RESEARCH_JAM.slug:
        return redirect(url_for("jams.new"))
    chosen = load_series(series)
    form = EventForm()
    if not form.is_submitted():
        form.title.data = chosen.name
        if chosen.is_numbered:
            form.number.data = next_event_number(get_session(), chosen)
    if asked_for_preview():
        previews = preview_form(form, ["description"])
        return render_template(
            "events/form.html", form=form, series=chosen, event=None, previews=previews
        )
    if form.validate_on_submit():
        done = perform(
            lambda: create_event(
                get_session(),
                organiser=current_user,
                series=chosen,
                draft=draft_from(form),
                now=now(),
            ),
            form=form,
            costly=True,
        )
        if done:
            flash(f"{done.value.name} is scheduled.", "success")
            return redirect(url_for("events.show", series=chosen.slug, key=done.value.slug))
    return render_template("events/form.html", form=form, series=chosen, event=None), (
        422 if form.is_submitted() else 200
    )


@bp.route("/events/<series>/<key>")
def show(series: str, key: str):
    event = load_event(series, key)
    page_url = url_for("events.show", series=series, key=event.slug, _external=True)
    return render_template(
        "events/show.html", event=event, google_link=google_calendar_link(event, page_url)
    )


@bp.route("/events/<series>/<key>.ics")
def event_calendar(series: str, key: str):
    event = load_event(series, key)
    return calendar_response(
        [event],
        name=CALENDAR_NAME,
        filename=f"{event.series.slug}-{event.slug}.ics",
        download=True,
    )


@bp.route("/events/<series>/<key>/edit", methods=["GET", "POST"])
@login_required
def edit(series: str, key: str):
    organisers_only()
    event = load_event(series, key)
    form = EventForm()
    if not form.is_submitted():
        form.number.data, form.title.data = event.number, event.title
        form.conference.data, form.link_url.data = event.conference, event.link_url
        form.starts_at.data = event.local_start.replace(tzinfo=None)
        form.timezone.data, form.duration_minutes.data = event.timezone, event.duration_minutes
        form.join_url.data, form.description.data = event.join_url, event.description_md
    if asked_for_preview():
        previews = preview_form(form, ["description"])
        return render_template(
            "events/form.html", form=form, series=event.series, event=event, previews=previews
        )
    if form.validate_on_submit():
        done = perform(
            lambda: update_event(
                get_session(),
                event=event,
                organiser=current_user,
                draft=draft_from(form),
                now=now(),
            ),
            form=form,
            costly=True,
        )
        if done:
            flash(f"{event.name} is updated.", "success")
            return redirect(url_for("events.show", series=event.series.slug, key=event.slug))
    return render_template("events/form.html", form=form, series=event.series, event=event), (
        422 if form.is_submitted() else 200
    )
