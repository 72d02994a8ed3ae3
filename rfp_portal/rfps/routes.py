"""Requests for Plot: list, read, submit, edit, withdraw."""

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from rfp_portal.db import get_session
from rfp_portal.forms import ConfirmForm
from rfp_portal.models import Claim, Comment, Jam, Presentation, Rfp, RfpState
from rfp_portal.pagination import Page
from rfp_portal.rfps.forms import RfpForm
from rfp_portal.rfps.queries import is_claimed, rfp_listing
from rfp_portal.services import DomainError, NotAllowed
from rfp_portal.services.rfps import submit_rfp, update_rfp, withdraw_rfp

bp = Blueprint("rfps", __name__)

STATE_FILTERS = {
    "": [RfpState.OPEN, RfpState.COMPLETED],
    "open": [RfpState.OPEN],
    "completed": [RfpState.COMPLETED],
    "withdrawn": [RfpState.WITHDRAWN],
    "all": list(RfpState),
}


def load_rfp(rfp_id: int) -> Rfp:
    """:raise 404: when there is no RFP with that id."""
    rfp = get_session().scalar(
        sa.select(Rfp)
        .where(Rfp.id == rfp_id)
        .options(selectinload(Rfp.author), selectinload(Rfp.tags), selectinload(Rfp.plots))
    )
    if rfp is None:
        abort(404, description="There is no RFP with that number.")
    return rfp


@bp.route("/rfps")
def index():
    from rfp_portal.web import claim_policy, now

    state = request.args.get("state", "")
    if state not in STATE_FILTERS:
        state = ""
    claimed = request.args.get("claimed", "")
    if claimed not in ("yes", "no"):
        claimed = ""
    query = (
        rfp_listing(now(), claim_policy())
        .where(Rfp.state.in_(STATE_FILTERS[state]))
        .order_by(Rfp.created_at.desc(), Rfp.id.desc())
    )
    if claimed:
        claimed_now = is_claimed(now(), claim_policy())
        query = query.where(claimed_now if claimed == "yes" else ~claimed_now)
    jam = request.args.get("jam", type=int)
    if jam is not None and 0 < jam < 2**31:
        query = query.where(
            sa.exists().where(
                Presentation.rfp_id == Rfp.id, Presentation.jam_id == Jam.id, Jam.number == jam
            )
        )
    else:
        jam = None
    page = Page.of(
        get_session(),
        query,
        number=request.args.get("page", 1, type=int),
        per_page=current_app.config["RFPS_PER_PAGE"],
    )
    return render_template("rfps/index.html", page=page, state=state, claimed=claimed, jam=jam)


def render_rfp_page(
    rfp: Rfp, *, claim_form=None, progress_forms=None, comment_form=None, presentation_form=None
):
    """The RFP page, with forms that failed validation shown in place.

    A fixed number of queries, however many claims, updates and comments it has.
    """
    from rfp_portal.claims.forms import ClaimForm, ProgressForm
    from rfp_portal.comments.forms import CommentForm
    from rfp_portal.services.claims import claim_refusal
    from rfp_portal.web import claim_policy, now

    session = get_session()
    session.scalars(
        sa.select(Rfp)
        .where(Rfp.id == rfp.id)
        .options(
            selectinload(Rfp.claims).selectinload(Claim.claimant),
            selectinload(Rfp.claims).selectinload(Claim.updates),
            selectinload(Rfp.claims).selectinload(Claim.result_plot),
            selectinload(Rfp.comments).selectinload(Comment.author),
            selectinload(Rfp.presentations).selectinload(Presentation.jam),
        )
        .execution_options(populate_existing=True)
    ).one()
    refusal = None
    if current_user.is_authenticated:
        refusal = claim_refusal(session, rfp, current_user, now=now(), policy=claim_policy())
    if presentation_form is None and rfp.is_managed_by(current_user):
        from rfp_portal.jams.routes import presentation_form as make_presentation_form

        presentation_form = make_presentation_form(rfp)
        presentation_form.process(formdata=None)
    progress_forms = progress_forms or {}
    for claim in rfp.claims:
        if claim.is_claimant(current_user) and claim.id not in progress_forms:
            progress_forms[claim.id] = ProgressForm(prefix=f"claim-{claim.id}", formdata=None)
    return render_template(
        "rfps/show.html",
        rfp=rfp,
        claim_refusal=refusal,
        claim_form=claim_form or ClaimForm(formdata=None),
        progress_forms=progress_forms,
        comment_form=comment_form or CommentForm(formdata=None),
        confirm_form=ConfirmForm(formdata=None),
        presentation_form=presentation_form,
    )


@bp.route("/rfps/<id:rfp_id>")
def show(rfp_id: int):
    return render_rfp_page(load_rfp(rfp_id))


@bp.route("/rfps/new", methods=["GET", "POST"])
@login_required
def new():
    form = RfpForm()
    if form.validate_on_submit():
        session = get_session()
        try:
            rfp = submit_rfp(session, author=current_user, draft=form.to_draft())
        except DomainError as error:
            session.rollback()  # undo whatever the refused action had begun
            form.add_domain_error(error)
        else:
            session.commit()
            flash("Your RFP is published. Thank you for sharing it!", "success")
            return redirect(url_for("rfps.show", rfp_id=rfp.id))
    return render_template("rfps/form.html", form=form, rfp=None), 422 if form.errors else 200


@bp.route("/rfps/<id:rfp_id>/edit", methods=["GET", "POST"])
@login_required
def edit(rfp_id: int):
    rfp = load_rfp(rfp_id)
    if not rfp.can_edit(current_user):
        abort(403, description="Only the author or an organiser can edit this RFP.")
    form = RfpForm.for_rfp(rfp)
    if form.validate_on_submit():
        session = get_session()
        try:
            update_rfp(session, rfp=rfp, editor=current_user, draft=form.to_draft())
        except NotAllowed:
            abort(403)
        except DomainError as error:
            session.rollback()  # undo whatever the refused action had begun
            form.add_domain_error(error)
        else:
            session.commit()
            flash("Your changes are saved.", "success")
            return redirect(url_for("rfps.show", rfp_id=rfp.id))
    return render_template("rfps/form.html", form=form, rfp=rfp), 422 if form.errors else 200


@bp.route("/rfps/<id:rfp_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(rfp_id: int):
    rfp = load_rfp(rfp_id)
    if rfp.state is not RfpState.OPEN and rfp.is_managed_by(current_user):
        flash(f"This RFP is already {rfp.state.value}.", "info")
        return redirect(url_for("rfps.show", rfp_id=rfp.id))
    if not rfp.can_withdraw(current_user):
        abort(403, description="Only the author or an organiser can withdraw an open RFP.")
    form = ConfirmForm()
    if form.validate_on_submit():
        session = get_session()
        withdraw_rfp(session, rfp=rfp, actor=current_user)
        session.commit()
        flash("The RFP is withdrawn. It stays readable, marked as withdrawn.", "success")
        return redirect(url_for("rfps.show", rfp_id=rfp.id))
    return render_template("rfps/withdraw.html", form=form, rfp=rfp)
