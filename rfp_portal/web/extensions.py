"""The Flask extensions every request goes through: CSRF protection, log-in and throttling."""

from __future__ import annotations

from flask import Flask, g, session
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from rfp_portal import clock
from rfp_portal.db import get_engine, get_session

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to do that."
login_manager.login_message_category = "info"


@login_manager.user_loader
def _load_user(token: str):
    """The person of the log-in session whose token the session or remember-me cookie holds,
    if that session was not ended (logging out, from the sessions page, a password change,
    deactivation) and the account is active; else nobody, and the browser's session is cleared
    (the remember-me cookie too), so a replayed cookie is anonymous from the first request on.
    """
    from rfp_portal.services.sessions import find_login_session, seen_statement

    record = find_login_session(get_session(), token)
    if record is None:
        session.clear()
        session["_remember"] = "clear"  # Flask-Login deletes the remember-me cookie
        return None
    g.rfp_login_session = record
    seen = seen_statement(record, now=clock.now())
    if seen is not None:
        # Apart from the request's transaction: a page that only reads still commits nothing.
        with get_engine().begin() as conn:
            conn.execute(seen)
    return record.user


def current_login_session():
    """The log-in session (models.LoginSession) this request runs in, or None."""
    if not current_user.is_authenticated:
        return None
    return g.get("rfp_login_session")


def init_app(app: Flask) -> None:
    from rfp_portal.limits import limiter

    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
