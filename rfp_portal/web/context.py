"""The request's context: its clock, the claim rules in force, what every template may ask."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from wtforms import Form as WtfForm

from rfp_portal import clock
from rfp_portal.db import get_session
from rfp_portal.forms import BaseForm
from rfp_portal.models.claim import ClaimPolicy
from rfp_portal.page_cache import kept
from rfp_portal.services.notifications import unread_count


def now() -> datetime:
    """The current time, from the portal's one clock."""
    return clock.now()


def claim_policy() -> ClaimPolicy:
    """The claim rules of this portal's configuration (check-in, expiry, claims per person)."""
    return ClaimPolicy.from_config(current_app.config)


def _template_globals() -> dict:
    """What every page may ask: the time, the claim rules, and the reader's unread count."""
    unread = 0
    if current_user.is_authenticated:
        # A notification appears, or is read, only by a write, which moves the generation.
        unread = int(
            kept(
                "unread notifications",
                current_user.id,
                make=lambda: str(unread_count(get_session(), current_user)),
            )
        )
    return {"now": now(), "policy": claim_policy(), "unread_notifications": unread}


@pass_context
def page_has_form_errors(context: Context) -> bool:
    """Whether a form the page shows came back with errors (the page's title then says so).

    Looks at the forms handed to the template, and those in a dict or list of them (an RFP's
    page has one progress form per claim), so no view has to say it.
    """

    def failed(value) -> bool:
        if isinstance(value, BaseForm):
            return bool(value.error_list())
        return isinstance(value, WtfForm) and bool(value.errors)

    for value in context.get_all().values():
        if type(value) is dict:  # not the session or the config (dict subclasses)
            value = list(value.values())
        if isinstance(value, list | tuple):
            if any(failed(item) for item in value):
                return True
        elif failed(value):
            return True
    return False


def init_app(app: Flask) -> None:
    app.context_processor(_template_globals)
    app.add_template_global(page_has_form_errors)
