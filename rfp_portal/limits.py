"""Throttling of log-in, registration, password resets, mail, comments and uploads (Flask-Limiter).

Each throttled action has two limits: one per client (its address, as the proxy reports it when
``PROXY_COUNT`` is set) and one per account (the person logged in, or for log-in the account
being tried, so guessing one password from many addresses is slowed too). The numbers come from
the configuration; ``RATELIMIT_STORAGE_URI`` chooses where counts are kept: by default a file
in the instance folder that every worker of the host shares (``limits_store.py``);
``redis://…`` or ``memcached://…`` share the counts between hosts too; ``memory://`` counts per
process.

Log-in is counted by the account tried, however it was named (username or e-mail), and a
browser that logged in to that account before carries a signed device cookie (OWASP's "Slow
Down Online Guessing Attacks with Device Cookies"): its attempts skip the per-account limit and
have one of their own, so nobody can lock a member out of the browsers they use by guessing.
The per-client limits apply to everyone.

Registration is the exception: nobody is logged in yet, so its two limits are both per client,
one on accounts created and a far higher one on attempts.
"""

from __future__ import annotations

import secrets

from flask import current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse_many

from rfp_portal import limits_store  # noqa: F401 - registers the rfp-sqlite:// store
from rfp_portal.db import get_session
from rfp_portal.services.accounts import find_user_by_login

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def _configured(name: str):
    return lambda: current_app.config[name]


def _person() -> str:
    """The logged-in person (not their session), so logging in again does not reset the count."""
    return f"person:{current_user.id}" if current_user.is_authenticated else get_remote_address()


def _typed_login() -> str:
    return " ".join(request.form.get("login", "").split()).lower()[:254]


def _account_tried() -> int | None:
    """The id of the account the log-in form names (by username or e-mail), or None."""
    if "rfp_account_tried" not in g:
        typed = _typed_login()
        user = find_user_by_login(get_session(), typed) if typed else None
        g.rfp_account_tried = user.id if user is not None else None
    return g.rfp_account_tried


def _login_account() -> str:
    """The account someone is trying to log in to, however it is named: its id when there is
    one (so its username and its address count together), else the text typed."""
    account = _account_tried()
    return f"login:account:{account}" if account is not None else "login:" + _typed_login()


# -- device cookies ----------------------------------------------------------------------------

DEVICE_COOKIE = "rfp_device"
DEVICE_COOKIE_DAYS = 365


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="device-cookie")


def set_device_cookie(response, user) -> None:
    """Mark this browser as one ``user`` logged in from: a signed cookie naming the account and
    a random nonce (the per-device count is kept by the nonce)."""
    value = _device_serializer().dumps({"u": user.id, "n": secrets.token_urlsafe(16)})
    config = current_app.config
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=DEVICE_COOKIE_DAYS * 24 * 3600,
        httponly=True,
        secure=config["SESSION_COOKIE_SECURE"],
        samesite="Lax",
    )


def _device() -> dict | None:
    """The valid device cookie this request carries, or None (missing, forged or expired)."""
    if "rfp_device" not in g:
        raw = request.cookies.get(DEVICE_COOKIE, "")
        try:
            found = _device_serializer().loads(raw, max_age=DEVICE_COOKIE_DAYS * 24 * 3600)
        except BadSignature:
            found = None
        if not (isinstance(found, dict) and isinstance(found.get("n"), str)):
            found = None
        g.rfp_device = found
    return g.rfp_device


def _known_device() -> bool:
    """Whether this log-in comes from a browser that logged in to the account it names."""
    device = _device()
    return device is not None and _account_tried() is not None and device["u"] == _account_tried()


def _device_key() -> str:
    device = _device()
    return "device:" + (device["n"] if device else get_remote_address())


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
    key_func=_login_account, scope="login-account", exempt_when=_known_device,
)  # fmt: skip
login_per_device = limiter.limit(
    _configured("RATE_LIMIT_LOGIN_PER_DEVICE"), methods=["POST"], deduct_when=_failed,
    key_func=_device_key, scope="login-device", exempt_when=lambda: not _known_device(),
)  # fmt: skip


def account_created() -> None:
    """Tell the registration limit that this request made an account (only those count)."""
    g.rfp_account_created = True


def _made_an_account(response) -> bool:
    return bool(g.get("rfp_account_created"))


def accounts_per_client(on_breach):
    """The limit on accounts created per client; a form the validators refused costs nothing.

    The count is tested before the view and added to after it (Flask-Limiter's ``deduct_when``),
    so two registrations at the same instant may both take the last free place: it bounds mass
    account creation, it is not an exact quota. ``on_breach(limit)`` answers a refused request.
    """
    return limiter.limit(
        _configured("RATE_LIMIT_REGISTER_PER_CLIENT"), methods=["POST"],
        deduct_when=_made_an_account, on_breach=on_breach, scope="register",
    )  # fmt: skip


# Every registration attempt, generously: failed attempts are no reason to lock a newcomer out,
# but the form says whether a username or address is taken, so probing it stays slow.
register_attempts_per_client = limiter.limit(
    _configured("RATE_LIMIT_REGISTER_ATTEMPTS_PER_CLIENT"), methods=["POST"],
    scope="register-attempts",
)  # fmt: skip
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


def previewing() -> bool:
    """Whether this POST was sent with a form's Preview button, read as WTForms reads a submit
    button (any value but "" or "false"). Such a request saves nothing — every view that takes
    one answers with a preview, or refuses it — so it counts toward the preview limits
    (``preview_allowed``) instead of the upload and comment limits."""
    return request.method == "POST" and request.form.get("preview", "") not in ("", "false")


upload_per_client = limiter.limit(
    _configured("RATE_LIMIT_UPLOAD_PER_CLIENT"), methods=["POST"], scope="upload-client",
    exempt_when=previewing,
)  # fmt: skip
upload_per_account = limiter.limit(
    _configured("RATE_LIMIT_UPLOAD_PER_ACCOUNT"), methods=["POST"], key_func=_person,
    scope="upload-account", exempt_when=previewing,
)  # fmt: skip
comment_per_client = limiter.limit(
    _configured("RATE_LIMIT_COMMENT_PER_CLIENT"), methods=["POST"], scope="comment-client",
    exempt_when=previewing,
)  # fmt: skip
comment_per_account = limiter.limit(
    _configured("RATE_LIMIT_COMMENT_PER_ACCOUNT"), methods=["POST"], key_func=_person,
    scope="comment-account", exempt_when=previewing,
)  # fmt: skip


def when_to_retry(wait: int | None) -> str:
    """``wait`` seconds in words: "in about 40 minutes"."""
    if not wait:
        return "in a little while"
    return f"in about {wait} seconds" if wait < 120 else f"in about {round(wait / 60)} minutes"


def preview_allowed(cost: int = 1) -> bool:
    """Count ``cost`` previews (sketches drawn or Markdown boxes rendered, nothing saved) and
    say whether the client and the person are still within their preview limits.

    A view asks this rather than wearing a decorator, because a throttled preview must answer
    with the person's form and a message, never an error page that loses what they typed.
    """
    return _within("PREVIEW", "preview", cost)


def write_allowed() -> bool:
    """Count one save that renders Markdown or draws (an RFP, a claim, progress, a Jam, a
    profile) and say whether the client and the person are within their limits for those.

    ``web.views.perform`` asks this before it runs such a service, so a throttled save comes
    back as the person's form, everything typed, with ``WRITE_THROTTLED`` (429).
    """
    return _within("WRITE", "write", 1)


def _within(setting: str, scope: str, cost: int) -> bool:
    """Count ``cost`` against RATE_LIMIT_<setting>_PER_CLIENT and _PER_ACCOUNT (all or none)."""
    if not limiter.enabled or not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    strategy = limiter.limiter
    checks = [
        (item, f"{scope}-client", get_remote_address())
        for item in parse_many(current_app.config[f"RATE_LIMIT_{setting}_PER_CLIENT"])
    ] + [
        (item, f"{scope}-account", _person())
        for item in parse_many(current_app.config[f"RATE_LIMIT_{setting}_PER_ACCOUNT"])
    ]
    if not all(strategy.test(item, scope, key, cost=cost) for item, scope, key in checks):
        return False
    for item, scope, key in checks:
        strategy.hit(item, scope, key, cost=cost)
    return True


WRITE_THROTTLED = (
    "You are saving faster than the portal allows, so this was not saved. Nothing you typed is "
    "lost: wait a minute and save again."
)


PREVIEW_THROTTLED = (
    "You have previewed a lot in a short time, so this preview was not drawn. Nothing you typed "
    "is lost: wait a minute and preview again, or save."
)


def retry_after_seconds() -> int | None:
    """Seconds until the limit this request broke lets it through again."""
    import time

    current = limiter.current_limit
    if current is None:
        return None
    return max(1, int(current.reset_at - time.time()))
