"""Admin pages for what the portal sends: the outbox (waiting and failed messages) and webhooks."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from rfp_portal.admin.forms import WebhookForm
from rfp_portal.db import get_session
from rfp_portal.forms import ConfirmForm
from rfp_portal.models import MessageState, OutboxMessage, Webhook, WebhookEvent, WebhookFormat
from rfp_portal.pagination import Page
from rfp_portal.services.outbox import retry_message
from rfp_portal.services.webhooks import add_webhook, remove_webhook
from rfp_portal.web.context import now
from rfp_portal.web.views import get_or_404, perform

bp = Blueprint("admin", __name__, url_prefix="/admin")

SHOWN = {
    "failed": (MessageState.FAILED,),
    "waiting": (MessageState.WAITING,),
    "sent": (MessageState.SENT, MessageState.DROPPED),
}


@bp.before_request
@login_required
def admins_only():
    if not current_user.is_admin:
        abort(403, description="Only admins see what the portal sends.")


@bp.route("/outbox")
def outbox():
    """Failed and waiting messages (and the latest sent), newest first."""
    session = get_session()
    shown = request.args.get("show", "failed")
    if shown not in SHOWN:
        shown = "failed"
    counts = {
        state.value: n
        for state, n in session.execute(
            sa.select(OutboxMessage.state, sa.func.count()).group_by(OutboxMessage.state)
        )
    }
    query = (
        sa.select(OutboxMessage)
        .where(OutboxMessage.state.in_(SHOWN[shown]))
        .options(joinedload(OutboxMessage.user), joinedload(OutboxMessage.webhook))
        .order_by(OutboxMessage.id.desc())
    )
    page = Page.of(session, query, number=request.args.get("page", 1, type=int), per_page=50)
    return render_template(
        "admin/outbox.html", page=page, shown=shown, counts=counts, form=ConfirmForm()
    )


@bp.route("/outbox/<id:message_id>/retry", methods=["POST"])
def retry(message_id: int):
    message = get_or_404(OutboxMessage, message_id, "There is no such message.")
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, description="That form had expired. Please reload the page and try again.")
    if perform(lambda: retry_message(get_session(), message=message, now=now())):
        flash(f"Message {message.id} will be sent again within seconds.", "success")
    return redirect(url_for("admin.outbox", show=request.args.get("show", "failed")))


@bp.route("/webhooks", methods=["GET", "POST"])
def webhooks():
    session = get_session()
    form = WebhookForm()
    if form.validate_on_submit():
        done = perform(
            lambda: add_webhook(
                session,
                actor=current_user,
                name=form.name.data,
                format=WebhookFormat(form.format.data),
                url=form.url.data,
                events=[WebhookEvent(e) for e in form.events.data],
                allow_loopback=current_app.config["WEBHOOK_ALLOW_LOOPBACK"],
                now=now(),
            ),
            form=form,
        )
        if done:
            flash(f"Webhook “{done.value.name}” added. It posts from the next event on.", "success")
            return redirect(url_for("admin.webhooks"))
    hooks = session.scalars(sa.select(Webhook).order_by(Webhook.id)).all()
    return render_template(
        "admin/webhooks.html", form=form, hooks=hooks, remove_form=ConfirmForm()
    ), 422 if form.errors else 200


@bp.route("/webhooks/<id:hook_id>/delete", methods=["POST"])
def delete_webhook(hook_id: int):
    hook = get_or_404(Webhook, hook_id, "There is no such webhook.")
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, description="That form had expired. Please reload the page and try again.")
    name = hook.name
    if perform(lambda: remove_webhook(get_session(), actor=current_user, hook=hook)):
        flash(f"Webhook “{name}” removed.", "success")
    return redirect(url_for("admin.webhooks"))
