"""RFP Portal: the home of Requests for Plot for the ML Collective's Open Collab community."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from rfp_portal.paths import resource_dir

__all__ = ["create_app"]


class IdConverter(IntegerConverter):
    """A database id in a URL: a positive integer that fits a 32-bit column (else 404, not 500)."""

    def __init__(self, url_map, **kwargs):
        super().__init__(url_map, min=1, max=2**31 - 1)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the portal.

    :param config: settings that win over the environment (tests pass DATABASE_URL, SECRET_KEY …);
        ``INSTANCE_PATH`` there or in the environment moves the instance folder.
    """
    config = dict(config or {})
    instance_path = config.pop("INSTANCE_PATH", None) or os.environ.get("INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance_path) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
    )
    os.makedirs(app.instance_path, exist_ok=True)

    from rfp_portal.config import from_environment

    app.config.update(from_environment(Path(app.instance_path), config))
    app.debug = bool(app.config.get("DEBUG"))
    app.url_map.converters["id"] = IdConverter

    from rfp_portal import db

    db.init_app(app)

    from rfp_portal import web

    web.init_app(app)

    from rfp_portal.admin.routes import bp as admin_bp
    from rfp_portal.api.routes import bp as api_bp
    from rfp_portal.auth.routes import bp as auth_bp
    from rfp_portal.claims.routes import bp as claims_bp
    from rfp_portal.comments.routes import bp as comments_bp
    from rfp_portal.events.routes import bp as events_bp
    from rfp_portal.jams.routes import bp as jams_bp
    from rfp_portal.main.routes import bp as main_bp
    from rfp_portal.plots.routes import bp as plots_bp
    from rfp_portal.rfps.routes import bp as rfps_bp
    from rfp_portal.users.routes import bp as users_bp

    for blueprint in (
        main_bp,
        auth_bp,
        rfps_bp,
        plots_bp,
        claims_bp,
        comments_bp,
        jams_bp,
        events_bp,
        users_bp,
        admin_bp,
        api_bp,
    ):
        app.register_blueprint(blueprint)

    from rfp_portal import page_cache

    page_cache.init_app(app)

    from rfp_portal import cli

    cli.init_app(app)
    return app
