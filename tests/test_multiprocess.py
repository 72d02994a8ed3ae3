"""Two app processes on one database: a write on one is seen on the other at once, caches included.

Each process is a real gunicorn server with its own page cache, as two hosts behind a proxy
would be; they share only the database, the secret key and the upload folder.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from rfp_portal import migrate
from rfp_portal.services.accounts import register_user
from tests.conftest import PASSWORD

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Host:
    """One gunicorn process serving the portal, and a browser-like client for it."""

    def __init__(self, env: dict, log: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{self.port}",
             "rfp_portal:create_app()"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.get("/healthz").status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"the server did not start; see {log}")
            time.sleep(0.1)

    def new_reader(self) -> Host:
        """Another, logged-out client of the same server."""
        reader = Host.__new__(Host)
        reader.url, reader.cookies = self.url, http.cookiejar.CookieJar()
        reader.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(reader.cookies), _NoRedirect()
        )
        return reader

    def get(self, path: str):
        response = self.opener.open(self.url + path, timeout=10)
        response.text = response.read().decode()
        return response

    def post(self, path: str, fields: dict, form_path: str):
        token = CSRF.search(self.get(form_path).text).group(1)
        data = urllib.parse.urlencode({**fields, "csrf_token": token}).encode()
        request = urllib.request.Request(  # noqa: S310 - a loopback http URL made above
            self.url + path, data=data, headers={"Referer": self.url + form_path}
        )
        try:
            return self.opener.open(request, timeout=10)
        except urllib.error.HTTPError as response:
            return response

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _redirected(response) -> bool:
    return response.status in (302, 303)


@pytest.fixture(params=["postgresql", "sqlite"])
def shared_database(request, tmp_path) -> str:
    """An empty database with the schema made by the migrations."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        server = request.getfixturevalue("postgres_url")
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        name = f"multi_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = sa.make_url(server).set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(url)
    migrate.upgrade(engine)
    with sa.orm.Session(engine) as session:
        register_user(
            session, username="ada", email="ada@example.org", display_name="Ada", password=PASSWORD
        )
        register_user(
            session, username="jun", email="jun@example.org", display_name="Jun", password=PASSWORD
        )
        session.commit()
    engine.dispose()
    return url


LAG = 1.0  # PAGE_CACHE_LAG_SECONDS: how late the listing may be after a write


def test_a_write_on_one_host_is_seen_on_the_other_at_once(shared_database, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": shared_database,
        "SECRET_KEY": "shared-between-hosts",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "RATELIMIT_DISABLED": "1",
        "PAGE_CACHE_LAG_SECONDS": str(LAG),
    }
    first = Host(env, tmp_path / "first.log")
    second = Host(env, tmp_path / "second.log")
    try:
        # Both hosts keep the listing in their page caches.
        for host in (first, second):
            host.get("/rfps")
            assert host.get("/rfps").headers["X-Page-Cache"] == "hit"
            assert "Scaling across hosts" not in host.get("/rfps").text

        # Ada submits an RFP on the first host ...
        assert _redirected(first.post("/login", {"login": "ada", "password": PASSWORD}, "/login"))
        fields = {
            "title": "Scaling across hosts",
            "summary": "One write, two caches.",
            "big_picture": "Why caches must not go stale.",
            "first_plot": "Requests on the x axis.",
            "tags": "caching",
            "difficulty": "beginner",
            "compute": "laptop",
            "claim_cap": "",
            "no_plot_yet": "y",
        }
        created = first.post("/rfps/new", fields, "/rfps/new")
        assert _redirected(created), created.read()[:500]
        rfp_path = urllib.parse.urlsplit(created.headers["Location"]).path

        # ... and the second host's very next request for its page shows it; the pages that
        # sum up the site (listing, search, API listing) show it once the lag has passed.
        written_at = time.monotonic()
        assert "Scaling across hosts" in second.get(rfp_path).text
        assert "Scaling across hosts" in second.get(f"/api/v1{rfp_path}").text
        time.sleep(max(0.0, LAG - (time.monotonic() - written_at)))
        listing = second.get("/rfps")
        assert listing.headers["X-Page-Cache"] == "miss"
        assert "Scaling across hosts" in listing.text
        assert "Scaling across hosts" in second.get("/rfps?q=caches").text
        assert "Scaling across hosts" in second.get("/api/v1/rfps").text

        # The other way round: Jun wants it on the second host; a visitor of the first host,
        # whose copy of the page is cached, sees the count on the next request.
        visitor = first.new_reader()
        visitor.get(rfp_path)
        assert visitor.get(rfp_path).headers["X-Page-Cache"] == "hit"
        assert _redirected(second.post("/login", {"login": "jun", "password": PASSWORD}, "/login"))
        wanted = second.post(f"{rfp_path}/want", {"want": "yes"}, rfp_path)
        assert _redirected(wanted)
        page = visitor.get(rfp_path)
        assert page.headers["X-Page-Cache"] == "miss"
        assert "<strong>1</strong> person wants this plot" in page.text
    finally:
        first.stop()
        second.stop()
