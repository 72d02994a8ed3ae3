"""Comments on RFPs (post, edit, delete, hide) and the notifications page."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from rfp_portal import limits
from rfp_portal.db import get_session
from rfp_portal.forms import ConfirmForm
from rfp_portal.forms.rfp_page import CommentForm
from rfp_portal.models import Comment, Notification
from rfp_portal.pagination import Page
from rfp_portal.rfps.pages import load_rfp, render_rfp_page
from rfp_portal.services.comments import (
    delete_comment,
    edit_comment,
    post_comment,
    set_comment_hidden,
)
from rfp_portal.services.notifications import mark_all_read
from rfp_portal.web.context import claim_policy, now
from rfp_portal.web.preview import asked_for_preview, preview_form
from rfp_portal.web.views import get_or_404, perform

bp = Blueprint("comments", __name__)


def load_comment(comment_id: int) -> Comment:
    """:raise 404: when there is no comment with that id."""
    return get_or_404(
        Comment, comment_id, "There is no comment with that number.", selectinload(Comment.rfp)
    )


def to_comment(comment: Comment, rfp_id: int | None = None):
    """To the comment in its thread. Given ``rfp_id``, the comment (expired by the commit) is
    not loaded again: its id is in its identity key."""
    comment_id = sa.inspect(comment).identity[0]
    rfp_id = comment.rfp_id if rfp_id is None else rfp_id
    return redirect(url_for("rfps.show", rfp_id=rfp_id, _anchor=f"comment-{comment_id}"))


@bp.route("/rfps/<id:rfp_id>/comments", methods=["POST"])
@limits.comment_per_client
@limits.comment_per_account
@login_required
def create(rfp_id: int):
    rfp = load_rfp(rfp_id, related=False)
    form = CommentForm()
    if asked_for_preview():
        return render_rfp_page(rfp, comment_form=form, previews=preview_form(form, ["body"]))
    if form.validate_on_submit():
        done = perform(
            lambda: post_comment(
                get_session(),
                rfp=rfp,
                author=current_user,
                body=form.body.data,
                now=now(),
                policy=claim_policy(),
            ),
            form=form,
            field="body",
        )
        if done:
            flash("Your comment is posted.", "success")
            return to_comment(done.value, rfp_id)
    return render_rfp_page(rfp, comment_form=form), 422


@bp.route("/comments/<id:comment_id>/edit", methods=["GET", "POST"])
@limits.comment_per_client
@limits.comment_per_account
@login_required
def edit(comment_id: int):
    comment = load_comment(comment_id)
    if not comment.can_edit(current_user):
        abort(403, description="Only its author can edit this comment.")
    form = CommentForm()
    if not form.is_submitted():
        form.body.data = comment.body_md
    if asked_for_preview():
        previews = preview_form(form, ["body"])
        return render_template("comments/edit.html", comment=comment, form=form, previews=previews)
    if form.validate_on_submit():
        done = perform(
            lambda: edit_comment(
                get_session(), comment=comment, person=current_user, body=form.body.data, now=now()
            ),
            form=form,
            field="body",
        )
        if done:
            flash("Your comment is updated.", "success")
            return to_comment(comment)
    status = 422 if form.is_submitted() else 200
    return render_template("comments/edit.html", comment=comment, form=form), status


@bp.route("/comments/<id:comment_id>/delete", methods=["GET", "POST"])
@login_required
def delete(comment_id: int):
    comment = load_comment(comment_id)
    if not comment.can_edit(current_user):
        abort(403, description="Only its author can delete this comment.")
    form = ConfirmForm()
    if form.validate_on_submit():
        if perform(
            lambda: delete_comment(get_session(), comment=comment, person=current_user, now=now())
        ):
            flash("Your comment is deleted.", "success")
        return to_comment(comment)
    return render_template("comments/delete.html", comment=comment, form=form)


@bp.route("/comments/<id:comment_id>/hide", methods=["POST"])
@login_required
def hide(comment_id: int):
    comment = load_comment(comment_id)
    if not comment.can_moderate(current_user):
        abort(403, description="Only organisers can hide comments.")
    hidden = request.form.get("hidden", "1") == "1"
    done = perform(
        lambda: set_comment_hidden(
            get_session(),
            comment=comment,
            moderator=current_user,
            hidden=hidden,
            now=now(),
            reason=request.form.get("reason", "")[:500],
        )
    )
    if done:
        flash("The comment is hidden." if hidden else "The comment is shown again.", "success")
    return to_comment(comment)


@bp.route("/notifications")
@login_required
def notifications():
    query = (
        sa.select(Notification)
        .where(Notification.recipient_id == current_user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .options(
            selectinload(Notification.actor),
            selectinload(Notification.rfp),
            selectinload(Notification.claim),
        )
    )
    page = Page.of(get_session(), query, number=request.args.get("page", 1, type=int), per_page=30)
    return render_template("comments/notifications.html", page=page, form=ConfirmForm())


@bp.route("/notifications/read", methods=["POST"])
@login_required
def read_all():
    count = perform(lambda: mark_all_read(get_session(), user=current_user, now=now())).value
    flash(f"Marked {count} notification{'' if count == 1 else 's'} as read.", "success")
    return redirect(url_for("comments.notifications"))
