"""Load test: the portal under gunicorn on loopback, driven by wrk, beside a bare Flask hello world.

Usage (from the project's root)::

    .venv/bin/python benchmarks/load.py                      # 100,000 RFPs, SQLite and PostgreSQL
    .venv/bin/python benchmarks/load.py --rfps 10000         # a smaller community (growth runs)
    .venv/bin/python benchmarks/load.py --engines sqlite     # one engine only
    .venv/bin/python benchmarks/load.py --duration 5 --regenerate
    .venv/bin/python benchmarks/load.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:55432/rfp   # a server of your own

What one run does:

1. Makes sure ``wrk`` is there (``apt-get install -y wrk`` when running as root), and for
   PostgreSQL ``initdb`` and ``pg_ctl`` (``apt-get install -y postgresql``).
2. Makes or reuses a data set per engine with ``benchmarks/generate.py`` (``--scale`` in
   proportion to ``--rfps``; ``--regenerate`` makes them afresh):

   - SQLite: the file ``benchmarks/.data/rfp-<rfps>.db`` with its summary
     ``rfp-<rfps>.dataset.json``, reused while the summary matches the size.
   - PostgreSQL: a private cluster in ``benchmarks/.data/postgresql/`` that this script starts
     itself as ``tests/postgres.py`` starts the tests' server (``initdb`` once, then ``pg_ctl
     start`` on a free port of 127.0.0.1, as user ``postgres`` when root, ``fsync=off``; see
     ``pg_cluster.py``) and stops at the end of the run, on Ctrl-C and on errors too. The data
     set is the database ``rfp_<rfps>`` of that cluster, summary ``pg-rfp-<rfps>.dataset.json``,
     reused while the summary matches and the database holds that many RFPs.
   - ``--database-url URL``: measures that database instead, for its engine (only that engine
     unless ``--engines`` names others). It is filled only when empty (generate.py refuses a
     database holding data) unless ``--regenerate`` is given, which empties it.

   The measured writes (below) go into a copy made for the run (the SQLite file copied to
   ``rfp-<rfps>.run.db``; on PostgreSQL ``CREATE DATABASE rfp_<rfps>_run TEMPLATE rfp_<rfps>``),
   removed at the end: every run starts from the same data set. A database of your own
   (``--database-url``) is measured in place and keeps what the run wrote (a few thousand
   comments and a few hundred claims a run).
3. Measures, in fresh interpreters, the app's import time (``import rfp_portal`` and
   ``create_app()``, median of 5) with the slowest imports (``-X importtime``), and whether
   matplotlib, Pillow or NumPy are in ``sys.modules`` after ``create_app()`` and after serving
   every page under test once as a visitor and once logged in (Flask's test client), on the
   first engine's data set.
4. Serves hello world (``benchmarks/hello.py``) with gunicorn and measures it. Then, for each
   engine in turn (SQLite, then PostgreSQL), serves the portal with the README's production
   command (``gunicorn --workers N --bind 127.0.0.1:PORT 'rfp_portal:create_app()'``: sync
   workers, no access log; N is ``make run``'s default, 2), logs in as the summary's member,
   requests every page a few times per reader, checks each answers 200 (and notes which came
   from the page cache), and reads each worker's resident memory (``VmRSS``) at boot, after that
   warm-up and at the end, and whether a worker has mapped any matplotlib, Pillow or NumPy
   library. On that server:

   a. Reads: for each page (``/``, ``/rfps``, a common and a rare search, the RFP page with 50
      comments, ``/api/v1/rfps``, ``/rfps.atom``, ``/jams.ics``) and each reader (a visitor; a
      logged-in member, through the session cookie): ``wrk --latency`` for ``--warmup`` seconds
      (discarded), then for ``--duration`` seconds; requests per second, p50 and p99 come from
      wrk's latency distribution.
   b. Writers: logs in many generated members (distinct accounts with no more active claims than
      they may hold; each through the log-in form with its real CSRF token) and scrapes each
      one's token from the comment form of an RFP page, keeping their cookies.
   c. Posting a comment at full speed: wrk with a generated Lua script (``-s``; kept in
      ``benchmarks/.data/post-comments.lua``, it holds the members' cookies) that POSTs real
      comments to ``/rfps/<id>/comments``, rotating through up to 64 members and 500 RFPs (never
      the RFP page measured above), with wrk's threads and connections. Only a 302/303 to the
      new comment counts; every other answer is reported by status. wrk, not Python threads, so
      that the client is never the limit: the two workers are (on the 2-core machine the rate of
      comments stayed flat from 4 to 32 connections while their p50 grew with the queue).
   d. Reads under writes: a writer in this process (a scheduler thread and a pool of 16 sender
      threads, new connection each time) posts at a fixed rate, ``--write-rates`` (1, 5 and 20
      a second): three comments then a claim (through the RFP page's claim form, on open RFPs
      with room, each claim by a member under the per-person limit), while wrk measures visitor
      ``/rfps``, member ``/rfps`` and the member's RFP page; then comments alone at 20 a second
      while wrk measures visitor ``/rfps`` (the issue's target). Beside each read figure: the
      writes done per second in that read's measured window and the writes refused or failed.

5. Serves and measures hello world again, and divides every rate by the mean of the two hello
   world rates (the machine is shared and noisy; the two show how much it drifted).
6. Writes the tables (issue 17's targets, one row per page and reader with each engine's
   figures side by side, then the reads under writes) and the raw figures to
   ``benchmarks/.data/load-<rfps>.md`` and ``.json`` (overwritten by the next run of that size,
   never committed; ``growth.py`` reads the JSON) and, at the default size, the tables to
   ``benchmarks/results/latest.md``, replacing the last one. Nothing written names a path, host
   or user of the machine: a database appears as a path relative to the repository (or its file
   name, or its kind and name).

The server runs with ``RATELIMIT_DISABLED=1`` (so logging in and posting are never throttled), a
fixed ``SECRET_KEY``, and the page cache as in production (``PAGE_CACHE_ENTRIES`` left to its
default): a visitor's page is answered from the worker's memory after the first request until
a write changes the site. Loopback only; wrk, the writer, gunicorn and PostgreSQL share the
machine's cores.

At the default size a run takes about 13 minutes (both engines), plus about 35 s (SQLite) and
65 s (PostgreSQL) to generate the data sets the first time. It measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import html.parser
import http.client
import http.cookiejar
import importlib.metadata
import json
import math
import os
import platform
import random
import re
import shlex
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pg_cluster import (  # beside this file
    SERVER_SETTINGS,
    Cluster,
    apt_install,
    ensure_pg_bin,
    free_port,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"
RESULTS = HERE / "results"
DEFAULT_RFPS = 100_000
SECRET_KEY = "load-test-secret-key-not-for-production"  # noqa: S105 - fixed on purpose
USER_AGENT = "rfp-portal-load-test"  # the same on log-in and under wrk (Flask-Login checks it)
BROWSER_ENCODINGS = "gzip, deflate, br, zstd"  # what Chromium sends; --accept-encoding ''
HEAVY = ("matplotlib", "PIL", "numpy")  # must stay out of a worker until a plot is processed

ENGINES = ("sqlite", "postgresql")
ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
READERS = ("logged-out", "logged-in")
READER_NAMES = {"logged-out": "visitor", "logged-in": "member"}

# Issue 17's targets, as a share of hello world's rate, per (engine, reader).
_PAGE = {
    ("sqlite", "logged-out"): 0.8,
    ("sqlite", "logged-in"): 0.5,
    ("postgresql", "logged-out"): 0.8,
    ("postgresql", "logged-in"): 0.4,
}
_FEED = dict.fromkeys(_PAGE, 0.8)
TARGETS = {
    "home": _PAGE,
    "listing": _PAGE,
    "search-common": _PAGE,
    "search-rare": _PAGE,
    "rfp": _PAGE,
    "api": _FEED,
    "feed": _FEED,
    "calendar": _FEED,
    "comment": {("sqlite", "logged-in"): 0.1, ("postgresql", "logged-in"): 0.1},
}
# Reads under writes: the pages measured while the writer writes, and the one target
# (visitor /rfps at 20 comments a second, comments alone).
UNDER_WRITES = (("listing", "logged-out"), ("listing", "logged-in"), ("rfp", "logged-in"))
COMMENT_RATE = 20.0
COMMENT_RATE_TARGET = 0.5
CLAIM_EVERY = 4  # in the mixed writes, every fourth write is a claim, the others comments
POSTING_MEMBERS = 64  # distinct members posting at full speed
POSTING_RFPS = 500  # RFPs they comment on
WRITER_THREADS = 16


@dataclass
class Page:
    key: str
    label: str
    path: str


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    seconds: float
    socket_errors: int = 0
    non_2xx_3xx: int = 0


@dataclass
class Row:
    engine: str
    page: str
    label: str
    path: str
    reader: str
    wrk: WrkResult
    ratio: float = 0.0
    target: float | None = None
    met: bool | None = None
    detail: dict = field(default_factory=dict)


@dataclass
class WriteRow:
    """One read measured while the writer wrote at ``rate`` a second."""

    engine: str
    rate: float
    mix: str  # "comments and claims" or "comments"
    page: str
    label: str
    path: str
    reader: str
    wrk: WrkResult
    writes: dict
    ratio: float = 0.0
    target: float | None = None
    met: bool | None = None


@dataclass
class Probe:
    status: int
    bytes: int
    page_cache: str | None
    set_cookie: bool
    logged_in: bool


@dataclass
class Report:
    started_at: str
    command: str
    machine: dict
    settings: dict
    engines: list
    datasets: dict  # engine -> the data set measured
    import_probe: dict = field(default_factory=dict)
    slowest_imports: list = field(default_factory=list)
    pages_probe: dict = field(default_factory=dict)
    hello: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    under_writes: list = field(default_factory=list)
    writers: dict = field(default_factory=dict)  # engine -> members logged in, claims planned
    checks: dict = field(default_factory=dict)  # engine -> page checks
    memory: dict = field(default_factory=dict)  # engine -> moment -> figures
    seconds: dict = field(default_factory=dict)


def log(message: str) -> None:
    print(message, flush=True)


# -- wrk -----------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package when running as root.

    :raise SystemExit: when wrk is missing and cannot be installed here.
    """
    found = shutil.which("wrk")
    if found:
        return found
    if apt_install("wrk", log):
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit(
        "wrk (https://github.com/wg/wrk) is needed and is not installed. On Debian or Ubuntu: "
        "`sudo apt-get install -y wrk`; elsewhere see your package manager. Then run this again."
    )


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS_MS[unit]


def parse_wrk(output: str) -> WrkResult:
    """Requests per second, p50 and p99 from ``wrk --latency`` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", output, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", output, re.M).group(1))
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        rps=rps,
        p50_ms=p50,
        p99_ms=p99,
        requests=int(done.group(1)),
        seconds=_ms(done.group(2) + done.group(3)) / 1000,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def run_wrk(
    wrk: str, url: str, seconds: int, args, headers: dict[str, str], script: Path | None = None
) -> tuple[WrkResult, str]:
    """wrk's figures and its whole output (a script's ``done`` prints after the summary)."""
    command = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",  # whole seconds: wrk reads no fraction
        "--latency",
        "--timeout",
        "30s",  # gunicorn's worker timeout: a slow answer is a latency, not a socket error
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    done = subprocess.run(  # noqa: S603
        [*command, url], capture_output=True, text=True, check=False
    )
    if done.returncode != 0 or "Requests/sec" not in done.stdout:
        raise RuntimeError(f"wrk failed on {url}:\n{done.stdout}\n{done.stderr}")
    return parse_wrk(done.stdout), done.stdout


def warm_up(wrk: str, url: str, args, headers: dict[str, str], script: Path | None = None) -> None:
    """``--warmup`` seconds of the same load, not measured (none with ``--warmup 0``)."""
    if args.warmup > 0:
        run_wrk(wrk, url, args.warmup, args, headers, script)


# -- the data sets -------------------------------------------------------------------------------


def _render_url(url: str) -> str:
    import sqlalchemy as sa

    from rfp_portal.config import normalise_database_url

    return sa.make_url(normalise_database_url(url)).render_as_string(hide_password=True)


def engine_of(url: str) -> str:
    import sqlalchemy as sa

    from rfp_portal.config import normalise_database_url

    return sa.make_url(normalise_database_url(url)).get_backend_name()


def describe_database(url: str) -> str:
    """The database for a report, without the machine's paths, host names or user names.

    A SQLite file inside the repository appears by its path relative to the repository (another
    SQLite file by its name); any other database by its kind and its database name.
    """
    import sqlalchemy as sa

    from rfp_portal.config import normalise_database_url

    parsed = sa.make_url(normalise_database_url(url))
    backend = parsed.get_backend_name()
    if backend != "sqlite":
        return f"{backend} database {parsed.database or '(default)'}"
    if not parsed.database or parsed.database == ":memory:":
        return "sqlite in memory"
    path = Path(parsed.database)
    try:
        return f"sqlite:///{path.resolve().relative_to(ROOT)}"
    except ValueError:
        return f"sqlite file {path.name}"


def public_command(argv: list[str]) -> str:
    """The command as run, with the database URL (which may name paths, hosts, users) described."""
    words, hide_next = [], False
    for word in argv:
        if hide_next:
            word, hide_next = describe_database(word), False
        elif word == "--database-url":
            hide_next = True
        elif word.startswith("--database-url="):
            word = "--database-url=" + describe_database(word.split("=", 1)[1])
        words.append(shlex.quote(word))
    return " ".join([".venv/bin/python benchmarks/load.py", *words])


@dataclass
class Database:
    """A data set ready to serve: ``url`` is what the portal under test uses."""

    engine: str
    url: str
    summary: dict
    generated: bool
    description: str  # for the report: no path, host or user of the machine
    copy: bool  # measured on a copy made for the run (the writes are thrown away)


def _data_folder() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    ignore = DATA / ".gitignore"
    if not ignore.exists():
        ignore.write_text(
            "# Data sets and logs of benchmarks/load.py (gigabytes): never committed.\n*\n"
        )


def _matching_summary(
    summary_path: Path, args, database_url: str | None, database_name: str | None = None
) -> dict | None:
    """The summary of a data set that can be reused for this run, or None."""
    if args.regenerate or not summary_path.exists():
        return None
    summary = json.loads(summary_path.read_text())
    if summary.get("sizes", {}).get("rfps") != args.rfps:
        return None
    if summary.get("upload_folder") != str(args.upload_folder):
        return None
    if database_url is not None and summary.get("database") != _render_url(database_url):
        return None
    if database_name is not None:
        import sqlalchemy as sa

        if sa.make_url(summary.get("database", "sqlite://")).database != database_name:
            return None
    return summary


def generate(database_url: str, summary_path: Path, args, *, replace: bool) -> dict:
    scale = args.rfps / DEFAULT_RFPS
    command = [
        sys.executable,
        str(HERE / "generate.py"),
        "--database-url",
        database_url,
        "--scale",
        f"{scale:g}",
        "--rfps",
        str(args.rfps),
        "--summary",
        str(summary_path),
        "--upload-folder",
        str(args.upload_folder),
    ]
    if replace:
        command.append("--replace")
    log(f"Generating the data set: {shlex.join(command)}")
    done = subprocess.run(command, cwd=ROOT, check=False)  # noqa: S603
    if done.returncode != 0:
        raise SystemExit(f"generate.py failed ({done.returncode}); see above")
    return json.loads(summary_path.read_text())


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def sqlite_database(args, seconds: dict):
    """``benchmarks/.data/rfp-<rfps>.db`` (made or reused), measured on a copy for the run."""
    db_file = DATA / f"rfp-{args.rfps}.db"
    url = f"sqlite:///{db_file}"
    summary_path = DATA / f"rfp-{args.rfps}.dataset.json"
    mark = time.monotonic()
    summary = _matching_summary(summary_path, args, url) if db_file.exists() else None
    generated = summary is None
    if generated:
        summary_path.unlink(missing_ok=True)
        summary = generate(url, summary_path, args, replace=True)
    else:
        log(f"SQLite: reusing the data set of {summary['generated_at']} ({summary_path.name})")
    seconds["sqlite: data set" + (" (generated)" if generated else " (reused)")] = (
        time.monotonic() - mark
    )
    mark = time.monotonic()
    run_file = DATA / f"rfp-{args.rfps}.run.db"
    _remove_sqlite(run_file)
    with sqlite3.connect(db_file) as connection:  # fold any WAL into the file before copying
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    try:
        shutil.copyfile(db_file, run_file)
        seconds["sqlite: copy for the run"] = time.monotonic() - mark
        yield Database(
            engine="sqlite",
            url=f"sqlite:///{run_file}",
            summary=summary,
            generated=generated,
            description=f"{describe_database(url)}, copied for the run",
            copy=True,
        )
    finally:
        _remove_sqlite(run_file)


def _count_rfps(url: str) -> int | None:
    import sqlalchemy as sa

    from rfp_portal.config import normalise_database_url

    engine = sa.create_engine(normalise_database_url(url))
    try:
        with engine.connect() as connection:
            return connection.scalar(sa.text("SELECT count(*) FROM rfps"))
    except sa.exc.DBAPIError:
        return None
    finally:
        engine.dispose()


@contextmanager
def postgresql_database(args, seconds: dict):
    """The private cluster in ``benchmarks/.data/postgresql/``: started, its ``rfp_<rfps>``
    made or reused, measured on the copy ``rfp_<rfps>_run``; stopped at the end."""
    mark = time.monotonic()
    cluster = Cluster(DATA / "postgresql", ensure_pg_bin(log), log)
    if cluster.initialise():
        log(f"PostgreSQL: made the cluster {cluster.root.relative_to(ROOT)} (initdb)")
    cluster.start()
    log(f"PostgreSQL {cluster.major_version}: the cluster runs on 127.0.0.1:{cluster.port}")
    seconds["postgresql: start the cluster"] = time.monotonic() - mark
    name, run_name = f"rfp_{args.rfps}", f"rfp_{args.rfps}_run"
    try:
        mark = time.monotonic()
        summary_path = DATA / f"pg-rfp-{args.rfps}.dataset.json"
        summary = _matching_summary(summary_path, args, None, database_name=name)
        if summary is not None and not (
            cluster.exists(name) and _count_rfps(cluster.url(name)) == args.rfps
        ):
            summary = None
        generated = summary is None
        if generated:
            summary_path.unlink(missing_ok=True)  # no summary for a data set half made
            cluster.drop(run_name)
            cluster.drop(name)
            cluster.create(name)
            summary = generate(cluster.url(name), summary_path, args, replace=False)
        else:
            log(f"PostgreSQL: reusing the data set of {summary['generated_at']} (database {name})")
        seconds["postgresql: data set" + (" (generated)" if generated else " (reused)")] = (
            time.monotonic() - mark
        )
        mark = time.monotonic()
        cluster.drop(run_name)
        cluster.create(run_name, template=name)
        seconds["postgresql: copy for the run"] = time.monotonic() - mark
        yield Database(
            engine="postgresql",
            url=cluster.url(run_name),
            summary=summary,
            generated=generated,
            description=f"postgresql database {name} of a private cluster "
            "(benchmarks/.data/postgresql), copied for the run",
            copy=True,
        )
    finally:
        try:
            cluster.drop(run_name)
        except Exception as error:  # noqa: BLE001 - the stop below matters more
            log(f"PostgreSQL: could not drop {run_name}: {error}")
        cluster.stop()
        log("PostgreSQL: the cluster is stopped")


@contextmanager
def own_database(args, seconds: dict):
    """``--database-url``: filled only when empty unless ``--regenerate``; measured in place."""
    url = args.database_url
    engine = engine_of(url)
    mark = time.monotonic()
    summary_path = DATA / f"{engine}-{args.rfps}.dataset.json"
    summary = _matching_summary(summary_path, args, url)
    generated = summary is None
    if generated:
        summary = generate(url, summary_path, args, replace=args.regenerate)
    else:
        log(f"{ENGINE_NAMES[engine]}: reusing the data set of {summary['generated_at']}")
    seconds[f"{engine}: data set" + (" (generated)" if generated else " (reused)")] = (
        time.monotonic() - mark
    )
    yield Database(
        engine=engine,
        url=url,
        summary=summary,
        generated=generated,
        description=f"{describe_database(url)} (--database-url), measured in place",
        copy=False,
    )


def open_database(engine: str, args, seconds: dict):
    if args.database_url and engine_of(args.database_url) == engine:
        return own_database(args, seconds)
    if engine == "sqlite":
        return sqlite_database(args, seconds)
    return postgresql_database(args, seconds)


def pages_under_test(summary: dict) -> list[Page]:
    common = urllib.parse.quote(summary["common_word"])
    rare = urllib.parse.quote(summary["rare_word"])
    return [
        Page("home", "home", "/"),
        Page("listing", "listing", "/rfps"),
        Page(
            "search-common", f"search, common word ({summary['common_word']})", f"/rfps?q={common}"
        ),
        Page("search-rare", f"search, rare word ({summary['rare_word']})", f"/rfps?q={rare}"),
        Page("rfp", "RFP page, 50 comments", f"/rfps/{summary['rfp_with_50_comments']}"),
        Page("api", "API listing", "/api/v1/rfps"),
        Page("feed", "Atom feed", "/rfps.atom"),
        Page("calendar", "Jams calendar", "/jams.ics"),
    ]


def portal_environment(database_url: str, upload_folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Settings that would change what is measured or stop the cookie from working over http.
    for name in ("FLASK_DEBUG", "SQL_ECHO", "SECURE_COOKIES", "TRUSTED_HOSTS", "PROXY_COUNT"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=database_url,
        INSTANCE_PATH=str(DATA / "instance"),
        UPLOAD_FOLDER=str(upload_folder),
        SECRET_KEY=SECRET_KEY,
        RATELIMIT_DISABLED="1",
    )
    return env


# -- import time and modules, in fresh interpreters ----------------------------------------------


def _heavy_modules() -> list[str]:
    return sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))


class _FormToken(html.parser.HTMLParser):
    """The ``csrf_token`` of the form with id ``form_id`` (of any form when None)."""

    def __init__(self, form_id: str | None) -> None:
        super().__init__()
        self.form_id = form_id
        self.in_form = False
        self.token: str | None = None

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.in_form = self.form_id is None or attributes.get("id") == self.form_id
        elif (
            tag == "input"
            and self.in_form
            and attributes.get("name") == "csrf_token"
            and self.token is None
        ):
            self.token = attributes.get("value")

    def handle_endtag(self, tag) -> None:
        if tag == "form":
            self.in_form = False


def csrf_token(page: str, form_id: str | None = None) -> str:
    parser = _FormToken(form_id)
    parser.feed(page)
    if not parser.token:
        raise RuntimeError(f"no csrf_token in the form {form_id or '(any)'} of the page")
    return parser.token


def child_probe(kind: str, pages_json: str) -> None:
    """Run in a fresh interpreter (``--probe``): print timings and heavy modules as JSON."""
    start = time.perf_counter()
    import rfp_portal

    imported = time.perf_counter()
    app = rfp_portal.create_app()
    created = time.perf_counter()
    result = {
        "import_s": imported - start,
        "create_app_s": created - imported,
        "heavy_after_create_app": _heavy_modules(),
    }
    if kind == "pages":
        spec = json.loads(pages_json)
        client = app.test_client()
        statuses = {}
        for path in spec["paths"]:
            statuses[f"logged-out {path}"] = client.get(path).status_code
        token = csrf_token(client.get("/login").get_data(as_text=True))
        client.post(
            "/login",
            data={"login": spec["username"], "password": spec["password"], "csrf_token": token},
        )
        for path in spec["paths"]:
            statuses[f"logged-in {path}"] = client.get(path).status_code
        result["statuses"] = statuses
        result["heavy_after_pages"] = _heavy_modules()
    print(json.dumps(result))


def run_probe(env: dict, kind: str, pages: dict | None = None) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--probe", kind]
    if pages is not None:
        command += ["--probe-pages", json.dumps(pages)]
    done = subprocess.run(  # noqa: S603
        command, env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"probe {kind} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def slowest_imports(env: dict, count: int = 8) -> list[dict]:
    """The top-level imports that cost most, from ``python -X importtime`` (cumulative)."""
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-X", "importtime", "-c", "import rfp_portal; rfp_portal.create_app()"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)", line)
        if match and len(match.group(3)) == 1:  # one space: imported at the top level
            rows.append({"module": match.group(4), "cumulative_ms": int(match.group(2)) / 1000})
    rows.sort(key=lambda r: r["cumulative_ms"], reverse=True)
    return rows[:count]


# -- the servers ---------------------------------------------------------------------------------


def request(port: int, path: str, headers: dict[str, str] | None = None):
    """One GET on loopback, no redirects followed: (status, headers, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers={"User-Agent": USER_AGENT, **(headers or {})})
        response = connection.getresponse()
        body = response.read()
        if response.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)  # the checks read what the reader's browser would
        return response.status, response.headers, body
    finally:
        connection.close()


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            return sorted(int(c) for c in children)
        except OSError:
            found = []
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == pid:
                    found.append(int(stat.parent.name))
            return sorted(found)


def gunicorn_command(args, port: int, app_spec: str, *extra: str) -> list[str]:
    """The README's production command, on loopback, with ``make run``'s worker count."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(args.workers),
        "--bind",
        f"127.0.0.1:{port}",
        *extra,
        app_spec,
    ]


@contextmanager
def serve(args, name: str, app_spec: str, env: dict, ready_path: str, *extra: str):
    """Run gunicorn until the block ends; yields a :class:`Server` once ``ready_path`` answers."""
    port = free_port()
    log_path = DATA / "logs" / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = gunicorn_command(args, port, app_spec, *extra)
    with log_path.open("w") as log_file:
        process = subprocess.Popen(  # noqa: S603
            command, env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT
        )
    server = Server(name, port, process, log_path)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} stopped:\n{log_path.read_text()[-3000:]}")
            try:
                if request(port, ready_path)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not answer:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        # Every worker has booted (each imports the app itself: no --preload in production).
        while len(server.worker_pids()) < args.workers and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)  # graceful: workers finish their request
        try:
            process.wait(timeout=35)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def mapped_heavy_libraries(pid: int) -> list[str]:
    """Shared objects of matplotlib, Pillow or NumPy the process has mapped (C extensions)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return []
    found = set()
    for line in maps.splitlines():
        path = line.split()[-1] if len(line.split()) >= 6 else ""
        if any(f"/{name}/" in path for name in HEAVY):
            # Relative to the installed packages, never the machine's absolute path.
            match = re.search(r"(?:site|dist)-packages/(.+)", path)
            found.add(match.group(1) if match else Path(path).name)
    return sorted(found)


def memory(server: Server) -> dict:
    workers = server.worker_pids()
    return {
        "master_mib": rss_mib(server.process.pid),
        "workers_mib": [rss_mib(pid) for pid in workers],
        "heavy_libraries_mapped": sorted(
            {lib for pid in workers for lib in mapped_heavy_libraries(pid)}
        ),
    }


# -- readers and writers -------------------------------------------------------------------------


@dataclass
class Member:
    """A generated member, logged in: the cookies and the comment form's CSRF token."""

    username: str
    cookies: dict[str, str]
    token: str | None

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())


def log_in(port: int, username: str, password: str, rfp_id: int | None = None) -> Member:
    """Log a member in through the log-in form (with its CSRF token) and, given ``rfp_id``,
    read that RFP's page and the token of its comment form (the one the member would post)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    base = f"http://127.0.0.1:{port}"
    with opener.open(f"{base}/login", timeout=60) as response:  # noqa: S310 - loopback
        token = csrf_token(response.read().decode())
    form = urllib.parse.urlencode(
        {"login": username, "password": password, "csrf_token": token}
    ).encode()
    # Follows the redirect home, which shows (and so takes out of the session) the welcome flash:
    # a cookie still holding it would show it on every page.
    with opener.open(f"{base}/login", form, timeout=60) as response:  # noqa: S310
        response.read()
    form_token = None
    if rfp_id is not None:
        with opener.open(f"{base}/rfps/{rfp_id}", timeout=60) as response:  # noqa: S310
            page = response.read().decode()
        if "Log out" not in page:
            raise RuntimeError(f"{username} is not logged in on the RFP page")
        form_token = csrf_token(page, "comment-form")
    cookies = {cookie.name: cookie.value for cookie in jar}
    if "session" not in cookies:
        raise RuntimeError(f"logging in as {username} gave no session cookie")
    return Member(username, cookies, form_token)


def probe(port: int, path: str, headers: dict[str, str]) -> Probe:
    status, response_headers, body = request(port, path, headers)
    return Probe(
        status=status,
        bytes=len(body),
        page_cache=response_headers.get("X-Page-Cache"),
        set_cookie="Set-Cookie" in response_headers,
        logged_in=b"Log out" in body,
    )


def post_form(port: int, path: str, member: Member, fields: dict[str, str]) -> tuple[int, str]:
    """One POST of a form as ``member``, no redirect followed: (status, Location)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(
            "POST",
            path,
            body=urllib.parse.urlencode(fields),
            headers={
                "User-Agent": USER_AGENT,
                "Cookie": member.cookie_header,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        response = connection.getresponse()
        response.read()
        return response.status, response.headers.get("Location", "")
    finally:
        connection.close()


COMMENT_TEXTS = (
    "Tried this with `lr=3e-4` and *batch 64*: the curve flattens after 2k steps. ({n})",
    "Would a log-scale y axis show the knee better? I can draw it tonight. ({n})",
    "Same shape on a smaller model here; **not** on the bigger one. Seed noise? ({n})",
    "I can share a notebook that reproduces the first plot in about ten minutes. ({n})",
    "Does it hold with weight decay off? That is the first knob I would turn. ({n})",
    "Nice question. A sweep over three widths would already say a lot. ({n})",
)
CLAIM_NOTE = "Starting with the smallest model and a *three-seed* sweep."


def claims_needed(args) -> int:
    """Claims the mixed writes may make in one engine's run, with room to spare."""
    seconds_per_rate = len(UNDER_WRITES) * (args.warmup + args.duration + 1.5)
    per_rate = [rate / CLAIM_EVERY * seconds_per_rate for rate in args.write_rates]
    return math.ceil(sum(per_rate) * 1.25) + 10 if per_rate else 0


def plan_writes(database_url: str, summary: dict, claims: int, per_person: int) -> dict:
    """Who writes what, from the database: members (with their room for claims), the RFPs to
    comment on (published, not withdrawn), and ``claims`` (member, open RFP) pairs that the
    portal should accept: a member under the per-person limit, not the RFP's author, not on it
    already; an RFP with room under its cap. The RFPs measured are left alone."""
    import sqlalchemy as sa

    from rfp_portal.config import normalise_database_url

    rng = random.Random(17)
    skip = {summary["rfp_with_50_comments"], summary.get("busiest_rfp")}
    engine = sa.create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as connection:

            def rows(sql: str, **params):
                return connection.execute(sa.text(sql), params).all()

            members = rows(
                "SELECT id, username FROM users WHERE role = 'member' AND active "
                "AND username <> :main ORDER BY id",
                main=summary["username"],
            )
            active_by_member = dict(
                rows(
                    "SELECT claimant_id, count(*) FROM claims WHERE status = 'active' "
                    "GROUP BY claimant_id"
                )
            )
            active_by_rfp = dict(
                rows("SELECT rfp_id, count(*) FROM claims WHERE status = 'active' GROUP BY rfp_id")
            )
            taken = set(rows("SELECT claimant_id, rfp_id FROM claims"))
            open_rfps = rows("SELECT id, author_id, claim_cap FROM rfps WHERE state = 'open'")
            commentable = [
                rfp_id
                for (rfp_id,) in rows(
                    "SELECT id FROM rfps WHERE state IN ('open', 'completed') ORDER BY id"
                )
                if rfp_id not in skip
            ]
    finally:
        engine.dispose()

    rng.shuffle(commentable)
    members = list(members)
    rng.shuffle(members)
    room_of_member = {uid: per_person - active_by_member.get(uid, 0) for uid, _ in members}
    room_of_rfp = {
        rfp_id: 10**6 if cap is None else cap - active_by_rfp.get(rfp_id, 0)
        for rfp_id, _, cap in open_rfps
        if rfp_id not in skip
    }
    author_of = {rfp_id: author for rfp_id, author, _ in open_rfps}
    candidates = [rfp_id for rfp_id, room in room_of_rfp.items() if room > 0]
    rng.shuffle(candidates)
    # Each member takes as many claims as they may hold, so fewer members log in; each RFP one
    # claim a round, round after round while there is room.
    pairs, cursor = [], 0
    for uid, username in sorted(members, key=lambda m: -room_of_member[m[0]]):
        if len(pairs) >= claims or not candidates:
            break
        for _ in range(room_of_member[uid]):
            if len(pairs) >= claims:
                break
            for _ in range(min(len(candidates), 50)):
                rfp_id = candidates[cursor % len(candidates)]
                cursor += 1
                if (
                    room_of_rfp[rfp_id] > 0
                    and author_of[rfp_id] != uid
                    and (uid, rfp_id) not in taken
                ):
                    room_of_rfp[rfp_id] -= 1
                    taken.add((uid, rfp_id))
                    pairs.append((username, rfp_id))
                    break
    claimants = list(dict.fromkeys(username for username, _ in pairs))
    others = [username for _, username in members if username not in set(claimants)]
    posting = (claimants + others)[: max(POSTING_MEMBERS, 1)]
    return {
        "usernames": list(dict.fromkeys(claimants + posting)),
        "posting": posting,
        "claims": pairs,
        "comment_rfps": commentable[:POSTING_RFPS],
    }


class WriteJobs:
    """The next comment or claim to post, shared by the writer's threads."""

    def __init__(self, members: dict[str, Member], plan: dict) -> None:
        self.lock = threading.Lock()
        self.posting = [members[name] for name in plan["posting"]]
        self.rfps = plan["comment_rfps"]
        self.claims = [(members[name], rfp_id) for name, rfp_id in plan["claims"]]
        self.comments_made = 0
        self.claims_made = 0
        self.claims_short = 0  # claims wanted once the planned ones were used up (comments instead)

    def comment(self) -> tuple[str, Member, dict]:
        with self.lock:
            n = self.comments_made
            self.comments_made += 1
        member = self.posting[n % len(self.posting)]
        rfp_id = self.rfps[(n * 7) % len(self.rfps)]
        body = COMMENT_TEXTS[n % len(COMMENT_TEXTS)].format(n=n)
        return f"/rfps/{rfp_id}/comments", member, {"csrf_token": member.token, "body": body}

    def claim(self) -> tuple[str, Member, dict] | None:
        with self.lock:
            if self.claims_made >= len(self.claims):
                self.claims_short += 1
                return None
            member, rfp_id = self.claims[self.claims_made]
            self.claims_made += 1
        return f"/rfps/{rfp_id}/claims", member, {"csrf_token": member.token, "note": CLAIM_NOTE}


@dataclass
class Write:
    kind: str
    due: float
    started: float
    done: float
    status: int | str
    ok: bool


class Writer:
    """Posts at a fixed rate in the background (open loop: the i-th write is due at start +
    i / rate, whatever became of the earlier ones), comments only or every ``CLAIM_EVERY``-th a
    claim; keeps when each ended and how."""

    def __init__(self, port: int, rate: float, jobs: WriteJobs, *, comments_only: bool) -> None:
        self.port, self.rate, self.jobs, self.comments_only = port, rate, jobs, comments_only
        self.writes: list[Write] = []
        self.due: list[float] = []  # when each write was due, done or not
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.pool = ThreadPoolExecutor(WRITER_THREADS, thread_name_prefix="writer")
        self.scheduler = threading.Thread(target=self._schedule, name="scheduler", daemon=True)

    def __enter__(self) -> Writer:
        self.scheduler.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.scheduler.join()
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _schedule(self) -> None:
        start = time.monotonic()
        i = 0
        while not self.stopping.is_set():
            due = start + i / self.rate
            if self.stopping.wait(max(0.0, due - time.monotonic())):
                break
            kind = "comment" if self.comments_only or (i + 1) % CLAIM_EVERY else "claim"
            with self.lock:
                self.due.append(due)
            self.pool.submit(self._write, kind, due)
            i += 1

    def _write(self, kind: str, due: float) -> None:
        job = self.jobs.claim() if kind == "claim" else None
        if kind == "claim" and job is None:
            kind = "comment"  # the planned claims are used up (counted by the jobs)
        path, member, fields = job or self.jobs.comment()
        started = time.monotonic()
        try:
            status, location = post_form(self.port, path, member, fields)
        except OSError as error:
            status, location = type(error).__name__, ""
        ok = status in (302, 303) and f"#{kind}-" in location
        with self.lock:
            self.writes.append(Write(kind, due, started, time.monotonic(), status, ok))

    def window(self, start: float, end: float) -> dict:
        """The writes that ended between ``start`` and ``end`` (a read's measured seconds)."""
        with self.lock:
            ended = [w for w in self.writes if start <= w.done < end]
            # Writes due by the end of the window and not yet answered: how far behind it fell.
            behind = sum(d < end for d in self.due) - sum(w.done < end for w in self.writes)
        seconds = end - start
        ok = [w for w in ended if w.ok]
        errors: dict[str, int] = {}
        for w in ended:
            if not w.ok:
                errors[f"{w.kind} {w.status}"] = errors.get(f"{w.kind} {w.status}", 0) + 1
        latencies = sorted(w.done - w.started for w in ended)
        return {
            "asked_per_s": self.rate,
            "done_per_s": len(ok) / seconds,
            "comments": sum(w.kind == "comment" for w in ok),
            "claims": sum(w.kind == "claim" for w in ok),
            "errors": errors,
            "latency_p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
            "latency_max_ms": 1000 * latencies[-1] if latencies else None,
            "behind_at_end": behind,
        }


def _lua_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.extend(f"\\{byte}" for byte in ch.encode())
    return '"' + "".join(out) + '"'


POSTING_LUA = """-- Written by benchmarks/load.py for one run: POST real comments as many members.
-- It holds the members' cookies: it stays in benchmarks/.data/ (never committed).
local members = {
%(members)s
}
local rfps = { %(rfps)s }
local bodies = {
%(bodies)s
}
local user_agent = %(user_agent)s
local threads = {}
local counter = 0

function setup(thread)
  thread:set("offset", #threads * 1009)
  table.insert(threads, thread)
end

function init(args)
  counter = offset or 0
  ok = 0
  statuses = {}
end

function request()
  counter = counter + 1
  local member = members[(counter %% #members) + 1]
  local rfp = rfps[((counter * 7) %% #rfps) + 1]
  local body = "csrf_token=" .. member[2] .. "&body=" .. bodies[(counter %% #bodies) + 1]
    .. "+%%28" .. counter .. "%%29"
  return wrk.format("POST", "/rfps/" .. rfp .. "/comments", {
    ["Cookie"] = member[1],
    ["User-Agent"] = user_agent,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end

function response(status, headers, body)
  local location = headers["Location"] or headers["location"] or ""
  if (status == 302 or status == 303) and string.find(location, "#comment-", 1, true) then
    ok = ok + 1
  else
    local key = tostring(status)
    if status == 302 or status == 303 then key = key .. " to " .. location end
    statuses[key] = (statuses[key] or 0) + 1
  end
end

function done(summary, latency, requests)
  local posted, others = 0, {}
  for _, thread in ipairs(threads) do
    posted = posted + thread:get("ok")
    for key, n in pairs(thread:get("statuses")) do others[key] = (others[key] or 0) + n end
  end
  io.write("POSTED_OK " .. posted .. "\\n")
  for key, n in pairs(others) do io.write("POSTED_OTHER " .. n .. " " .. key .. "\\n") end
end
"""


def posting_script(members: list[Member], rfps: list[int]) -> Path:
    """The wrk script that posts comments, rotating through members and RFPs."""
    bodies = [urllib.parse.quote_plus(text.replace(" ({n})", "")) for text in COMMENT_TEXTS]
    path = DATA / "post-comments.lua"
    path.write_text(
        POSTING_LUA
        % {
            "members": "\n".join(
                f"  {{ {_lua_string(m.cookie_header)}, {_lua_string(urllib.parse.quote_plus(m.token))} }},"
                for m in members
            ),
            "rfps": ", ".join(str(r) for r in rfps),
            "bodies": "\n".join(f"  {_lua_string(b)}," for b in bodies),
            "user_agent": _lua_string(USER_AGENT),
        }
    )
    return path


def parse_posted(output: str) -> tuple[int, dict[str, int]]:
    """The comments posted (302/303 to the comment) and the other answers, from the script."""
    posted = re.search(r"^POSTED_OK (\d+)$", output, re.M)
    if not posted:
        raise RuntimeError(f"the posting script printed no count:\n{output}")
    others = {
        match.group(2): int(match.group(1))
        for match in re.finditer(r"^POSTED_OTHER (\d+) (.+)$", output, re.M)
    }
    return int(posted.group(1)), others


# -- the run -------------------------------------------------------------------------------------


def code_version() -> str:
    """The commit measured, and the files of the app that differ from it (others edit too)."""
    git = shutil.which("git")
    if not git:
        return "unknown (no git)"

    def output(*command: str) -> str:
        done = subprocess.run(  # noqa: S603
            [git, *command], cwd=ROOT, capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    commit = output("rev-parse", "--short", "HEAD") or "unknown"
    changed = [
        line.split(maxsplit=1)[1]
        for line in output("status", "--porcelain", "--", "rfp_portal", "templates").splitlines()
    ]
    return commit + (f" with uncommitted changes to {', '.join(changed)}" if changed else "")


def machine_info(wrk: str, databases: dict[str, Database]) -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("flask", "werkzeug", "jinja2", "sqlalchemy", "gunicorn", "psycopg"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    wrk_version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)  # noqa: S603
    database = {}
    for engine, db in databases.items():
        if engine == "sqlite":
            database[engine] = f"SQLite {sqlite3.sqlite_version}"
            continue
        import sqlalchemy as sa

        from rfp_portal.config import normalise_database_url

        connection_engine = sa.create_engine(normalise_database_url(db.url))
        with connection_engine.connect() as connection:
            database[engine] = (
                "PostgreSQL " + connection.exec_driver_sql("SHOW server_version").scalar()
            )
        connection_engine.dispose()
    return {
        "code": code_version(),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "database": database,
        "wrk": (wrk_version.stdout + wrk_version.stderr).split("\n", 1)[0].strip(),
        "packages": versions,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def read_headers(args) -> dict[str, str]:
    """The headers every read sends, hello world's too: a browser's Accept-Encoding, unless
    ``--accept-encoding ''``."""
    headers = {"User-Agent": USER_AGENT}
    if args.accept_encoding:
        headers["Accept-Encoding"] = args.accept_encoding
    return headers


def measure_hello(wrk: str, args, env: dict, when: str) -> dict:
    with serve(args, f"hello-{when}", "hello:app", env, "/", "--pythonpath", str(HERE)) as server:
        url = f"{server.base}/"
        warm_up(wrk, url, args, read_headers(args))
        result, _ = run_wrk(wrk, url, args.duration, args, read_headers(args))
    log(f"  hello world ({when}): {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms")
    return {"when": when, **asdict(result)}


def measure_imports(report: Report, env: dict, pages: list[Page], summary: dict) -> None:
    """Import time, the slowest imports, and heavy modules after create_app() and every page."""
    log("Import time and heavy modules (fresh interpreters)")
    runs = [run_probe(env, "import") for _ in range(5)]
    report.import_probe = {
        "runs": len(runs),
        "import_s_median": statistics.median(r["import_s"] for r in runs),
        "create_app_s_median": statistics.median(r["create_app_s"] for r in runs),
        "total_s_median": statistics.median(r["import_s"] + r["create_app_s"] for r in runs),
        "heavy_after_create_app": runs[-1]["heavy_after_create_app"],
    }
    report.slowest_imports = slowest_imports(env)
    report.pages_probe = run_probe(
        env,
        "pages",
        {
            "paths": [p.path for p in pages],
            "username": summary["username"],
            "password": summary["password"],
        },
    )


def check_pages(server: Server, pages: list[Page], readers: dict, workers: int) -> dict:
    """Request every page a few times per reader (sync workers take turns on new connections,
    so both serve it) and note what came back.

    :raise RuntimeError: when a page does not answer 200 or the member is not logged in.
    """
    checks = {}
    for page in pages:
        for reader, headers in readers.items():
            probes = [probe(server.port, page.path, headers) for _ in range(4 * workers)]
            checks[f"{reader} {page.path}"] = {
                "statuses": sorted({p.status for p in probes}),
                "bytes": probes[-1].bytes,
                "page_cache": sorted({p.page_cache or "-" for p in probes}),
                "set_cookie": any(p.set_cookie for p in probes),
                "logged_in": all(p.logged_in for p in probes),
            }
            if any(p.status != 200 for p in probes):
                raise RuntimeError(f"{page.path} as {reader}: {[p.status for p in probes]}")
    if not checks["logged-in /"]["logged_in"]:
        raise RuntimeError("the session cookie does not log the member in")
    return checks


def _log_row(label: str, reader: str, result: WrkResult, extra: str = "") -> None:
    log(
        f"  {label:<40} {reader:<10} {result.rps:8,.0f} req/s"
        f"  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms{extra}"
    )


def measure_reads(report, engine, wrk, args, server, pages, readers) -> None:
    for page in pages:
        for reader, headers in readers.items():
            url = server.base + page.path
            warm_up(wrk, url, args, headers)
            result, _ = run_wrk(wrk, url, args.duration, args, headers)
            report.rows.append(Row(engine, page.key, page.label, page.path, reader, result))
            _log_row(page.label, reader, result)


def log_in_writers(report, engine, args, server, db: Database) -> WriteJobs:
    """Plan the writes and log in every member who makes them (each with a real CSRF token)."""
    per_person = int(os.environ.get("MAX_ACTIVE_CLAIMS", 3))
    plan = plan_writes(db.url, db.summary, claims_needed(args), per_person)
    rfps = plan["comment_rfps"]
    if not rfps or not plan["posting"]:
        raise RuntimeError("the data set has no RFP to comment on or no member to post")
    names = plan["usernames"]
    log(
        f"  logging in {len(names)} members ({len(plan['claims'])} claims planned, "
        f"{len(plan['posting'])} posting comments on {len(rfps)} RFPs)"
    )
    password = db.summary["password"]
    with ThreadPoolExecutor(max(2, 2 * args.workers)) as pool:
        members = list(
            pool.map(
                lambda item: log_in(server.port, item[1], password, rfps[item[0] % len(rfps)]),
                enumerate(names),
            )
        )
    report.writers[engine] = {
        "members_logged_in": len(members),
        "posting_members": len(plan["posting"]),
        "comment_rfps": len(rfps),
        "claims_planned": len(plan["claims"]),
        "claims_wanted": claims_needed(args),
        "max_active_claims": per_person,
    }
    return WriteJobs({m.username: m for m in members}, plan)


def measure_posting(report, engine, wrk, args, server, jobs: WriteJobs) -> None:
    """Members posting comments at full speed (wrk and a Lua script): posted per second."""
    script = posting_script(jobs.posting, jobs.rfps)
    url = server.base + "/"
    warm_up(wrk, url, args, {}, script)
    result, output = run_wrk(wrk, url, args.duration, args, {}, script)
    posted, others = parse_posted(output)
    detail = {
        "posted": posted,
        "answers_per_s": result.rps,
        "other_answers": others,
        "members": len(jobs.posting),
        "rfps": len(jobs.rfps),
    }
    # The row's rate is the comments posted: a refusal or an error is not a comment.
    measured = WrkResult(
        rps=posted / result.seconds,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        requests=result.requests,
        seconds=result.seconds,
        socket_errors=result.socket_errors,
        non_2xx_3xx=result.non_2xx_3xx,
    )
    path = "POST /rfps/<id>/comments"
    report.rows.append(
        Row(engine, "comment", "posting a comment", path, "logged-in", measured, detail=detail)
    )
    refused = f", other answers {others}" if others else ""
    _log_row("posting a comment", "logged-in", measured, refused)


def measure_under_writes(report, engine, wrk, args, server, pages, readers, jobs) -> None:
    """Reads while the writer writes at each rate; then visitor /rfps under comments alone."""
    by_key = {page.key: page for page in pages}
    passes = [(rate, False, UNDER_WRITES) for rate in args.write_rates]
    if args.write_rates:
        passes.append((COMMENT_RATE, True, (("listing", "logged-out"),)))
    for rate, comments_only, reads in passes:
        mix = "comments" if comments_only else "comments and claims"
        log(f"  while writing {rate:g} a second ({mix})")
        with Writer(server.port, rate, jobs, comments_only=comments_only) as writer:
            for key, reader in reads:
                page = by_key[key]
                url, headers = server.base + page.path, readers[reader]
                warm_up(wrk, url, args, headers)
                start = time.monotonic()
                result, _ = run_wrk(wrk, url, args.duration, args, headers)
                writes = writer.window(start, time.monotonic())
                report.under_writes.append(
                    WriteRow(engine, rate, mix, key, page.label, page.path, reader, result, writes)
                )
                errors = sum(writes["errors"].values())
                _log_row(
                    page.label,
                    reader,
                    result,
                    f"  writes {writes['done_per_s']:.1f}/s, {errors} failed",
                )


def measure_engine(report: Report, wrk: str, args, db: Database, seconds: dict) -> None:
    """Serve the portal on one engine: check, reads, writers, posting, reads under writes."""
    engine = db.engine
    env = portal_environment(db.url, args.upload_folder)
    pages = pages_under_test(db.summary)
    log(f"{ENGINE_NAMES[engine]}: the portal ({report.settings['gunicorn']})")
    moments = report.memory[engine] = {}
    with serve(args, f"portal-{engine}", "rfp_portal:create_app()", env, "/healthz") as server:
        moments["boot"] = memory(server)
        member = log_in(server.port, db.summary["username"], db.summary["password"])
        readers = {
            "logged-out": read_headers(args),
            "logged-in": {**read_headers(args), "Cookie": f"session={member.cookies['session']}"},
        }
        report.checks[engine] = check_pages(server, pages, readers, args.workers)
        moments["after warm-up"] = memory(server)
        mark = time.monotonic()
        measure_reads(report, engine, wrk, args, server, pages, readers)
        seconds[f"{engine}: reads"] = time.monotonic() - mark
        mark = time.monotonic()
        jobs = log_in_writers(report, engine, args, server, db)
        seconds[f"{engine}: writers' log-ins"] = time.monotonic() - mark
        mark = time.monotonic()
        measure_posting(report, engine, wrk, args, server, jobs)
        measure_under_writes(report, engine, wrk, args, server, pages, readers, jobs)
        seconds[f"{engine}: writes"] = time.monotonic() - mark
        report.writers[engine].update(
            comments_by_writer=jobs.comments_made,
            claims_by_writer=jobs.claims_made,
            claims_short=jobs.claims_short,
        )
        moments["end"] = memory(server)


def run(args) -> Report:
    started = time.monotonic()
    seconds: dict[str, float] = {}
    wrk = ensure_wrk()
    args.upload_folder = DATA / "uploads"
    _data_folder()
    with ExitStack() as stack:
        databases: dict[str, Database] = {}
        for engine in args.engines:
            databases[engine] = stack.enter_context(open_database(engine, args, seconds))
        first = databases[args.engines[0]]
        env = portal_environment(first.url, args.upload_folder)
        report = Report(
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            command=public_command(args.argv),
            machine=machine_info(wrk, databases),
            settings={
                "rfps": args.rfps,
                "engines": args.engines,
                "workers": args.workers,
                "threads": args.threads,
                "accept_encoding": args.accept_encoding,
                "connections": args.connections,
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "gunicorn": "gunicorn "
                + shlex.join(gunicorn_command(args, 0, "rfp_portal:create_app()")[3:]).replace(
                    "127.0.0.1:0", "127.0.0.1:PORT"
                ),
                "write_rates": args.write_rates,
                "comment_rate": COMMENT_RATE if args.write_rates else None,
                "claim_every": CLAIM_EVERY,
                "writer_threads": WRITER_THREADS,
                "posting_members": POSTING_MEMBERS,
                "posting_rfps": POSTING_RFPS,
                "postgresql_server_settings": (
                    {**SERVER_SETTINGS}
                    if "postgresql" in databases and databases["postgresql"].copy
                    else None
                ),
            },
            engines=list(args.engines),
            datasets={
                engine: {
                    "database": db.description,
                    "copy_for_the_run": db.copy,
                    "generated_in_this_run": db.generated,
                    **{
                        key: db.summary.get(key)
                        for key in (
                            "generated_at",
                            "counts",
                            "common_word",
                            "common_word_rfps",
                            "rare_word",
                            "rare_word_rfps",
                            "rfp_with_50_comments",
                            "username",
                            "total_seconds",
                        )
                    },
                }
                for engine, db in databases.items()
            },
        )

        mark = time.monotonic()
        measure_imports(report, env, pages_under_test(first.summary), first.summary)
        seconds["import and module checks"] = time.monotonic() - mark

        mark = time.monotonic()
        log(f"Hello world, {args.duration:g} s")
        report.hello.append(measure_hello(wrk, args, env, "start"))
        for engine in args.engines:
            measure_engine(report, wrk, args, databases[engine], seconds)
        log(f"Hello world again, {args.duration:g} s")
        report.hello.append(measure_hello(wrk, args, env, "end"))
        seconds["load"] = time.monotonic() - mark

    hello_rps = statistics.mean(h["rps"] for h in report.hello)
    for row in report.rows:
        row.ratio = row.wrk.rps / hello_rps
        row.target = TARGETS.get(row.page, {}).get((row.engine, row.reader))
        row.met = None if row.target is None else row.ratio >= row.target
    for row in report.under_writes:
        row.ratio = row.wrk.rps / hello_rps
        if row.mix == "comments" and (row.page, row.reader) == ("listing", "logged-out"):
            row.target = COMMENT_RATE_TARGET
            row.met = row.ratio >= row.target
    seconds["total"] = time.monotonic() - started
    report.seconds = seconds
    return report


# -- the report ----------------------------------------------------------------------------------


def _mib(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f}"


def _met(met: bool | None) -> str:
    return "—" if met is None else ("yes" if met else "**no**")


def _against_target(row) -> str:
    """A summary cell: the ratio, and the target with whether it is met."""
    if row is None:
        return "—"
    if row.target is None:
        return f"{row.ratio:.2f}"
    return f"{row.ratio:.2f} (≥ {row.target:g}) {_met(row.met)}"


def _writes_done(writes: dict) -> str:
    errors = sum(writes["errors"].values())
    text = f"{writes['done_per_s']:.1f}"
    if errors:
        text += (
            " (" + ", ".join(f"{n} × {what}" for what, n in sorted(writes["errors"].items())) + ")"
        )
    if writes.get("behind_at_end"):
        text += f", {writes['behind_at_end']} behind"
    return text


def markdown(report: Report) -> str:
    m, s = report.machine, report.settings
    engines = report.engines
    names = [ENGINE_NAMES[e] for e in engines]
    hello_rps = statistics.mean(h["rps"] for h in report.hello)
    rows = {(r.engine, r.page, r.reader): r for r in report.rows}
    lines = [
        f"# Load test, {s['rfps']:,} RFPs, {report.started_at}",
        "",
        f"Command: `{report.command}`.",
        "",
        f"- Machine: {m['cores']} cores ({m['cpu']}), {m['platform']}, Python {m['python']}, "
        f"{', '.join(m['database'][e] for e in engines)}; load average at start "
        f"{', '.join(map(str, m['load_average_at_start']))}",
        f"- Code: {m['code']}",
        f"- Software: {', '.join(f'{k} {v}' for k, v in m['packages'].items())}; {m['wrk']}",
        f"- Server: `{s['gunicorn']}` (sync workers, no access log), page cache on, rate limits off",
        f"- Load: `wrk -t{s['threads']} -c{s['connections']} -d{s['duration_s']:g}s --latency` on "
        f"loopback per page and reader, after {s['warmup_s']:g} s of warm-up; every read "
        + (
            f"(hello world's too) sends `Accept-Encoding: {s['accept_encoding']}`, as Chromium "
            "does, so the portal's kept answers for everyone go gzipped"
            if s.get("accept_encoding")
            else "sends no Accept-Encoding (`--accept-encoding ''`): every answer goes plain"
        ),
    ]
    for engine in engines:
        d = report.datasets[engine]
        counts = ", ".join(f"{n:,} {table}" for table, n in (d.get("counts") or {}).items() if n)
        lines.append(
            f"- {ENGINE_NAMES[engine]}: {d['database']}; data set of {d.get('generated_at')}: "
            f"{counts}"
        )
    if s.get("postgresql_server_settings"):
        lines.append(
            "- The private PostgreSQL cluster runs as the tests' does: "
            + ", ".join(f"`{k}={v}`" for k, v in s["postgresql_server_settings"].items())
            + " (commits cost less than on a server that must survive a power cut)"
        )
    d = report.datasets[engines[0]]
    lines += [
        f"- Search words: common {d['common_word']!r} ({d['common_word_rfps']:,} RFPs), "
        f"rare {d['rare_word']!r} ({d['rare_word_rfps']:,} RFPs); the member reading is "
        f"{d['username']}",
        "- Hello world: "
        + ", ".join(
            f"{h['rps']:,.0f} req/s at the {h['when']} (p50 {h['p50_ms']:.2f} ms)"
            for h in report.hello
        )
        + f"; mean {hello_rps:,.0f} req/s, the yardstick for every ratio",
        "",
        "## Issue 17's targets",
        "",
        "Requests per second as a share of hello world's (comments posted per second for "
        "posting), the target, and whether it is met.",
        "",
        "| page | " + " | ".join(f"{READER_NAMES[r]}, {n}" for n in names for r in READERS) + " |",
        "|---|" + "--:|" * (2 * len(engines)),
    ]
    first = engines[0]
    for row in report.rows:
        if row.engine != first or row.reader != "logged-out" and row.page != "comment":
            continue
        label = f"{row.label} `{row.path}`"
        if row.page == "comment":
            label = "posting a comment (member) `POST /rfps/<id>/comments`"
        cells = [_against_target(rows.get((e, row.page, r))) for e in engines for r in READERS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    under = {(w.engine, w.mix, w.rate, w.page, w.reader): w for w in report.under_writes}
    if s.get("comment_rate"):
        cells = []
        for e in engines:
            for r in READERS:
                cells.append(
                    _against_target(under.get((e, "comments", s["comment_rate"], "listing", r)))
                )
        lines.append(
            f"| visitor `/rfps` while {s['comment_rate']:g} comments a second are posted | "
            + " | ".join(cells)
            + " |"
        )

    lines += [
        "",
        "## Pages",
        "",
        "| page | reader | "
        + " | ".join(f"{n} req/s | p50 / p99 ms | ratio | target | met?" for n in names)
        + " |",
        "|---|---|" + "--:|--:|--:|--:|:-:|" * len(engines),
    ]
    for row in report.rows:
        if row.engine != first:
            continue
        cells = []
        for engine in engines:
            other = rows.get((engine, row.page, row.reader))
            if other is None:
                cells.append("— | — | — | — | —")
                continue
            r = other.wrk
            target = "—" if other.target is None else f"≥ {other.target:g}"
            cells.append(
                f"{r.rps:,.0f} | {r.p50_ms:.1f} / {r.p99_ms:.1f} | {other.ratio:.2f} | "
                f"{target} | {_met(other.met)}"
            )
        lines.append(f"| {row.label} `{row.path}` | {row.reader} | " + " | ".join(cells) + " |")

    problems = [
        f"{ENGINE_NAMES[row.engine]} {row.path} {row.reader}: {row.wrk.non_2xx_3xx} non-2xx/3xx, "
        f"{row.wrk.socket_errors} socket errors"
        for row in report.rows
        if row.page != "comment" and (row.wrk.non_2xx_3xx or row.wrk.socket_errors)
    ]
    cached = {
        engine: [
            k
            for k, c in report.checks[engine].items()
            if k.startswith("logged-out") and "hit" in c["page_cache"]
        ]
        for engine in engines
    }
    pages_count = len([r for r in report.rows if r.engine == first and r.reader == "logged-out"])
    lines += [
        "",
        "Every page answered 200 to both readers before the load"
        + (
            f"; errors under load: {'; '.join(problems)}."
            if problems
            else " and under it (no errors)."
        )
        + " Visitors' pages came from the page cache ("
        + ", ".join(f"{ENGINE_NAMES[e]} {len(cached[e])} of {pages_count}" for e in engines)
        + " seen as `X-Page-Cache: hit` in the checks), so their p99 includes each worker's first, "
        "uncached request.",
    ]
    for row in report.rows:
        if row.page != "comment":
            continue
        dt = row.detail
        others = ", ".join(f"{n} × {what}" for what, n in sorted(dt["other_answers"].items()))
        lines += [
            "",
            f"Posting on {ENGINE_NAMES[row.engine]}: wrk with a Lua script, {s['threads']} threads "
            f"and {s['connections']} connections, {dt['members']} members (each logged in through "
            f"the form, with the token of an RFP page's comment form) posting on {dt['rfps']} RFPs: "
            f"{dt['posted']:,} comments in {row.wrk.seconds:.1f} s ({row.wrk.rps:,.0f} a second; "
            f"{dt['answers_per_s']:,.0f} answers a second); "
            + (f"other answers: {others}." if others else "every answer was a 302 to the comment."),
        ]

    if report.under_writes:
        lines += [
            "",
            "## Reads under writes",
            "",
            f"A writer in the load test's process posts at a fixed rate (open loop, "
            f"{s['writer_threads']} threads, a new connection a write) as distinct generated "
            f"members, with real CSRF tokens: comments, and every {s['claim_every']}th write a "
            "claim through the RFP page's claim form (an open RFP with room, a member under the "
            'per-person limit), or comments alone. "Writes done" counts the writes answered '
            "with a redirect to the new comment or claim during that read's measured seconds; "
            'refused or failed writes are listed by status, and "behind" counts the writes due '
            "and not yet answered at the end.",
            "",
            "| writes a second | page | reader | "
            + " | ".join(f"{n}: writes done/s | req/s | ratio | target | met?" for n in names)
            + " |",
            "|---|---|---|" + "--:|--:|--:|--:|:-:|" * len(engines),
        ]
        seen = []
        for w in report.under_writes:
            key = (w.mix, w.rate, w.page, w.reader)
            if key in seen:
                continue
            seen.append(key)
            cells = []
            for engine in engines:
                other = under.get((engine, *key))
                if other is None:
                    cells.append("— | — | — | — | —")
                    continue
                target = "—" if other.target is None else f"≥ {other.target:g}"
                cells.append(
                    f"{_writes_done(other.writes)} | {other.wrk.rps:,.0f} | {other.ratio:.2f} | "
                    f"{target} | {_met(other.met)}"
                )
            lines.append(
                f"| {w.rate:g} ({w.mix}) | {w.label} `{w.path}` | {w.reader} | "
                + " | ".join(cells)
                + " |"
            )
        lines += [
            "",
            "Writers: "
            + "; ".join(
                f"{ENGINE_NAMES[e]} {wr['members_logged_in']} members logged in, "
                f"{wr['claims_by_writer']} claims and {wr['comments_by_writer']} comments asked "
                f"by the writer ({wr['claims_planned']} claims planned"
                + (
                    f"; {wr['claims_short']} more claims were due, posted as comments instead"
                    if wr.get("claims_short")
                    else ""
                )
                + ")"
                for e, wr in report.writers.items()
            )
            + ". "
            + (
                "The writes went into a copy of the data set made for the run."
                if all(report.datasets[e]["copy_for_the_run"] for e in engines)
                else "The writes stay in a database given with --database-url."
            ),
        ]

    lines += ["", "## Memory and start-up", ""]
    for engine in engines:
        memory_figures = report.memory[engine]
        workers = len(memory_figures["boot"]["workers_mib"])
        lines += [
            f"| {ENGINE_NAMES[engine]}: gunicorn worker resident memory (VmRSS), MiB | "
            + " | ".join(f"worker {i + 1}" for i in range(workers))
            + " |",
            "|---|" + "--:|" * workers,
        ]
        for moment, figures in memory_figures.items():
            lines.append(
                f"| {moment} | " + " | ".join(_mib(v) for v in figures["workers_mib"]) + " |"
            )
        lines.append("")
    ip, pp = report.import_probe, report.pages_probe
    mapped = sorted(
        {
            lib
            for moments in report.memory.values()
            for f in moments.values()
            for lib in f["heavy_libraries_mapped"]
        }
    )
    master = ", ".join(
        f"{ENGINE_NAMES[e]} {_mib(report.memory[e]['boot']['master_mib'])} MiB" for e in engines
    )
    lines += [
        '("after warm-up": each page served at least once to each reader, most likely by both '
        'workers; "end": after the writes too; master process at boot: '
        f"{master}.)",
        "",
        f"- Import time (fresh interpreter, median of {ip['runs']}): `import rfp_portal` "
        f"{ip['import_s_median'] * 1000:.0f} ms, `create_app()` {ip['create_app_s_median'] * 1000:.0f} ms, "
        f"together {ip['total_s_median'] * 1000:.0f} ms",
        "- Slowest top-level imports (`python -X importtime`, cumulative): "
        + ", ".join(f"{r['module']} {r['cumulative_ms']:.0f} ms" for r in report.slowest_imports),
        f"- matplotlib, Pillow, NumPy in `sys.modules` after `create_app()`: "
        f"{', '.join(ip['heavy_after_create_app']) or 'none'}; after serving every page above "
        f"once to each reader (test client): {', '.join(pp.get('heavy_after_pages', [])) or 'none'}",
        "- Their libraries mapped in a gunicorn worker after the load: "
        + (", ".join(f"`{lib}`" for lib in mapped) or "none"),
        "",
        "Run time: " + ", ".join(f"{k} {v:.0f} s" for k, v in report.seconds.items()) + ".",
        "",
    ]
    return "\n".join(lines)


def run_paths(rfps: int) -> tuple[Path, Path]:
    """Where a run of this size leaves its table and raw figures (not committed; growth.py)."""
    return DATA / f"load-{rfps}.md", DATA / f"load-{rfps}.json"


def write_results(report: Report) -> list[Path]:
    """Write the run's table and raw figures; at the default size, replace results/latest.md.

    Only ``latest.md`` goes under ``benchmarks/results/`` (committed): one file, overwritten, no
    timestamped copies. Growth runs at other sizes stay in ``benchmarks/.data/``.
    """
    md_path, json_path = run_paths(report.settings["rfps"])
    DATA.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(asdict(report), indent=2) + "\n")
    text = markdown(report)
    md_path.write_text(text)
    written = [md_path, json_path]
    if report.settings["rfps"] == DEFAULT_RFPS:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "latest.md").write_text(text)
        written.append(RESULTS / "latest.md")
    return written


def _stop_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)  # unwinds like Ctrl-C: servers and the cluster are stopped


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rfps", type=int, default=DEFAULT_RFPS, help="data set size (default 100,000)"
    )
    parser.add_argument(
        "--engines",
        nargs="+",
        choices=ENGINES,
        help="the databases to serve from, in this order (default: sqlite postgresql; with "
        "--database-url, its engine alone). SQLite: benchmarks/.data/rfp-<rfps>.db; "
        "PostgreSQL: a private cluster this script starts and stops, kept in "
        "benchmarks/.data/postgresql/",
    )
    parser.add_argument(
        "--database-url",
        help="measure this database instead of the script's own for its engine (a PostgreSQL "
        "server of your own, say); filled only when empty unless --regenerate; the run's "
        "writes stay in it",
    )
    parser.add_argument(
        "--regenerate", action="store_true", help="make the data sets afresh (emptying them first)"
    )
    parser.add_argument(
        "--duration",
        type=int,
        default=10,
        help="whole seconds measured per page and reader (default 10)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=2,
        help="whole seconds of warm-up before each measurement (default 2; 0: none)",
    )
    parser.add_argument(
        "--write-rates",
        type=float,
        nargs="*",
        default=[1, 5, 20],
        metavar="RATE",
        help="writes a second (three comments, then a claim) during the reads under writes "
        "(default 1 5 20; then comments alone at 20 a second); none: no reads under writes",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn workers (default 2, as make run)"
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument(
        "--accept-encoding",
        default=BROWSER_ENCODINGS,
        help=f"the Accept-Encoding every read sends (default {BROWSER_ENCODINGS!r}, as Chromium; "
        "'' for none)",
    )
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--probe", choices=("import", "pages"), help=argparse.SUPPRESS)
    parser.add_argument("--probe-pages", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        child_probe(args.probe, args.probe_pages)
        return 0
    args.argv = argv
    sys.path.insert(0, str(ROOT))
    if args.database_url and engine_of(args.database_url) not in ENGINES:
        parser.error(f"--database-url: only {' and '.join(ENGINES)} are measured")
    if args.duration < 1 or args.warmup < 0:
        parser.error("--duration is at least 1 second, --warmup at least 0")
    if any(rate <= 0 for rate in args.write_rates):
        parser.error("--write-rates: every rate is a number of writes a second above 0")
    if args.engines is None:
        args.engines = [engine_of(args.database_url)] if args.database_url else list(ENGINES)
    args.engines = list(dict.fromkeys(args.engines))
    if args.database_url and engine_of(args.database_url) not in args.engines:
        parser.error(
            f"--database-url is a {engine_of(args.database_url)} database: add it to --engines"
        )
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        report = run(args)
    except KeyboardInterrupt:
        log("Interrupted: the servers are stopped, and so is the PostgreSQL cluster if it ran.")
        return 130
    written = write_results(report)
    print()
    print(written[0].read_text())
    log("Written to " + ", ".join(str(path.relative_to(ROOT)) for path in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
