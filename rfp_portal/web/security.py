"""What protects every response: security headers, refused addresses, the proxy in front."""

from __future__ import annotations

from flask import Flask, abort, request

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def _refuse_nul_in_address():
    """A NUL byte in the path or query is never meaningful; PostgreSQL cannot even compare it."""
    if "\x00" in request.path or any(
        "\x00" in key + value for key, value in request.args.items(multi=True)
    ):
        abort(400, description="The address contains a character that is not allowed.")


# The longest address (path and query) the portal reads. gunicorn's own limit on the request
# line is set higher (Procfile, README), so a longer address reaches the app and gets the app's
# answer (JSON under /api/) rather than gunicorn's HTML page.
ADDRESS_MAX = 4096


def _refuse_long_address():
    environ = request.environ
    if len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", "")) > ADDRESS_MAX:
        abort(414)


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def init_app(app: Flask) -> None:
    app.before_request(_refuse_long_address)
    app.before_request(_refuse_nul_in_address)
    app.after_request(_security_headers)
    if app.config.get("PROXY_COUNT"):
        # Behind a reverse proxy: trust its X-Forwarded-* headers, so HTTPS is seen as HTTPS.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
