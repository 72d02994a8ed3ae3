"""Fixtures for the real-browser tests: Debian's Chromium and the portal on a real local server."""

from __future__ import annotations

import fcntl
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from rfp_portal import create_app

CHROMIUM = Path("/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Launch the system Chromium (Playwright's own download is never installed here)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found; `make test` installs Debian's chromium package"
        if IN_CI:
            pytest.fail(message + " — with CI=true this is an error, not a skip", pytrace=False)
        pytest.skip(message)
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@dataclass(frozen=True)
class LiveServer:
    """A portal being served: its base URL, and the app object (for setting up data directly)."""

    url: str
    app: Flask


@contextmanager
def _serve(tmp: Path, template: Path) -> Iterator[str]:
    """The portal on a new SQLite database in ``tmp``, served on a free loopback port."""
    with _serve_app(tmp, template) as server:
        yield server.url


@contextmanager
def _serve_app(tmp: Path, template: Path) -> Iterator[LiveServer]:
    """Like ``_serve``, but yields the app too. The database is a copy of ``template``."""
    shutil.copyfile(template, tmp / "browser.db")
    url = f"sqlite:///{tmp / 'browser.db'}"
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "browser-test", "INSTANCE_PATH": str(tmp / "instance")}
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        app.extensions["rfp_db"]["engine"].dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, sqlite_template) -> Iterator[str]:
    """The portal on SQLite, served by werkzeug on a free loopback port; yields its base URL."""
    with _serve(tmp_path_factory.mktemp("browser"), sqlite_template) as url:
        yield url


@pytest.fixture
def own_live_server(tmp_path_factory, sqlite_template) -> Iterator[str]:
    """Another portal with an empty database of its own, for this test only.

    For a test whose RFPs must not show up in the listings the other browser tests check (they
    expect to find only their own RFP there).
    """
    with _serve(tmp_path_factory.mktemp("browser-own"), sqlite_template) as url:
        yield url


@pytest.fixture
def own_live_app(tmp_path_factory, sqlite_template) -> Iterator[LiveServer]:
    """Like ``own_live_server`` (an empty database for this test only), with the app as well.

    For a test that must put something in the database directly, e.g. an organiser's account.
    """
    with _serve_app(tmp_path_factory.mktemp("browser-own"), sqlite_template) as server:
        yield server


@pytest.fixture(scope="session")
def base_url(live_server: str) -> str:
    """pytest-playwright gives every browser context this base URL, so ``page.goto("/login")``."""
    return live_server


@pytest.fixture(scope="session")
def artifacts_dir(request) -> Path:
    """Where the screenshots go (gitignored); those of an earlier run are removed first.

    With pytest-xdist each worker has this fixture; the first one of the run (whose id is kept
    in a stamp file, read and written under a lock) removes them, the others leave them alone.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    run = getattr(request.config, "workerinput", {}).get("testrunuid") or uuid.uuid4().hex
    with open(ARTIFACTS / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = ARTIFACTS / ".run"
        if not stamp.exists() or stamp.read_text() != run:
            for old in ARTIFACTS.glob("*.png"):
                old.unlink()
            stamp.write_text(run)
    return ARTIFACTS
