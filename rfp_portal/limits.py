"""Throttling of log-in, registration, password resets, mail, comments and uploads (Flask-Limiter).

Each throttled action has two limits: one per client (its address, as the proxy reports it when
``PROXY_COUNT`` is set) and one per account (the person logged in, or for log-in the account
being tried, so guessing one password from many addresses is slowed too). The numbers come from
the configuration; ``RATELIMIT_STORAGE_URI`` chooses where counts are kept: ``memory://`` (the
default) counts per process, ``redis://…`` or ``memcached://…`` share the counts between every
worker and host.
"""

from __future__ import annotations

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def _configured(name: str):
    return lambda: current_app.config[name]


def _person() -> str:
    """The logged-in person (not their session), so logging in again does not reset the count."""
    return f"person:{current_user.id}" if current_user.is_authenticated else get_remote_address()


def _login_name() -> str:
    """The account someone is trying to log in to, however it is spelled."""
    return "login:" + " ".join(request.form.get("login", "").split()).lower()[:254]


def _reset_address() -> str:
    """The address a reset is asked for, however it is spelled (one inbox, one count)."""
    return "reset:" + "".join(request.form.get("email", "").split()).lower()[:254]


def _failed(response) -> bool:
    """Only failed attempts count toward the log-in limits (a success redirects)."""
    return response.status_code != 302


# Decorators for the views. Limits apply to POST only: reading a form is never throttled.
login_per_client = limiter.limit(
    _configured("RATE_LIMIT_LOGIN_PER_CLIENT"), methods=["POST"], deduct_when=_failed,
    scope="login-client",
)  # fmt: skip
login_per_account = limiter.limit(
    _configured("RATE_LIMIT_LOGIN_PER_ACCOUNT"), methods=["POST"], deduct_when=_failed,
    key_func=_login_name, scope="login-account",
)  # fmt: skip
register_per_client = limiter.limit(
    _configured("RATE_LIMIT_REGISTER_PER_CLIENT"), methods=["POST"], scope="register"
)
reset_per_client = limiter.limit(
    _configured("RATE_LIMIT_RESET_PER_CLIENT"), methods=["POST"], scope="reset-client"
)
reset_per_address = limiter.limit(
    _configured("RATE_LIMIT_RESET_PER_ADDRESS"), methods=["POST"], key_func=_reset_address,
    scope="reset-address",
)  # fmt: skip
mail_per_account = limiter.limit(
    _configured("RATE_LIMIT_MAIL_PER_ACCOUNT"), methods=["POST"], key_func=_person,
    scope="mail-account",
)  # fmt: skip
comment_per_client = limiter.limit(
    _configured("RATE_LIMIT_COMMENT_PER_CLIENT"), methods=["POST"], scope="comment-client"
)
comment_per_account = limiter.limit(
    _configured("RATE_LIMIT_COMMENT_PER_ACCOUNT"), methods=["POST"], key_func=_person,
    scope="comment-account",
)  # fmt: skip
upload_per_client = limiter.limit(
    _configured("RATE_LIMIT_UPLOAD_PER_CLIENT"), methods=["POST"], scope="upload-client"
)
upload_per_account = limiter.limit(
    _configured("RATE_LIMIT_UPLOAD_PER_ACCOUNT"), methods=["POST"], key_func=_person,
    scope="upload-account",
)  # fmt: skip


def retry_after_seconds() -> int | None:
    """Seconds until the limit this request broke lets it through again."""
    import time

    current = limiter.current_limit
    if current is None:
        return None
    return max(1, int(current.reset_at - time.time()))
