"""Fixtures: an app on SQLite and on PostgreSQL, a CSRF-aware client, factories, a query counter."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from rfp_portal import create_app, search
from rfp_portal.db import Base, get_session
from rfp_portal.models import Compute, Difficulty, Role, User
from rfp_portal.services.rfps import RfpDraft, submit_rfp
from tests.postgres import ThrowawayPostgres, find_pg_bin

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PASSWORD = "correct horse battery"
FAST_HASH = "pbkdf2:sha256:1000"  # the portal uses scrypt; tests need not wait for it


# -- databases ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server: TEST_POSTGRES_URL if given, else a throwaway one started here."""
    given = os.environ.get("TEST_POSTGRES_URL")
    if given:
        yield given
        return
    pg_bin = find_pg_bin()
    if pg_bin is None:
        message = "PostgreSQL server binaries (initdb) not found; `make test` installs them"
        if IN_CI:
            pytest.fail(message + " — with CI=true this is an error, not a skip")
        pytest.skip(message)
    server = ThrowawayPostgres(pg_bin)
    try:
        yield server.start()
    finally:
        server.stop()


def create_schema(engine: sa.Engine) -> None:
    """The models' tables and the search index (what the migrations make, made faster)."""
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        search.create_tables(conn)


@pytest.fixture(scope="session")
def postgres_engine(postgres_url) -> Iterator[sa.Engine]:
    """An empty database with the models' schema, made once per session."""
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = f"rfp_test_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(postgres_url).set(database=name)
    engine = sa.create_engine(url)
    create_schema(engine)
    yield engine
    engine.dispose()
    admin.dispose()


def _truncate_all(engine: sa.Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    """The URL of an empty database with the current schema, on each engine in turn."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        engine = sa.create_engine(url)
        create_schema(engine)
        engine.dispose()
        yield url
    else:
        engine = request.getfixturevalue("postgres_engine")
        _truncate_all(engine)
        yield engine.url.render_as_string(hide_password=False)


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "TESTING": True,
            "RFPS_PER_PAGE": 5,
            "DATABASE_POOL_SIZE": 25,  # the concurrency tests hold twenty connections at once
            "RATELIMIT_ENABLED": False,  # tests/test_limits.py turns throttling on
        }
    )
    yield app
    app.extensions["rfp_db"]["engine"].dispose()


# -- a controlled clock ------------------------------------------------------------------------

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app) -> Clock:
    clock = Clock(START)
    app.config["CLOCK"] = clock
    return clock


# -- web client --------------------------------------------------------------------------------

CSRF_INPUT = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


class Web:
    """The test client with CSRF on: posts carry the token a real page handed out."""

    def __init__(self, client) -> None:
        self.client = client

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def csrf_token(self, url: str | None = None) -> str:
        """The token from ``url``, or from whichever page has a form (log-in page or the header)."""
        for candidate in filter(None, (url, "/login", "/")):
            match = CSRF_INPUT.search(self.client.get(candidate).get_data(as_text=True))
            if match:
                return match.group(1) or match.group(2)
        raise AssertionError("no page handed out a CSRF token")

    def post(
        self,
        url: str,
        data: dict | None = None,
        *,
        csrf: bool = True,
        form_url: str | None = None,
        **kwargs,
    ):
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.csrf_token(form_url)
        return self.client.post(url, data=data, **kwargs)

    def login(self, username: str, password: str = PASSWORD, **extra):
        return self.post("/login", {"login": username, "password": password, **extra})

    def logout(self):
        return self.post("/logout", form_url="/")


@pytest.fixture
def web(app) -> Web:
    return Web(app.test_client())


# -- factories ---------------------------------------------------------------------------------


@dataclass
class Factory:
    app: object
    counter: list = field(default_factory=lambda: [0])

    def _next(self) -> int:
        self.counter[0] += 1
        return self.counter[0]

    def user(
        self, username: str | None = None, *, role: Role = Role.MEMBER, password: str = PASSWORD
    ) -> User:
        n = self._next()
        username = username or f"person{n}"
        with self.app.app_context():
            session = get_session()
            user = User(
                username=username.lower(),
                email=f"{username.lower()}@example.org",
                display_name=f"Person {username}",
                role=role,
                password_hash=generate_password_hash(password, FAST_HASH),
            )
            session.add(user)
            session.commit()
            session.refresh(user)
            session.expunge(user)
            return user

    def rfp(self, author: User, **overrides):
        n = self._next()
        values = dict(
            title=f"RFP number {n}",
            summary=f"Summary of RFP {n}",
            big_picture=f"Big picture {n}",
            first_plot=f"First plot {n}",
            tags=["testing"],
            difficulty=Difficulty.BEGINNER,
            compute=Compute.LAPTOP,
            claim_cap=None,
        )
        values.update(overrides)
        with self.app.app_context():
            session = get_session()
            rfp = submit_rfp(session, author=session.get(User, author.id), draft=RfpDraft(**values))
            session.commit()
            rfp_id = rfp.id
        return rfp_id


@pytest.fixture
def make(app) -> Factory:
    return Factory(app)


# -- query counting ----------------------------------------------------------------------------


@pytest.fixture
def count_queries(app):
    """``with count_queries() as q: …`` then ``q.count`` is the number of SQL statements run.

    The page cache is emptied first: the count is of rendering the page, not of serving a copy.
    """

    @contextmanager
    def counter():
        app.extensions["page_cache"].clear()
        engine = app.extensions["rfp_db"]["engine"]
        box = type("Count", (), {"count": 0, "statements": []})()

        def on_execute(conn, cursor, statement, *args):
            box.count += 1
            box.statements.append(statement)

        sa.event.listen(engine, "before_cursor_execute", on_execute)
        try:
            yield box
        finally:
            sa.event.remove(engine, "before_cursor_execute", on_execute)

    return counter


# -- the summary line that says where the tests ran ---------------------------------------------


def _where(nodeid: str) -> str:
    if nodeid.startswith("tests/browser/"):
        return "browser (Chromium)"
    params = nodeid.partition("[")[2]
    for name in ("postgresql", "sqlite"):
        if name in params.rstrip("]").split("-"):
            return name
    return "no database"


def pytest_terminal_summary(terminalreporter) -> None:
    counts: dict[str, dict[str, int]] = {}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") not in ("call", "setup") or not hasattr(
                report, "nodeid"
            ):
                continue
            if outcome == "passed" and report.when != "call":
                continue
            where = counts.setdefault(_where(report.nodeid), {})
            where[outcome] = where.get(outcome, 0) + 1
    if counts:
        terminalreporter.section("where the tests ran")
        for where, outcomes in sorted(counts.items()):
            line = ", ".join(f"{n} {outcome}" for outcome, n in outcomes.items())
            terminalreporter.write_line(f"{where:20s} {line}")
