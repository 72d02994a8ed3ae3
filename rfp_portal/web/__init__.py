"""What every request shares, one module per concern:

- ``extensions``: CSRF protection and log-in (who the request is from);
- ``errors``: error pages, and JSON errors under ``/api/``;
- ``security``: headers on every response, addresses refused outright, the proxy in front;
- ``filters``: template filters (times, XML text);
- ``context``: the request's clock and claim rules, and what every template may ask;
- ``views``: what views share — load-or-404 and running a service (``perform``).
"""

from __future__ import annotations

from flask import Flask

from rfp_portal.web import context, errors, extensions, filters, security


def init_app(app: Flask) -> None:
    extensions.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    filters.init_app(app)
    context.init_app(app)
