"""People's pages and their own profiles; admins change roles and deactivate accounts; the
moderation log."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from rfp_portal.db import get_session
from rfp_portal.models import Claim, ClaimStatus, ModerationAction, Rfp, Role, User
from rfp_portal.models.rfp import PUBLISHED
from rfp_portal.pagination import Page
from rfp_portal.rfps.queries import rfp_listing
from rfp_portal.services.accounts import find_user_by_username, set_account_active, set_role
from rfp_portal.services.profiles import update_profile
from rfp_portal.users.forms import AccountStateForm, ProfileForm, RoleForm
from rfp_portal.web.context import claim_policy, now
from rfp_portal.web.preview import asked_for_preview, preview_form
from rfp_portal.web.views import perform

bp = Blueprint("users", __name__)


@bp.route("/users/<username>")
def show(username: str):
    """A person's RFPs, what they are working on and what they delivered.

    :raise 404: when nobody has that username.
    """
    session = get_session()
    person = _load_person(username)
    # A person's drafts are on their page for them alone.
    own_page = current_user.is_authenticated and current_user.id == person.id
    shown = Rfp.state.in_(PUBLISHED) if not own_page else sa.true()
    written = session.scalars(
        rfp_listing(now(), claim_policy())
        .where(Rfp.author_id == person.id, shown)
        .order_by(Rfp.created_at.desc(), Rfp.id.desc())
    ).all()
    rfps = [rfp for rfp in written if not rfp.is_draft]
    drafts = [rfp for rfp in written if rfp.is_draft]
    claims = session.scalars(
        sa.select(Claim)
        .where(Claim.claimant_id == person.id, Claim.status != ClaimStatus.DROPPED)
        .order_by(Claim.created_at.desc())
        .options(selectinload(Claim.rfp), selectinload(Claim.result_plot))
    ).all()
    working = [c for c in claims if c.is_active(now(), claim_policy())]
    delivered = [c for c in claims if c.status is ClaimStatus.DELIVERED]
    role_form = state_form = None
    if current_user.is_authenticated and current_user.is_admin:
        role_form = RoleForm(formdata=None, role=person.role.value)
        if person.id != current_user.id:
            state_form = AccountStateForm(
                formdata=None, active="yes" if not person.active else "no"
            )
    return render_template(
        "users/show.html",
        person=person,
        rfps=rfps,
        drafts=drafts,
        working=working,
        delivered=delivered,
        role_form=role_form,
        state_form=state_form,
    )


@bp.route("/account/profile", methods=["GET", "POST"])
@login_required
def edit_profile():
    """Edit one's own profile: there is no address for anyone else's."""
    form = ProfileForm() if request.method == "POST" else ProfileForm.for_user(current_user)
    if asked_for_preview():
        previews = preview_form(form, ["bio"])
        return render_template("users/profile.html", form=form, previews=previews)
    if form.validate_on_submit():
        done = perform(
            lambda: update_profile(get_session(), user=current_user, draft=form.to_draft()),
            form=form,
            costly=True,
        )
        if done:
            flash("Your profile is saved.", "success")
            return redirect(url_for("users.show", username=current_user.username))
    return render_template("users/profile.html", form=form), 422 if form.errors else 200


def _load_person(username: str) -> User:
    """:raise 404: when nobody has that username."""
    person = find_user_by_username(get_session(), username)
    if person is None:
        abort(404, description="There is nobody with that username.")
    return person


@bp.route("/users/<username>/role", methods=["POST"])
@login_required
def change_role(username: str):
    """An admin makes someone a member, an organiser or an admin."""
    person = _load_person(username)
    if not current_user.is_admin:
        abort(403, description="Only admins can change roles.")
    form = RoleForm()
    if not form.validate_on_submit():
        flash(" ".join(form.role.errors) or "That form had expired; please try again.", "error")
        return redirect(url_for("users.show", username=person.username))
    role = Role(form.role.data)
    if perform(lambda: set_role(get_session(), user=person, role=role, actor=current_user)):
        flash(f"{person.display_name} is now {person.role.value}.", "success")
    return redirect(url_for("users.show", username=person.username))


@bp.route("/users/<username>/active", methods=["POST"])
@login_required
def change_active(username: str):
    """An admin deactivates an account (sessions end; content stays, marked) or reactivates it."""
    person = _load_person(username)
    if not current_user.is_admin or person.id == current_user.id:
        abort(403, description="Only admins can do that, and not to their own account.")
    form = AccountStateForm()
    if form.validate_on_submit():
        active = form.active.data == "yes"
        done = perform(
            lambda: set_account_active(
                get_session(),
                user=person,
                actor=current_user,
                active=active,
                reason=form.reason.data or "",
                now=now(),
            ),
            form=form,
        )
        if done:
            flash(
                f"{person.display_name}'s account is "
                + ("active again." if active else "deactivated; their sessions have ended."),
                "success",
            )
            return redirect(url_for("users.show", username=person.username))
    flash(" ".join(message for _, _, message in form.error_list()), "error")
    return redirect(url_for("users.show", username=person.username))


@bp.route("/moderation")
@login_required
def moderation_log():
    """Every moderation action, newest first: for organisers and admins."""
    if not current_user.is_organiser:
        abort(403, description="The moderation log is for organisers and admins.")
    query = (
        sa.select(ModerationAction)
        .order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc())
        .options(selectinload(ModerationAction.actor), selectinload(ModerationAction.subject))
    )
    page = Page.of(get_session(), query, number=request.args.get("page", 1, type=int), per_page=50)
    return render_template("users/moderation.html", page=page)
