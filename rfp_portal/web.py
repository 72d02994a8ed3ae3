"""What every page shares: log-in, CSRF, error pages, security headers, template helpers."""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime

from flask import Flask, abort, current_app, render_template, request
from flask_limiter.errors import RateLimitExceeded
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import Markup
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

from rfp_portal import search
from rfp_portal.db import get_session, utcnow
from rfp_portal.models.claim import ClaimPolicy

ERROR_TITLES = {
    400: "That request could not be understood",
    403: "You cannot do that",
    404: "Not found",
    405: "That is not allowed here",
    413: "That is too large",
    422: "That could not be processed",
    429: "Too many requests",
    500: "Something went wrong on our side",
}
ERROR_HELP = {
    400: "Something in the request was malformed. Please go back and try again.",
    403: "This belongs to someone else, or needs a role you do not have.",
    404: "There is nothing at this address. It may have been mistyped or removed.",
    405: "This address does not accept that kind of request.",
    413: "What you sent is larger than the portal accepts. Please send something smaller.",
    500: "The error has been logged. Please try again in a moment; what you saved before is safe.",
}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)

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


def render_error(code: int, description: str | None = None):
    title = ERROR_TITLES.get(code, "Something went wrong")
    return (
        render_template(
            "error.html", code=code, title=title, description=description or ERROR_HELP.get(code)
        ),
        code,
    )


def _handle_http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    # abort(404, description=…) carries a message for people; werkzeug's defaults are replaced.
    custom = error.description if error.description != type(error).description else None
    from rfp_portal.api.errors import is_api_request, json_error

    if is_api_request():  # programs get JSON, whatever went wrong and wherever under /api/
        message = custom or ERROR_HELP.get(error.code) or error.description or error.name
        allow = error.valid_methods if error.code == 405 else None
        return json_error(error.code, message, allow=allow)
    response = render_error(error.code, custom)
    if error.code == 405 and error.valid_methods:
        return (*response, {"Allow": ", ".join(error.valid_methods)})
    return response


def _handle_too_many_requests(error):
    """429 with a clear message and ``Retry-After`` (Flask-Limiter adds the header)."""
    from rfp_portal.limits import retry_after_seconds

    wait = retry_after_seconds()
    when = (
        f"in about {wait} seconds"
        if wait and wait < 120
        else (f"in about {round(wait / 60)} minutes" if wait else "in a little while")
    )
    message = (
        f"You have tried this too often in a short time. This protects everyone from spam and "
        f"password guessing. Please try again {when}; nothing you saved is lost."
    )
    response = current_app.make_response(render_error(429, message))
    if wait:
        response.headers["Retry-After"] = str(wait)
    return response


def _handle_untrusted_host(error: SecurityError):
    """A Host outside TRUSTED_HOSTS: no page can be built for it (links need a host)."""
    return (
        "400 Bad Request: this portal does not answer to that host name.\n",
        400,
        {"Content-Type": "text/plain; charset=utf-8"},
    )


def _handle_csrf_error(error: CSRFError):
    return render_error(
        400,
        "This form had expired or did not come from this site, so nothing was changed. "
        "Please go back, reload the page and send it again.",
    )


def _handle_server_error(error: InternalServerError):
    # The request's transaction may be broken; the error page must not trip over it.
    get_session().rollback()
    from rfp_portal.api.errors import is_api_request, json_error

    if is_api_request():
        return json_error(500, f"{ERROR_TITLES[500]}. {ERROR_HELP[500]}")
    return render_error(500)


def _refuse_nul_in_address():
    """A NUL byte in the path or query is never meaningful; PostgreSQL cannot even compare it."""
    if "\x00" in request.path or any(
        "\x00" in key + value for key, value in request.args.items(multi=True)
    ):
        abort(400, description="The address contains a character that is not allowed.")


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def now() -> datetime:
    """The current time; tests set CLOCK in the config to control it."""
    return current_app.config.get("CLOCK", utcnow)()


def claim_policy() -> ClaimPolicy:
    config = current_app.config
    return ClaimPolicy(
        checkin_days=config["CLAIM_CHECKIN_DAYS"],
        expire_days=config["CLAIM_EXPIRE_DAYS"],
        per_person=config["MAX_ACTIVE_CLAIMS"],
    )


def _template_globals() -> dict:
    """What every page may ask: the time, the claim rules, and the reader's unread count."""
    from flask_login import current_user

    from rfp_portal.services.notifications import unread_count

    unread = 0
    if current_user.is_authenticated:
        from rfp_portal.page_cache import kept

        # A notification appears, or is read, only by a write, which moves the generation.
        unread = int(
            kept(
                "unread notifications",
                current_user.id,
                make=lambda: str(unread_count(get_session(), current_user)),
            )
        )
    return {"now": now(), "policy": claim_policy(), "unread_notifications": unread}


COMMUNITY_ZONE = "America/Los_Angeles"


def _time_element(value: datetime, zone: str, *, announced: bool) -> Markup:
    """<time datetime="UTC">wall time in ``zone`` / UTC</time>; static/localtime.js shows the
    reader's own time zone, and without JavaScript the text reads correctly as it is."""
    from zoneinfo import ZoneInfo

    local = value.astimezone(ZoneInfo(zone))
    utc = value.astimezone(UTC)
    utc_text = f"{utc:%H:%M}" if local.date() == utc.date() else f"{utc:%Y-%m-%d %H:%M}"
    text = f"{local:%Y-%m-%d %H:%M} {local.tzname()} / {utc_text} UTC"
    return Markup('<time class="local-time" datetime="{}"{}>{}</time>').format(
        utc.isoformat(timespec="seconds"), Markup(" data-announced") if announced else "", text
    )


def time_tag(value: datetime | None) -> Markup:
    """Any timestamp, in Pacific time (as the community speaks) and UTC."""
    return Markup("") if value is None else _time_element(value, COMMUNITY_ZONE, announced=False)


def jam_time(value: datetime, zone: str = COMMUNITY_ZONE) -> Markup:
    """A Jam's start as announced (in its own zone) and in UTC.

    e.g. <time … datetime="2021-08-04T23:00:00+00:00" …>2021-08-04 16:00 PDT / 23:00 UTC</time>
    """
    return _time_element(value, zone, announced=True)


XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value) -> str:
    """Plain text without the characters XML 1.0 forbids (autoescaping then escapes it once)."""
    return XML_INVALID.sub("", str(value))


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def init_app(app: Flask) -> None:
    from rfp_portal.limits import limiter

    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    app.register_error_handler(CSRFError, _handle_csrf_error)
    app.register_error_handler(SecurityError, _handle_untrusted_host)
    app.register_error_handler(RateLimitExceeded, _handle_too_many_requests)
    app.register_error_handler(InternalServerError, _handle_server_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.before_request(_refuse_nul_in_address)
    app.after_request(_security_headers)
    if app.config.get("PROXY_COUNT"):
        # Behind a reverse proxy: trust its X-Forwarded-* headers, so HTTPS is seen as HTTPS.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.jinja_env.filters["time"] = time_tag
    app.jinja_env.filters["jam_time"] = jam_time
    app.jinja_env.filters["highlight"] = search.highlight
    app.jinja_env.filters["excerpt"] = search.excerpt
    app.jinja_env.filters["xml_text"] = xml_text
    app.jinja_env.filters["rfc3339"] = rfc3339
    app.context_processor(_template_globals)
