"""Research Jams: list, schedule, show (with the agenda), calendar; presentations of RFPs."""

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from rfp_portal.db import get_session
from rfp_portal.jams.calendar import google_calendar_link, jams_calendar
from rfp_portal.jams.forms import JamForm
from rfp_portal.models import Jam, Presentation
from rfp_portal.models.jam import with_agenda
from rfp_portal.rfps.pages import load_rfp, make_presentation_form, render_rfp_page
from rfp_portal.services.jams import (
    JamDraft,
    create_jam,
    link_to_jam,
    next_jam_number,
    unlink_from_jam,
    update_jam,
)
from rfp_portal.web.context import now
from rfp_portal.web.preview import asked_for_preview, preview_form
from rfp_portal.web.views import get_or_404, one_or_404, perform

bp = Blueprint("jams", __name__)


def load_jam(number: int) -> Jam:
    """:raise 404: when there is no Jam with that number."""
    missing = f"There is no Research Jam #{number}."
    if not 0 < number < 2**31:
        abort(404, description=missing)
    return one_or_404(sa.select(Jam).where(Jam.number == number).options(*with_agenda()), missing)


def organisers_only() -> None:
    if not current_user.is_organiser:
        abort(403, description="Only organisers schedule and edit Research Jams.")


def draft_from(form: JamForm) -> JamDraft:
    return JamDraft(
        number=form.number.data,
        title=form.title.data,
        local_start=form.starts_at.data,
        timezone=form.timezone.data,
        duration_minutes=form.duration_minutes.data,
        join_url=form.join_url.data,
        description=form.description.data or "",
    )


@bp.route("/jams")
def index():
    moment = now()
    jams = (
        get_session().scalars(sa.select(Jam).order_by(Jam.starts_at).options(*with_agenda())).all()
    )
    upcoming = [jam for jam in jams if jam.is_upcoming(moment)]
    past = [jam for jam in reversed(jams) if not jam.is_upcoming(moment)]
    return render_template("jams/index.html", upcoming=upcoming, past=past)


@bp.route("/jams/new", methods=["GET", "POST"])
@login_required
def new():
    organisers_only()
    session = get_session()
    form = JamForm()
    if not form.is_submitted():
        form.number.data = next_jam_number(session)
    if asked_for_preview():
        previews = preview_form(form, ["description"])
        return render_template("jams/form.html", form=form, jam=None, previews=previews)
    if form.validate_on_submit():
        done = perform(
            lambda: create_jam(session, organiser=current_user, draft=draft_from(form), now=now()),
            form=form,
            costly=True,
        )
        if done:
            flash(f"{done.value.name} is scheduled.", "success")
            return redirect(url_for("jams.show", number=done.value.number))
    return render_template(
        "jams/form.html", form=form, jam=None
    ), 422 if form.is_submitted() else 200


@bp.route("/jams/<int:number>")
def show(number: int):
    jam = load_jam(number)
    page_url = url_for("jams.show", number=jam.number, _external=True)
    return render_template(
        "jams/show.html", jam=jam, google_link=google_calendar_link(jam, page_url)
    )


@bp.route("/jams/<int:number>/edit", methods=["GET", "POST"])
@login_required
def edit(number: int):
    organisers_only()
    jam = load_jam(number)
    form = JamForm()
    if not form.is_submitted():
        form.number.data, form.title.data = jam.number, jam.title
        form.starts_at.data = jam.local_start.replace(tzinfo=None)
        form.timezone.data, form.duration_minutes.data = jam.timezone, jam.duration_minutes
        form.join_url.data, form.description.data = jam.join_url, jam.description_md
    if asked_for_preview():
        previews = preview_form(form, ["description"])
        return render_template("jams/form.html", form=form, jam=jam, previews=previews)
    if form.validate_on_submit():
        done = perform(
            lambda: update_jam(
                get_session(), jam=jam, organiser=current_user, draft=draft_from(form), now=now()
            ),
            form=form,
            costly=True,
        )
        if done:
            flash(f"{jam.name} is updated.", "success")
            return redirect(url_for("jams.show", number=jam.number))
    return render_template(
        "jams/form.html", form=form, jam=jam
    ), 422 if form.is_submitted() else 200


def _calendar(jams, *, filename: str, download: bool = False) -> Response:
    """The Jams as iCalendar: the subscribable feed inline, one Jam as a file to download."""
    body = jams_calendar(
        jams,
        url_for_jam=lambda jam: url_for("jams.show", number=jam.number, _external=True),
    )
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers.set(
        "Content-Disposition", "attachment" if download else "inline", filename=filename
    )
    return response


@bp.route("/jams.ics")
def calendar():
    return _calendar(
        get_session().scalars(sa.select(Jam).order_by(Jam.starts_at).options(*with_agenda())).all(),
        filename="research-jams.ics",
    )


@bp.route("/jams.atom")
def feed():
    """The Jams as an Atom 1.0 feed, the most recently announced first."""
    jams = (
        get_session()
        .scalars(
            sa.select(Jam).order_by(Jam.created_at.desc(), Jam.id.desc()).options(*with_agenda())
        )
        .all()
    )
    updated = max((jam.updated_at for jam in jams), default=None) or now()
    body = render_template(
        "jams/feed.xml", jams=jams, updated=updated, self_url=url_for("jams.feed", _external=True)
    )
    return body, {"Content-Type": "application/atom+xml; charset=utf-8"}


@bp.route("/jams/<int:number>.ics")
def jam_calendar(number: int):
    return _calendar([load_jam(number)], filename=f"research-jam-{number}.ics", download=True)


@bp.route("/rfps/<id:rfp_id>/presentations", methods=["POST"])
@login_required
def link(rfp_id: int):
    rfp = load_rfp(rfp_id)
    if not rfp.is_managed_by(current_user):
        abort(
            403, description="Only the RFP's author or an organiser can link it to a Research Jam."
        )
    form = make_presentation_form()
    if form.validate_on_submit():
        session = get_session()
        jam = session.get(Jam, form.jam.data)
        done = perform(
            lambda: link_to_jam(
                session,
                rfp=rfp,
                jam=jam,
                person=current_user,
                slides_url=form.slides_url.data,
                recording_url=form.recording_url.data,
                now=now(),
            ),
            form=form,
        )
        if done:
            flash(f"Linked to {jam.name}.", "success")
            return redirect(url_for("rfps.show", rfp_id=rfp.id, _anchor="presented"))
    return render_rfp_page(rfp, presentation_form=form), 422


@bp.route("/presentations/<id:presentation_id>/delete", methods=["POST"])
@login_required
def unlink(presentation_id: int):
    presentation = get_or_404(Presentation, presentation_id, "There is no such presentation.")
    if not presentation.can_remove(current_user):
        abort(403, description="Only the RFP's author or an organiser can remove this.")
    rfp_id = presentation.rfp_id
    if perform(
        lambda: unlink_from_jam(get_session(), presentation=presentation, person=current_user)
    ):
        flash("The link to the Research Jam is removed.", "success")
    return redirect(url_for("rfps.show", rfp_id=rfp_id, _anchor="presented"))
