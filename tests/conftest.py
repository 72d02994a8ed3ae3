"""Fixtures: an app on SQLite and on PostgreSQL, a CSRF-aware client, factories, a query counter.

Each test still gets a database and an app of its own; what makes that cheap:

- the schema is built once per session and engine: a SQLite test gets a copy of a template file,
  a PostgreSQL test the session's shared database, emptied (rows deleted, sequences restarted);
- an app reuses the URL builders and compiled templates of the apps before it (code, not state);
- a client reuses the CSRF token a page handed out for as long as its session holds the secret.
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jinja2
import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from itsdangerous import BadSignature
from werkzeug.routing.rules import Rule
from werkzeug.security import generate_password_hash

from rfp_portal import create_app, search
from rfp_portal.db import Base, get_session
from rfp_portal.models import Compute, Difficulty, Role, User
from rfp_portal.rendering import images, markdown, sketch
from rfp_portal.services.rfps import RfpDraft, submit_rfp
from tests.postgres import ThrowawayPostgres, find_pg_bin

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PASSWORD = "correct horse battery"
FAST_HASH = "pbkdf2:sha256:1000"  # the portal uses scrypt; tests need not wait for it
ENGINES = ("sqlite", "postgresql")


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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that uses ``database_url`` runs once per engine, unless it says otherwise.

    ``@pytest.mark.engine_independent`` (on a test or a module) runs it on SQLite only: for
    checks of rendering, parsing and headers, where the database only stores what is checked and
    the same storing is tested on both engines elsewhere. A test may also name its engines with
    ``@pytest.mark.parametrize("database_url", [...], indirect=True)``.
    """
    if "database_url" not in metafunc.fixturenames:
        return
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0]
        if "database_url" in (
            names.replace(" ", "").split(",") if isinstance(names, str) else names
        ):
            return
    one = metafunc.definition.get_closest_marker("engine_independent") is not None
    metafunc.parametrize("database_url", ENGINES[:1] if one else ENGINES, indirect=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file with the schema, made once per session; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    create_schema(engine)
    engine.dispose()
    return path


@dataclass
class PostgresDatabases:
    """The session's databases on the PostgreSQL server, all with the schema.

    ``template`` is made once and never connected to again, so new databases can be copied from
    it; ``shared`` is one such copy that the tests use in turn, emptied before each.
    """

    admin: sa.Engine  # connected to the server's own database, for CREATE and DROP DATABASE
    template: str
    empty_sql: str
    shared: sa.Engine | None = None
    made: list[str] = field(default_factory=list)  # dropped at the end (TEST_POSTGRES_URL)

    def empty_shared(self) -> str:
        """Delete every row and restart every sequence, in ~2 ms; the URL of the shared database.

        As empty as a new database, except for the planner's statistics (see ``create``).
        TRUNCATE takes ~150 ms for the 15 tables and a copy of the template ~230 ms; ``setval``
        restarts a sequence where ``ALTER SEQUENCE … RESTART`` takes ~40 ms.
        """
        with self.shared.begin() as conn:
            conn.exec_driver_sql(self.empty_sql)
        return self.shared.url.render_as_string(hide_password=False)

    def create(self, template: str | None = None) -> str:
        """A new database copied from ``template`` (~230 ms); by default the empty schema's.

        Not even the planner's statistics are shared with the other tests.
        """
        name = f"rfp_test_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.execute(
                sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template or self.template}"')
            )
        self.made.append(name)
        url = sa.make_url(self.admin.url).set(database=name)
        return url.render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = sa.make_url(url).database
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        self.made.remove(name)


def _empty_sql(conn: sa.Connection) -> str:
    """One round trip that deletes every row, children before parents, and restarts sequences."""
    in_models = [table.name for table in reversed(Base.metadata.sorted_tables)]
    every = conn.execute(
        sa.text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    ).scalars()
    # The search index, made beside the models, only refers to their rows: it goes first.
    order = [*sorted(set(every) - set(in_models)), *in_models]
    sequences = conn.execute(
        sa.text("SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences")
    ).scalars()
    statements = [f'DELETE FROM "{name}"' for name in order]  # noqa: S608 - the schema's names
    statements.append("SELECT " + ", ".join(f"setval('{name}', 1, false)" for name in sequences))
    return "; ".join(statements)


@pytest.fixture(scope="session")
def postgres_databases(postgres_url) -> Iterator[PostgresDatabases]:
    """The template with the models' schema, made once per session, and the shared copy."""
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    template = f"rfp_template_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{template}"'))
    engine = sa.create_engine(sa.make_url(postgres_url).set(database=template))
    create_schema(engine)
    with engine.connect() as conn:
        empty_sql = _empty_sql(conn)
    engine.dispose()
    databases = PostgresDatabases(admin, template, empty_sql)
    databases.shared = sa.create_engine(databases.create())
    yield databases
    databases.shared.dispose()
    for name in [*databases.made, template]:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass(frozen=True)
class DemoData:
    """What ``flask demo-data`` made: a database to copy and the upload files its plots use."""

    database: str  # a SQLite file, or a PostgreSQL database to use as a template
    uploads: Path


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Callable[[pytest.FixtureRequest, str], DemoData]:
    """``demo_data(request, engine)``: the demo data on ``engine``, loaded once per session.

    Loading it draws a dozen sketches and hashes passwords with scrypt (~5 s); the tests that
    only look at it (``@pytest.mark.demo_data``) get a copy instead.
    """
    loaded: dict[str, DemoData] = {}

    def on(request: pytest.FixtureRequest, engine: str) -> DemoData:
        if engine not in loaded:
            root = tmp_path_factory.mktemp(f"demo-{engine}")
            if engine == "sqlite":
                database = str(root / "demo.db")
                shutil.copyfile(request.getfixturevalue("sqlite_template"), database)
                url = f"sqlite:///{database}"
            else:
                url = request.getfixturevalue("postgres_databases").create()
                database = sa.make_url(url).database
            app = create_app(
                {"DATABASE_URL": url, "SECRET_KEY": "demo", "INSTANCE_PATH": str(root / "app")}
            )
            result = app.test_cli_runner().invoke(args=["demo-data"])
            app.extensions["rfp_db"]["engine"].dispose()  # a template has no one connected
            assert result.exit_code == 0, result.output
            loaded[engine] = DemoData(database, Path(app.config["UPLOAD_FOLDER"]))
        return loaded[engine]

    return on


@pytest.fixture
def database_url(request, tmp_path) -> Iterator[str]:
    """The URL of an empty database with the current schema, on the engine the test runs on.

    ``@pytest.mark.fresh_database``: on PostgreSQL, a new database rather than the shared one
    emptied, for a test whose result follows the planner's statistics that earlier tests leave.
    (Each SQLite test gets a new copy of the template file anyway.)
    ``@pytest.mark.demo_data``: a new database holding the demo data (the ``app`` fixture adds
    the upload files).
    """
    demo = request.node.get_closest_marker("demo_data") is not None
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        source = request.getfixturevalue("demo_data")(request, "sqlite").database if demo else None
        shutil.copyfile(source or request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    databases = request.getfixturevalue("postgres_databases")
    if not demo and request.node.get_closest_marker("fresh_database") is None:
        yield databases.empty_shared()
        return
    template = (
        request.getfixturevalue("demo_data")(request, "postgresql").database if demo else None
    )
    url = databases.create(template)
    yield url
    databases.drop(url)


# -- apps --------------------------------------------------------------------------------------


def _compile_url_builders_once_per_process() -> None:
    """Let every test's app reuse the URL builders the first app compiled.

    Werkzeug compiles two small Python functions for each URL rule when an app registers its
    blueprints: ~40 of the ~50 ms ``create_app`` takes, and every test makes an app. Such a
    function is a pure product of the rule (its path, parameters and defaults; the converters
    are read from the rule it is bound to when it runs), so it is kept by exactly those and bound
    to each app's own rule object as before: no app state is shared.
    """
    compile_builder = Rule._compile_builder
    compiled: dict[tuple, object] = {}

    def compile_once(self: Rule, append_unknown: bool = True):
        defaults = self.defaults or {}
        key = (
            append_unknown,
            self.rule,
            tuple(self._trace),
            tuple(defaults),
            tuple(
                self._converters[k].to_url(v) for k, v in defaults.items() if k in self._converters
            ),
        )
        if key not in compiled:
            compiled[key] = compile_builder(self, append_unknown)
        return compiled[key]

    Rule._compile_builder = compile_once


_compile_url_builders_once_per_process()


class CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled by one app of the test process, for every later app to load.

    Each test has an app of its own, and each app's Jinja environment would compile every
    template it renders afresh (~15 ms each, most of a short test's time). Jinja keeps a
    compiled template by its name and checks it against a hash of the source, so an edited
    template is compiled again; every app here is made by the same ``create_app``, with the same
    Jinja settings, so the compiled code is the same for all of them. Only code is shared: each
    app still builds its own template objects, globals and filters from it.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


def share_compiled_templates(app: Flask) -> Flask:
    """``app``, loading the templates earlier apps compiled (see ``CompiledTemplates``)."""
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    return app


@pytest.fixture
def app(request, database_url, tmp_path):
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "TESTING": True,
            "RFPS_PER_PAGE": 5,
            "DATABASE_POOL_SIZE": 25,  # the concurrency tests hold twenty connections at once
            "RATELIMIT_ENABLED": False,  # tests/test_limits.py turns throttling on
            # Every page exact at once after a write (test_page_cache.py tests the lag).
            "PAGE_CACHE_LAG_SECONDS": 0,
        }
    )
    share_compiled_templates(app)
    if request.node.get_closest_marker("demo_data"):
        engine = "sqlite" if database_url.startswith("sqlite") else "postgresql"
        uploads = request.getfixturevalue("demo_data")(request, engine).uploads
        shutil.copytree(uploads, app.config["UPLOAD_FOLDER"], dirs_exist_ok=True)
    yield app
    app.extensions["rfp_db"]["engine"].dispose()


# -- the bounds on work done in child processes ------------------------------------------------


@pytest.fixture(autouse=True)
def bounds_for_the_test(request, monkeypatch) -> None:
    """Generous bounds on Markdown, sketches and images, unless the test is about the bounds.

    Long Markdown, sketches and uploads run in a child forked from the process that runs the
    tests, whose heap holds half a million objects late in a run. When Python's full garbage
    collection falls due in a child (as the parent's counters happen to stand at the fork), it
    walks that whole heap: ~0.75 s of processor time, all of a Markdown render's budget, so an
    ordinary text was refused (a 422) now and then, more often on a busy machine, which stretches
    the wall-time limits too. Tests of other things get limits no run comes near. Tests marked
    ``production_bounds`` keep the portal's limits, and their bodies start with a full collection
    (``pytest_runtest_call`` below), so that the child has no garbage to walk and measures the
    work alone.
    """
    if request.node.get_closest_marker("production_bounds"):
        return
    monkeypatch.setattr(markdown, "CPU_LIMIT", 10.0)
    for bounded in (markdown.render_markdown, sketch.draw_sketch, images.process_upload):
        monkeypatch.setitem(bounded.__kwdefaults__, "time_limit", 60.0)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """A test of the bounds starts with no garbage for a forked child to collect."""
    if item.get_closest_marker("production_bounds"):
        gc.collect()


# -- a controlled clock ------------------------------------------------------------------------

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """The time the whole process sees (time-machine), standing still until a test moves it.

    ``clock.now`` is the current time; ``clock.advance(days=…)`` moves it forward and
    ``clock.now = moment`` sets it. The portal, the factories and the live server threads all
    read it through ``datetime.now``; monotonic clocks (timeouts, the bounded child processes)
    are left alone.
    """

    def __init__(self, traveller: time_machine.Traveller) -> None:
        self._traveller = traveller

    @property
    def now(self) -> datetime:
        return datetime.now(UTC)

    @now.setter
    def now(self, moment: datetime) -> None:
        self._traveller.move_to(moment)

    def advance(self, **delta) -> None:
        self._traveller.shift(timedelta(**delta))


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Time stands at ``START`` for this test.

    Request it before anything logs in: a session cookie signed at a later (real) time would be
    from the future once the clock goes back to ``START``, and Flask would refuse it.
    """
    with time_machine.travel(START, tick=False) as traveller:
        yield Clock(traveller)


# -- web client --------------------------------------------------------------------------------

CSRF_INPUT = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


class Web:
    """The test client with CSRF on: posts carry the token a real page handed out.

    A token stays good as long as the session keeps the CSRF secret it was made from
    (``WTF_CSRF_TIME_LIMIT`` is None); the portal starts a new session on log-in and log-out. So
    the token a page handed out is reused for as long as the session cookie holds that secret,
    and fetched from a page again when it does not (a new session, or none).
    """

    def __init__(self, client) -> None:
        self.client = client
        self._token: str | None = None
        self._token_secret: str | None = None  # the session's CSRF secret it was made from

    def get(self, url: str, **kwargs):
        return self.client.get(url, **kwargs)

    def csrf_token(self, url: str | None = None) -> str:
        """The token from ``url``, or from whichever page has a form (log-in page or the header)."""
        for candidate in filter(None, (url, "/login", "/")):
            match = CSRF_INPUT.search(self.client.get(candidate).get_data(as_text=True))
            if match:
                return match.group(1) or match.group(2)
        raise AssertionError("no page handed out a CSRF token")

    def _session_csrf_secret(self) -> str | None:
        """The CSRF secret in the session cookie, read as Flask reads it (None: no session)."""
        app = self.client.application
        cookie = self.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        if cookie is None:
            return None
        serializer = app.session_interface.get_signing_serializer(app)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            return serializer.loads(cookie.value, max_age=max_age).get("csrf_token")
        except BadSignature:  # expired, or signed with another key: Flask starts a new session
            return None

    def session_csrf_token(self, url: str | None = None) -> str:
        """The token a page handed out for this session, fetched from ``url`` when there is none."""
        secret = self._session_csrf_secret()
        if secret is None or secret != self._token_secret:
            self._token = self.csrf_token(url)
            self._token_secret = self._session_csrf_secret()
        return self._token

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
            data["csrf_token"] = self.session_csrf_token(form_url)
        return self.client.post(url, data=data, **kwargs)

    def login(self, username: str, password: str = PASSWORD, **extra):
        return self.post("/login", {"login": username, "password": password, **extra})

    def logout(self):
        return self.post("/logout", form_url="/")


@contextmanager
def throttling_app(database_url: str, tmp_path: Path, **limits: str) -> Iterator[Flask]:
    """An app with throttling on (the other tests turn it off), counting in memory, with
    ``limits`` (RATE_LIMIT_… settings) in place of the defaults."""
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test-secret",
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "TESTING": True,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            **limits,
        }
    )
    share_compiled_templates(app)
    try:
        yield app
    finally:
        app.extensions["rfp_db"]["engine"].dispose()


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
        self,
        username: str | None = None,
        *,
        role: Role = Role.MEMBER,
        password: str = PASSWORD,
        confirmed: bool = True,
    ) -> User:
        """A person; their address is confirmed (so mail reaches them) unless ``confirmed`` is
        false."""
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
                email_confirmed_at=datetime.now(UTC) if confirmed else None,
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
            rfp = submit_rfp(
                session,
                author=session.get(User, author.id),
                draft=RfpDraft(**values),
                no_plot_yet=True,
            )
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


# -- the summary line that says where the tests ran --------------------------------------------


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
