"""Research Jams: list, schedule, show (with the agenda), calendar; presentations of RFPs."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from rfp_portal.db import get_session
from rfp_portal.jams.forms import (
    JamForm,
    SlotDeclineForm,
    SlotMaterialsForm,
    SlotOfferForm,
    SlotTimeForm,
)
from rfp_portal.models import AgendaSlot, Jam, Presentation, Rfp, SlotKind, SlotState
from rfp_portal.models.event import RESEARCH_JAM
from rfp_portal.models.jam import with_agenda
from rfp_portal.pagination import FEED_LENGTH
from rfp_portal.rfps.pages import load_rfp, make_presentation_form, render_rfp_page
from rfp_portal.services import agenda
from rfp_portal.services.events import calendar_entries
from rfp_portal.services.jams import (
    JamDraft,
    create_jam,
    link_to_jam,
    next_jam_number,
    unlink_from_jam,
    update_jam,
)
from rfp_portal.web.calendar import calendar_response, google_calendar_link
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
        offers_close=form.offers_close.data,
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


def make_offer_form(jam: Jam, **kwargs) -> SlotOfferForm | None:
    """The "offer a slot" form for a member, while the Jam takes offers (None otherwise)."""
    if not current_user.is_authenticated or not jam.takes_offers(now()):
        return None
    form = SlotOfferForm(**kwargs)
    form.rfp_choices(agenda.offerable_rfps(get_session(), jam=jam, person=current_user))
    return form


def _name_fields_after(slot: AgendaSlot, form) -> None:
    """Each slot's form has the same fields: a hidden part of each label says whose it is, so a
    screen reader's list of fields tells "Reason" for one slot from another's."""
    for field in form:
        if field.type not in ("CSRFTokenField", "HiddenField"):
            field.label.text = Markup('{}<span class="visually-hidden"> for “{}”</span>').format(
                field.label.text, slot.public_title()
            )


def render_jam_page(jam: Jam, *, offer_form=None, slot_forms=None, status: int = 200):
    """The Jam page; for members the offer form and their own offers, for organisers the offers
    to decide on. ``slot_forms`` are forms of one slot that failed, keyed by (kind, slot id)."""
    moment = now()
    page_url = url_for("jams.show", number=jam.number, _external=True)
    slot_forms = dict(slot_forms or {})
    if current_user.is_authenticated:
        for slot in jam.slots:
            if current_user.is_organiser and slot.state is not SlotState.DECLINED:
                slot_forms.setdefault(
                    ("decline", slot.id),
                    SlotDeclineForm(prefix=f"decline-{slot.id}", formdata=None),
                )
            if current_user.is_organiser and slot.state is SlotState.ACCEPTED:
                time_form = SlotTimeForm(prefix=f"time-{slot.id}", formdata=None)
                time_form.start.data = slot.starts_at.astimezone(jam.local_start.tzinfo).time()
                slot_forms.setdefault(("time", slot.id), time_form)
            if slot.can_attach_materials(current_user) and jam.has_started(moment):
                slot_forms.setdefault(
                    ("materials", slot.id),
                    SlotMaterialsForm(
                        prefix=f"materials-{slot.id}",
                        formdata=None,
                        slides_url=slot.slides_url,
                        recording_url=slot.recording_url,
                    ),
                )
    for (_, slot_id), form in slot_forms.items():
        _name_fields_after(next(s for s in jam.slots if s.id == slot_id), form)
    body = render_template(
        "jams/show.html",
        jam=jam,
        google_link=google_calendar_link(jam, page_url),
        offer_form=offer_form if offer_form is not None else make_offer_form(jam),
        slot_forms=slot_forms,
        your_slots=[slot for slot in jam.slots if slot.is_offered_by(current_user)],
    )
    return body, status


@bp.route("/jams/<int:number>")
def show(number: int):
    return render_jam_page(load_jam(number))


@bp.route("/jams/<int:number>/slots", methods=["POST"])
@login_required
def offer(number: int):
    jam = load_jam(number)
    form = make_offer_form(jam)
    if form is None:
        # The Jam began or its offers closed while the page was open: say so on the page.
        closed = SlotOfferForm()
        closed.rfp_choices([])
        closed.form_errors.append(agenda.offers_refusal(jam, now()) or "Log in to offer a slot.")
        return render_jam_page(jam, offer_form=closed, status=422)
    if form.validate_on_submit():
        session = get_session()
        kind = SlotKind(form.kind.data)
        rfp = session.get(Rfp, form.rfp.data) if kind is SlotKind.RFP and form.rfp.data else None
        if rfp is not None and not rfp.can_read(current_user):
            rfp = None  # someone else's draft: as if it did not exist
        offer_ = agenda.SlotOffer(
            kind=kind,
            minutes=form.minutes.data,
            rfp=rfp,
            title=form.title.data or "",
            line=form.line.data or "",
            link_url=form.link_url.data,
        )
        if kind is SlotKind.RFP and rfp is None:
            form.rfp.errors = [*form.rfp.errors, "Choose one of your RFPs to present."]
        else:
            done = perform(
                lambda: agenda.offer_slot(
                    session, jam=jam, person=current_user, offer=offer_, now=now()
                ),
                form=form,
            )
            if done:
                flash(
                    f"Thank you! Your offer is with the organisers of {jam.name}; "
                    "you will see their answer here.",
                    "success",
                )
                return redirect(url_for("jams.show", number=jam.number, _anchor="your-offers"))
    return render_jam_page(jam, offer_form=form, status=422)


def load_slot(slot_id: int) -> AgendaSlot:
    """:raise 404: when there is no such slot (or its Jam is gone)."""
    return get_or_404(AgendaSlot, slot_id, "There is no such agenda slot.")


def organisers_decide() -> None:
    if not current_user.is_organiser:
        abort(403, description="Only organisers accept, order and time agenda slots.")


def _back_to(slot: AgendaSlot, anchor: str = "agenda-title"):
    return redirect(url_for("jams.show", number=slot.jam.number, _anchor=anchor))


@bp.route("/slots/<id:slot_id>/withdraw", methods=["POST"])
@login_required
def withdraw_slot(slot_id: int):
    slot = load_slot(slot_id)
    if not slot.can_withdraw(current_user):
        abort(403, description="Only the person who offered a slot can withdraw it.")
    jam_number = slot.jam.number
    if perform(
        lambda: agenda.withdraw_slot(get_session(), slot=slot, person=current_user, now=now())
    ):
        flash("Your offer is withdrawn.", "success")
    return redirect(url_for("jams.show", number=jam_number, _anchor="your-offers"))


@bp.route("/slots/<id:slot_id>/accept", methods=["POST"])
@login_required
def accept_slot(slot_id: int):
    organisers_decide()
    slot = load_slot(slot_id)
    if perform(
        lambda: agenda.accept_slot(get_session(), slot=slot, organiser=current_user, now=now())
    ):
        flash(f"“{slot.public_title()}” is on the agenda.", "success")
    return _back_to(slot)


@bp.route("/slots/<id:slot_id>/decline", methods=["POST"])
@login_required
def decline_slot(slot_id: int):
    organisers_decide()
    slot = load_slot(slot_id)
    form = SlotDeclineForm(prefix=f"decline-{slot.id}")
    if form.validate_on_submit():
        done = perform(
            lambda: agenda.decline_slot(
                get_session(), slot=slot, organiser=current_user, reason=form.reason.data, now=now()
            ),
            form=form,
        )
        if done:
            flash(f"“{slot.public_title()}” is declined; its offerer can read why.", "success")
            return _back_to(slot, "offers")
    return render_jam_page(
        load_jam(slot.jam.number), slot_forms={("decline", slot.id): form}, status=422
    )


@bp.route("/slots/<id:slot_id>/move", methods=["POST"])
@login_required
def move_slot(slot_id: int):
    organisers_decide()
    slot = load_slot(slot_id)
    up = request.form.get("direction") != "down"
    if perform(
        lambda: agenda.move_slot(get_session(), slot=slot, organiser=current_user, up=up, now=now())
    ):
        flash(f"“{slot.public_title()}” is moved {'up' if up else 'down'}.", "success")
    return _back_to(slot, f"slot-{slot.id}")


@bp.route("/slots/<id:slot_id>/time", methods=["POST"])
@login_required
def time_slot(slot_id: int):
    organisers_decide()
    slot = load_slot(slot_id)
    form = SlotTimeForm(prefix=f"time-{slot.id}")
    if slot.state is not SlotState.ACCEPTED:  # its form is not on the page: say so at the top
        flash("Accept the slot before you give it a time.", "error")
        return _back_to(slot, "offers")
    if form.validate_on_submit():
        done = perform(
            lambda: agenda.set_slot_time(
                get_session(),
                slot=slot,
                organiser=current_user,
                wall_clock=form.start.data,
                now=now(),
            ),
            form=form,
        )
        if done:
            flash(f"“{slot.public_title()}” is timed.", "success")
            return _back_to(slot, f"slot-{slot.id}")
    return render_jam_page(
        load_jam(slot.jam.number), slot_forms={("time", slot.id): form}, status=422
    )


@bp.route("/slots/<id:slot_id>/materials", methods=["POST"])
@login_required
def slot_materials(slot_id: int):
    slot = load_slot(slot_id)
    if not slot.can_attach_materials(current_user):
        abort(403, description="Only the presenter or an organiser adds slides and a recording.")
    form = SlotMaterialsForm(prefix=f"materials-{slot.id}")
    if form.validate_on_submit():
        done = perform(
            lambda: agenda.attach_materials(
                get_session(),
                slot=slot,
                person=current_user,
                slides_url=form.slides_url.data,
                recording_url=form.recording_url.data,
            ),
            form=form,
        )
        if done:
            flash("Slides and recording are saved.", "success")
            return _back_to(slot, f"slot-{slot.id}")
    return render_jam_page(
        load_jam(slot.jam.number), slot_forms={("materials", slot.id): form}, status=422
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
        if jam.offers_close_at is not None:
            local_close = jam.offers_close_at.astimezone(jam.local_start.tzinfo)
            form.offers_close.data = local_close.replace(tzinfo=None)
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


@bp.route("/jams.ics")
def calendar():
    return calendar_response(
        calendar_entries(get_session(), series=RESEARCH_JAM, around=now()),
        name="Open Collab Research Jams",
        filename="research-jams.ics",
    )


@bp.route("/jams.atom")
def feed():
    """The FEED_LENGTH most recently announced Jams, as an Atom 1.0 feed."""
    jams = (
        get_session()
        .scalars(
            sa.select(Jam)
            .order_by(Jam.created_at.desc(), Jam.id.desc())
            .limit(FEED_LENGTH)
            .options(*with_agenda())
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
    return calendar_response(
        [load_jam(number)],
        name="Open Collab Research Jams",
        filename=f"research-jam-{number}.ics",
        download=True,
    )


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
