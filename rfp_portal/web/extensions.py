"""The Flask extensions every request goes through: CSRF protection, log-in and throttling."""

from __future__ import annotations

import hmac

from flask import Flask
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from rfp_portal.db import get_session

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to do that."
login_manager.login_message_category = "info"


@login_manager.user_loader
def _load_user(user_id: str):
    """The session's person, if the account is active and its sessions were not ended since."""
    from rfp_portal.models import User

    number, _, token = user_id.partition(":")
    if not number.isdigit() or not token:
        return None
    user = get_session().get(User, int(number))
    if user is None or not user.is_active:  # deactivation ends sessions
        return None
    if not hmac.compare_digest(user.session_token.encode(), token.encode()):
        return None  # the password changed (or the account was deactivated) since
    return user


def init_app(app: Flask) -> None:
    from rfp_portal.limits import limiter

    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
