"""Claims: claim an RFP, post progress, drop, deliver, accept."""

from flask import Blueprint, abort, flash, g, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from rfp_portal import limits
from rfp_portal.claims.forms import DeliverForm
from rfp_portal.db import get_session
from rfp_portal.forms import ConfirmForm
from rfp_portal.forms.rfp_page import ClaimForm, ProgressForm
from rfp_portal.models import Claim
from rfp_portal.rendering.images import ImageRejected
from rfp_portal.rfps.pages import load_rfp, render_rfp_page
from rfp_portal.services.claims import (
    accept_delivery,
    claim_rfp,
    deliver_result,
    drop_claim,
    post_progress,
)
from rfp_portal.services.plots import commit_with_files
from rfp_portal.storage import get_store
from rfp_portal.web.context import claim_policy, now
from rfp_portal.web.preview import asked_for_preview, preview_form
from rfp_portal.web.views import get_or_404, perform

bp = Blueprint("claims", __name__)


def load_claim(claim_id: int) -> Claim:
    """:raise 404: when there is no claim with that id."""
    return get_or_404(
        Claim,
        claim_id,
        "There is no claim with that number.",
        selectinload(Claim.rfp),
        selectinload(Claim.claimant),
    )


def back_to(claim: Claim, anchor: str | None = None):
    return redirect(url_for("rfps.show", rfp_id=claim.rfp_id, _anchor=anchor or claim.anchor))


@bp.route("/rfps/<id:rfp_id>/claims", methods=["POST"])
@login_required
def create(rfp_id: int):
    rfp = load_rfp(rfp_id, related=False)
    form = ClaimForm()
    if asked_for_preview():
        return render_rfp_page(rfp, claim_form=form, previews=preview_form(form, ["note"]))
    if form.validate_on_submit():
        done = perform(
            lambda: claim_rfp(
                get_session(),
                rfp=rfp,
                person=current_user,
                note=form.note.data or "",
                now=now(),
                policy=claim_policy(),
            ),
            form=form,
            field="note",
            costly=True,
        )
        if done:
            flash("You are on it! Post progress as you go; the author has been told.", "success")
            return back_to(done.value)
    return render_rfp_page(rfp, claim_form=form), 422


@bp.route("/claims/<id:claim_id>/progress", methods=["POST"])
@login_required
def progress(claim_id: int):
    claim = load_claim(claim_id)
    if not claim.is_claimant(current_user):
        abort(403, description="Only the person working on this can post progress.")
    form = ProgressForm(prefix=f"claim-{claim.id}")
    if asked_for_preview():
        previews = preview_form(form, ["body"])
        return render_rfp_page(claim.rfp, progress_forms={claim.id: form}, previews=previews)
    if form.validate_on_submit():
        done = perform(
            lambda: post_progress(
                get_session(),
                claim=claim,
                person=current_user,
                body=form.body.data,
                now=now(),
                policy=claim_policy(),
            ),
            form=form,
            costly=True,
        )
        if done:
            flash("Your update is posted; the check-in clock starts again.", "success")
            return back_to(claim)
        # The claim itself refuses (it expired): say so on its page. A busy portal or a
        # throttled save is not the claim's answer: the form comes back with the update typed.
        if done.error.field is None and "unavailable" not in g:
            flash(done.error.message, "error")
            return back_to(claim)
    return render_rfp_page(claim.rfp, progress_forms={claim.id: form}), 422


@bp.route("/claims/<id:claim_id>/drop", methods=["GET", "POST"])
@login_required
def drop(claim_id: int):
    claim = load_claim(claim_id)
    if not claim.can_drop(current_user):
        abort(403, description="Only the person working on this can drop it.")
    form = ConfirmForm()
    if form.validate_on_submit():
        if perform(lambda: drop_claim(get_session(), claim=claim, person=current_user, now=now())):
            flash(
                "You dropped the claim. Thank you for trying — the RFP is open to others again.",
                "success",
            )
        return back_to(claim, "claims")
    return render_template("claims/drop.html", claim=claim, form=form)


@bp.route("/claims/<id:claim_id>/deliver", methods=["GET", "POST"])
@limits.upload_per_client
@limits.upload_per_account
@login_required
def deliver(claim_id: int):
    claim = load_claim(claim_id)
    if not claim.can_deliver(current_user):
        abort(403, description="Only the person working on this can deliver it.")
    form = DeliverForm()
    if asked_for_preview():
        previews = preview_form(form, ["write_up"])
        return render_template("claims/deliver.html", claim=claim, form=form, previews=previews)
    if form.validate_on_submit():
        session, store = get_session(), get_store()
        done = perform(
            lambda: deliver_result(
                session,
                store,
                claim=claim,
                person=current_user,
                result_url=form.result_url.data,
                write_up=form.write_up.data,
                image=form.image.data.read(),
                caption=form.caption.data,
                alt_text=form.alt_text.data,
                now=now(),
            ),
            form=form,
            refusals=(ImageRejected,),
            commit=lambda plot: commit_with_files(
                session, store, written=[plot.image_key, plot.thumb_key]
            ),
            costly=True,
        )
        if done:
            flash("Delivered! The author has been told. Thank you for making the plot.", "success")
            return back_to(claim)
    status = 422 if form.is_submitted() else 200
    return render_template("claims/deliver.html", claim=claim, form=form), status


@bp.route("/claims/<id:claim_id>/accept", methods=["POST"])
@login_required
def accept(claim_id: int):
    claim = load_claim(claim_id)
    if not claim.can_accept(current_user):
        abort(403, description="Only the RFP's author can accept a delivered result.")
    if perform(lambda: accept_delivery(get_session(), claim=claim, person=current_user, now=now())):
        flash("You accepted the result; the RFP is completed. Thank you both!", "success")
    return back_to(claim)
