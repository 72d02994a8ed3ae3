"""Error pages for people, JSON errors for programs under ``/api/``; never a bare traceback."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, render_template
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

from rfp_portal.api.errors import is_api_request, json_error
from rfp_portal.db import get_session, is_busy

ERROR_TITLES = {
    400: "That request could not be understood",
    403: "You cannot do that",
    404: "Not found",
    405: "That is not allowed here",
    413: "That is too large",
    414: "That address is too long",
    422: "That could not be processed",
    429: "Too many requests",
    500: "Something went wrong on our side",
    503: "The portal is busy",
    507: "Storage is full",
}
ERROR_HELP = {
    400: "Something in the request was malformed. Please go back and try again.",
    403: "This belongs to someone else, or needs a role you do not have.",
    404: "There is nothing at this address. It may have been mistyped or removed.",
    405: "This address does not accept that kind of request.",
    413: "What you sent is larger than the portal accepts. Please send something smaller.",
    414: "The address is longer than the portal reads. Please shorten the search or the filters.",
    500: "The error has been logged. Please try again in a moment; what you saved before is safe.",
    503: "The portal is busy, please try again in a moment. Nothing was changed.",
    507: "Storage is full: nothing was saved. Please try again later or tell an admin.",
}
RETRY_AFTER_BUSY = "5"  # seconds, when the database was busy (503)


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
    if error.code == 503:
        return (*response, {"Retry-After": RETRY_AFTER_BUSY})
    return response


def _handle_database_error(error: OperationalError):
    """A busy database outside ``perform`` (a page read while a lock is held too long): 503
    with ``Retry-After``; any other database failure is a 500."""
    if not is_busy(error):
        raise error
    get_session().rollback()
    if is_api_request():
        response = json_error(503, ERROR_HELP[503])
    else:
        response = current_app.make_response(render_error(503))
    response.headers["Retry-After"] = RETRY_AFTER_BUSY
    return response


def _answer_unavailable(response: Response) -> Response:
    """``perform`` could not save (busy database, full disk) and the view showed the person's
    form again: answer with the status that says so (503 + Retry-After, or 507), not 422.
    A view that redirected instead would lose what was typed: it gets the error page."""
    unavailable = g.pop("unavailable", None)
    if unavailable is None:
        return response
    status, headers = unavailable
    if 300 <= response.status_code < 400:
        response = current_app.make_response(render_error(status))
    if response.status_code < 300 or response.status_code in (status, 422):
        response.status_code = status
        response.headers.update(headers)
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
    app.register_error_handler(OperationalError, _handle_database_error)
    app.after_request(_answer_unavailable)
