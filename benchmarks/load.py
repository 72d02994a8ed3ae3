"""Load test: the portal under gunicorn on loopback, driven by wrk, beside a bare Flask hello world.

Usage (from the project's root)::

    .venv/bin/python benchmarks/load.py                      # 100,000 RFPs on SQLite, 10 s a page
    .venv/bin/python benchmarks/load.py --rfps 10000         # a smaller community (growth runs)
    .venv/bin/python benchmarks/load.py --duration 5 --regenerate
    .venv/bin/python benchmarks/load.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:55432/rfp

What one run does:

1. Makes sure ``wrk`` is there (``apt-get install -y wrk`` when running as root).
2. Makes the data set with ``benchmarks/generate.py`` (``--scale`` in proportion to ``--rfps``),
   or reuses it: by default a SQLite file ``benchmarks/.data/rfp-<rfps>.db``, kept with its
   summary ``rfp-<rfps>.dataset.json`` and reused while the summary matches the size
   (``--regenerate`` makes it afresh). A ``--database-url`` of your own is filled only when it
   is empty (generate.py refuses a database holding data) unless ``--regenerate`` is given,
   which empties it.
3. Measures, in fresh interpreters, the app's import time (``import rfp_portal`` and
   ``create_app()``, median of 5) with the slowest imports (``-X importtime``), and whether
   matplotlib, Pillow or NumPy are in ``sys.modules`` after ``create_app()`` and after serving
   every page under test once as a visitor and once logged in (Flask's test client).
4. Serves hello world (``benchmarks/hello.py``) with gunicorn and measures it; then serves the
   portal with the README's production command (``gunicorn --workers N --bind 127.0.0.1:PORT
   'rfp_portal:create_app()'``: sync workers, no access log; N is ``make run``'s default, 2),
   logs in as the summary's member, requests every page once per reader, checks each answers
   200 (and that visitors are served from the page cache, members are not), and reads each
   worker's resident memory (``VmRSS``) at boot, after that warm-up and at the end, and whether
   a worker has mapped any matplotlib, Pillow or NumPy library.
5. For each page and each reader (a visitor; a logged-in member, through the session cookie):
   ``wrk --latency`` for ``--warmup`` seconds (discarded), then for ``--duration`` seconds;
   requests per second, p50 and p99 come from wrk's latency distribution.
6. Serves and measures hello world again, and divides every page's rate by the mean of the two
   hello world rates (the machine is shared and noisy; the two show how much it drifted).
7. Writes the table and the raw figures to ``benchmarks/.data/load-<rfps>.md`` and ``.json``
   (overwritten by the next run of that size, never committed; ``growth.py`` reads the JSON) and,
   at the default size, the table to ``benchmarks/results/latest.md``, replacing the last one.
   Nothing written names a path, host or user of the machine: the database appears as a path
   relative to the repository (or its file name, or its kind and name).

The server runs with ``RATELIMIT_DISABLED=1`` (so logging in is never throttled), a fixed
``SECRET_KEY``, and the page cache as in production (``PAGE_CACHE_ENTRIES`` left to its default):
a visitor's page is answered from the worker's memory after the first request, a member's is
rendered every time. Loopback only; wrk and gunicorn share the machine's cores.

At the default size a run takes about 3½ minutes, plus about 35 s to generate the data set the
first time (SQLite). It measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import html.parser
import http.client
import http.cookiejar
import importlib.metadata
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"
RESULTS = HERE / "results"
DEFAULT_RFPS = 100_000
SECRET_KEY = "load-test-secret-key-not-for-production"  # noqa: S105 - fixed on purpose
USER_AGENT = "rfp-portal-load-test"  # the same on log-in and under wrk (Flask-Login checks it)
HEAVY = ("matplotlib", "PIL", "numpy")  # must stay out of a worker until a plot is processed

# The targets, as a share of hello world's rate: (logged-out, logged-in).
TARGETS = {
    "listing": (0.5, 0.25),
    "rfp": (0.5, 0.25),
    "search-common": (0.15, 0.15),
    "search-rare": (0.15, 0.15),
}


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
    page: str
    label: str
    path: str
    reader: str
    wrk: WrkResult
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
    dataset: dict
    import_probe: dict = field(default_factory=dict)
    slowest_imports: list = field(default_factory=list)
    pages_probe: dict = field(default_factory=dict)
    hello: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    checks: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)
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
    apt = shutil.which("apt-get")
    if os.geteuid() == 0 and apt:
        log("wrk is missing: apt-get install -y wrk")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        done = subprocess.run([apt, "install", "-y", "wrk"], env=env, check=False)  # noqa: S603
        if done.returncode != 0:
            subprocess.run([apt, "update"], env=env, check=False)  # noqa: S603
            subprocess.run([apt, "install", "-y", "wrk"], env=env, check=False)  # noqa: S603
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


def run_wrk(wrk: str, url: str, seconds: float, args, headers: dict[str, str]) -> WrkResult:
    command = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds:g}s",
        "--latency",
        "--timeout",
        "30s",  # gunicorn's worker timeout: a slow answer is a latency, not a socket error
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run(  # noqa: S603
        [*command, url], capture_output=True, text=True, check=False
    )
    if done.returncode != 0 or "Requests/sec" not in done.stdout:
        raise RuntimeError(f"wrk failed on {url}:\n{done.stdout}\n{done.stderr}")
    return parse_wrk(done.stdout)


# -- the data set --------------------------------------------------------------------------------


def _render_url(url: str) -> str:
    import sqlalchemy as sa

    from rfp_portal.config import normalise_database_url

    return sa.make_url(normalise_database_url(url)).render_as_string(hide_password=True)


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


def prepare_dataset(args) -> tuple[str, dict, bool]:
    """The database URL, its generator summary, and whether it was made in this run."""
    DATA.mkdir(parents=True, exist_ok=True)
    ignore = DATA / ".gitignore"
    if not ignore.exists():
        ignore.write_text(
            "# Data sets and logs of benchmarks/load.py (gigabytes): never committed.\n*\n"
        )
    if args.database_url:
        database_url = args.database_url
        dialect = database_url.split(":", 1)[0].split("+", 1)[0]
        summary_path = DATA / f"{dialect}-{args.rfps}.dataset.json"
        replace = args.regenerate
    else:
        db_file = DATA / f"rfp-{args.rfps}.db"
        database_url = f"sqlite:///{db_file}"
        summary_path = DATA / f"rfp-{args.rfps}.dataset.json"
        replace = True
        if args.regenerate or not db_file.exists():
            summary_path.unlink(missing_ok=True)
    if summary_path.exists() and not args.regenerate:
        summary = json.loads(summary_path.read_text())
        if (
            summary.get("sizes", {}).get("rfps") == args.rfps
            and summary.get("database") == _render_url(database_url)
            and summary.get("upload_folder") == str(args.upload_folder)
        ):
            log(f"Reusing the data set of {summary['generated_at']} ({summary_path.name})")
            return database_url, summary, False
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
    return database_url, json.loads(summary_path.read_text()), True


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


class _CsrfField(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.token: str | None = None

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        if tag == "input" and attributes.get("name") == "csrf_token" and self.token is None:
            self.token = attributes.get("value")


def csrf_token(page: str) -> str:
    parser = _CsrfField()
    parser.feed(page)
    if not parser.token:
        raise RuntimeError("no csrf_token on the log-in page")
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, path: str, headers: dict[str, str] | None = None):
    """One GET on loopback, no redirects followed: (status, headers, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path, headers={"User-Agent": USER_AGENT, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
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


def log_in(port: int, username: str, password: str) -> str:
    """The value of the session cookie of a member who logged in (and saw the welcome once)."""
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
    cookies = {cookie.name: cookie.value for cookie in jar}
    if "session" not in cookies:
        raise RuntimeError("logging in gave no session cookie")
    return cookies["session"]


def probe(port: int, path: str, headers: dict[str, str]) -> Probe:
    status, response_headers, body = request(port, path, headers)
    return Probe(
        status=status,
        bytes=len(body),
        page_cache=response_headers.get("X-Page-Cache"),
        set_cookie="Set-Cookie" in response_headers,
        logged_in=b"Log out" in body,
    )


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


def machine_info(wrk: str, summary: dict, database_url: str) -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for package in ("flask", "werkzeug", "jinja2", "sqlalchemy", "gunicorn"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    wrk_version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)  # noqa: S603
    database = f"SQLite {sqlite3.sqlite_version}"
    if summary.get("dialect") == "postgresql":
        import sqlalchemy as sa

        from rfp_portal.config import normalise_database_url

        engine = sa.create_engine(normalise_database_url(database_url))
        with engine.connect() as connection:
            database = "PostgreSQL " + connection.exec_driver_sql("SHOW server_version").scalar()
        engine.dispose()
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


def measure_hello(wrk: str, args, env: dict, when: str) -> dict:
    with serve(args, f"hello-{when}", "hello:app", env, "/", "--pythonpath", str(HERE)) as server:
        url = f"{server.base}/"
        run_wrk(wrk, url, args.warmup, args, {"User-Agent": USER_AGENT})
        result = run_wrk(wrk, url, args.duration, args, {"User-Agent": USER_AGENT})
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


def measure_portal(
    report: Report, wrk: str, args, env: dict, pages: list[Page], summary: dict
) -> None:
    """Serve the portal; check, then load every page as each reader; memory along the way."""
    log(f"The portal: {report.settings['gunicorn']}")
    with serve(args, "portal", "rfp_portal:create_app()", env, "/healthz") as server:
        report.memory["boot"] = memory(server)
        cookie = log_in(server.port, summary["username"], summary["password"])
        readers = {
            "logged-out": {"User-Agent": USER_AGENT},
            "logged-in": {"User-Agent": USER_AGENT, "Cookie": f"session={cookie}"},
        }
        report.checks = check_pages(server, pages, readers, args.workers)
        report.memory["after warm-up"] = memory(server)
        for page in pages:
            for reader, headers in readers.items():
                url = server.base + page.path
                run_wrk(wrk, url, args.warmup, args, headers)
                result = run_wrk(wrk, url, args.duration, args, headers)
                report.rows.append(Row(page.key, page.label, page.path, reader, result))
                log(
                    f"  {page.label:<40} {reader:<10} {result.rps:8,.0f} req/s"
                    f"  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms"
                )
        report.memory["end"] = memory(server)


def run(args) -> Report:
    started = time.monotonic()
    seconds: dict[str, float] = {}
    wrk = ensure_wrk()
    args.upload_folder = DATA / "uploads"

    mark = time.monotonic()
    database_url, summary, generated = prepare_dataset(args)
    seconds["data set" + (" (generated)" if generated else " (reused)")] = time.monotonic() - mark
    env = portal_environment(database_url, args.upload_folder)
    pages = pages_under_test(summary)

    report = Report(
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        command=public_command(args.argv),
        machine=machine_info(wrk, summary, database_url),
        settings={
            "rfps": args.rfps,
            "workers": args.workers,
            "threads": args.threads,
            "connections": args.connections,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "gunicorn": "gunicorn "
            + shlex.join(gunicorn_command(args, 0, "rfp_portal:create_app()")[3:]).replace(
                "127.0.0.1:0", "127.0.0.1:PORT"
            ),
            "database": describe_database(database_url),
        },
        dataset={
            key: summary.get(key)
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
    )

    mark = time.monotonic()
    measure_imports(report, env, pages, summary)
    seconds["import and module checks"] = time.monotonic() - mark

    mark = time.monotonic()
    log(f"Hello world, {args.duration:g} s")
    report.hello.append(measure_hello(wrk, args, env, "start"))
    measure_portal(report, wrk, args, env, pages, summary)
    log(f"Hello world again, {args.duration:g} s")
    report.hello.append(measure_hello(wrk, args, env, "end"))
    seconds["load"] = time.monotonic() - mark

    hello_rps = statistics.mean(h["rps"] for h in report.hello)
    for row in report.rows:
        row.ratio = row.wrk.rps / hello_rps
        targets = TARGETS.get(row.page)
        if targets:
            row.target = targets[0] if row.reader == "logged-out" else targets[1]
            row.met = row.ratio >= row.target
    seconds["total"] = time.monotonic() - started
    report.seconds = seconds
    return report


# -- the report ----------------------------------------------------------------------------------


def _mib(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f}"


def markdown(report: Report) -> str:
    m, s, d = report.machine, report.settings, report.dataset
    hello_rps = statistics.mean(h["rps"] for h in report.hello)
    counts = ", ".join(f"{n:,} {table}" for table, n in (d.get("counts") or {}).items())
    lines = [
        f"# Load test, {s['rfps']:,} RFPs, {report.started_at}",
        "",
        f"Command: `{report.command}`.",
        "",
        f"- Machine: {m['cores']} cores ({m['cpu']}), {m['platform']}, Python {m['python']}, "
        f"{m['database']}; load average at start {', '.join(map(str, m['load_average_at_start']))}",
        f"- Code: {m['code']}",
        f"- Software: {', '.join(f'{k} {v}' for k, v in m['packages'].items())}; {m['wrk']}",
        f"- Server: `{s['gunicorn']}` (sync workers, no access log), page cache on, rate limits off",
        f"- Load: `wrk -t{s['threads']} -c{s['connections']} -d{s['duration_s']:g}s --latency` on "
        f"loopback per page and reader, after {s['warmup_s']:g} s of warm-up",
        f"- Data set ({d.get('generated_at')}): {counts}",
        f"- Search words: common {d['common_word']!r} ({d['common_word_rfps']:,} RFPs), "
        f"rare {d['rare_word']!r} ({d['rare_word_rfps']:,} RFPs); logged in as {d['username']}",
        "- Hello world: "
        + ", ".join(
            f"{h['rps']:,.0f} req/s at the {h['when']} (p50 {h['p50_ms']:.2f} ms)"
            for h in report.hello
        )
        + f"; mean {hello_rps:,.0f} req/s, the yardstick for every ratio",
        "",
        "| page | reader | req/s | p50 ms | p99 ms | ratio to hello | target | met? |",
        "|---|---|--:|--:|--:|--:|--:|:-:|",
    ]
    for row in report.rows:
        r = row.wrk
        target = "—" if row.target is None else f"≥ {row.target:g}"
        met = "—" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(
            f"| {row.label} `{row.path}` | {row.reader} | {r.rps:,.0f} | {r.p50_ms:.1f} | "
            f"{r.p99_ms:.1f} | {row.ratio:.2f} | {target} | {met} |"
        )
    problems = [
        f"{row.path} {row.reader}: {row.wrk.non_2xx_3xx} non-2xx/3xx, {row.wrk.socket_errors} socket errors"
        for row in report.rows
        if row.wrk.non_2xx_3xx or row.wrk.socket_errors
    ]
    cached = [
        k
        for k, c in report.checks.items()
        if k.startswith("logged-out") and "hit" in c["page_cache"]
    ]
    lines += [
        "",
        "Every page answered 200 to both readers before the load"
        + (
            f"; errors under load: {'; '.join(problems)}."
            if problems
            else " and under it (no errors)."
        )
        + f" Visitors' pages came from the page cache ({len(cached)} of {len(report.rows) // 2} "
        "seen as `X-Page-Cache: hit` in the checks), so their p99 includes each worker's first, "
        "uncached request; members' pages are rendered every time.",
        "",
        "## Memory and start-up",
        "",
        "| gunicorn worker resident memory (VmRSS), MiB | "
        + " | ".join(f"worker {i + 1}" for i in range(len(report.memory["boot"]["workers_mib"])))
        + " |",
        "|---|" + "--:|" * len(report.memory["boot"]["workers_mib"]),
    ]
    for moment, figures in report.memory.items():
        lines.append(f"| {moment} | " + " | ".join(_mib(v) for v in figures["workers_mib"]) + " |")
    ip, pp = report.import_probe, report.pages_probe
    mapped = sorted({lib for f in report.memory.values() for lib in f["heavy_libraries_mapped"]})
    lines += [
        "",
        '("after warm-up": each page served at least once to each reader, most likely by both '
        f"workers; master process {_mib(report.memory['boot']['master_mib'])} MiB.)",
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rfps", type=int, default=DEFAULT_RFPS, help="data set size (default 100,000)"
    )
    parser.add_argument(
        "--database-url",
        help="default: a SQLite file benchmarks/.data/rfp-<rfps>.db; another database is filled "
        "only when empty, unless --regenerate",
    )
    parser.add_argument(
        "--regenerate", action="store_true", help="make the data set afresh (emptying it first)"
    )
    parser.add_argument(
        "--duration", type=float, default=10, help="seconds measured per page (default 10)"
    )
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per page")
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn workers (default 2, as make run)"
    )
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--probe", choices=("import", "pages"), help=argparse.SUPPRESS)
    parser.add_argument("--probe-pages", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        child_probe(args.probe, args.probe_pages)
        return 0
    args.argv = argv
    sys.path.insert(0, str(ROOT))
    report = run(args)
    written = write_results(report)
    print()
    print(written[0].read_text())
    log("Written to " + ", ".join(str(path.relative_to(ROOT)) for path in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
