"""Error pages for people, JSON errors for programs under ``/api/``; never a bare traceback."""

from __future__ import annotations

from flask import Flask, current_app, render_template
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

from rfp_portal.api.errors import is_api_request, json_error
from rfp_portal.db import get_session

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
    if is_api_request():  # programs get JSON, whatever went wrong and wherever under /api/
        message = custom or ERROR_HELP.get(error.code) or error.description or error.name
        allow = error.valid_methods if error.code == 405 else None
        return json_error(error.code, message, allow=allow)
    response = render_error(error.code, custom)
    if error.code == 405 and error.valid_methods:
        return (*response, {"Allow": ", ".join(error.valid_methods)})
    return response


def _handle_too_many_requests(error):
    """429 with a clear message and ``Retry-After`` (Flask-Limiter adds the header).

    A limit with its own answer (``on_breach``, such as the registration form shown again with
    what was typed) gives it in ``error.response``; the others get the error page.
    """
    from rfp_portal.limits import retry_after_seconds, when_to_retry

    wait = retry_after_seconds()
    if error.response is not None:
        response = error.response
    else:
        message = (
            f"You have tried this too often in a short time. This protects everyone from spam "
            f"and password guessing. Please try again {when_to_retry(wait)}; nothing you saved "
            f"is lost."
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
    if is_api_request():
        return json_error(500, f"{ERROR_TITLES[500]}. {ERROR_HELP[500]}")
    return render_error(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _handle_csrf_error)
    app.register_error_handler(SecurityError, _handle_untrusted_host)
    app.register_error_handler(RateLimitExceeded, _handle_too_many_requests)
    app.register_error_handler(InternalServerError, _handle_server_error)
    app.register_error_handler(HTTPException, _handle_http_error)
