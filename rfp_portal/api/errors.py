"""Errors as the API speaks them: ``{"error": {"status": 404, "message": "…"}}``.

``rfp_portal.web`` sends every error under ``/api/`` here, so an unknown address, a wrong
method, a bad parameter and a failure of ours all answer in JSON, never with an HTML page.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response, jsonify, request


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def json_error(status: int, message: str, *, allow: Iterable[str] | None = None) -> Response:
    """An error response; ``allow`` lists the methods a 405 names in its ``Allow`` header."""
    response = jsonify({"error": {"status": status, "message": message}})
    response.status_code = status
    if allow:
        response.headers["Allow"] = ", ".join(allow)
    return response
