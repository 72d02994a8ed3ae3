"""A private PostgreSQL cluster for ``benchmarks/load.py``, kept under ``benchmarks/.data/``.

It is started the way ``tests/postgres.py`` starts the tests' throwaway server (``initdb`` and
``pg_ctl`` of the newest installed PostgreSQL; as root, run as the ``postgres`` user through
``runuser``; a free port on 127.0.0.1 only; ``fsync=off``, ``full_page_writes=off``,
``synchronous_commit=off``; ``trust`` authentication; UTF-8, C locale), but its data folder is kept in
``benchmarks/.data/postgresql/`` (never committed) so that a data set generated once (100,000
RFPs take about a minute) is there for the next run. Each start picks a free port again; its
Unix socket goes to a temporary folder removed at the stop. A cluster made by another major
version of PostgreSQL, or left half-made, is made afresh.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

# As in tests/postgres.py: a server for measuring, not for keeping data through a power cut.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_connections": "200",
}


def find_pg_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb``, or the one on PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: [int(x) for x in Path(p).parent.name.split(".") if x.isdigit()],
    )
    for candidate in reversed(candidates):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def apt_install(package: str, log) -> bool:
    """Install Debian's ``package`` with apt-get when running as root (once more after
    ``apt-get update`` if the first try fails); whether an install was tried."""
    apt = shutil.which("apt-get")
    if os.geteuid() != 0 or not apt:
        return False
    log(f"{package} is missing: apt-get install -y {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run([apt, "install", "-y", package], env=env, check=False)  # noqa: S603
    if done.returncode != 0:
        subprocess.run([apt, "update"], env=env, check=False)  # noqa: S603
        subprocess.run([apt, "install", "-y", package], env=env, check=False)  # noqa: S603
    return True


def ensure_pg_bin(log) -> Path:
    """PostgreSQL's programs, installing Debian's ``postgresql`` when running as root.

    :raise SystemExit: when they are missing and cannot be installed here.
    """
    found = find_pg_bin()
    if found:
        return found
    if apt_install("postgresql", log):
        found = find_pg_bin()
        if found:
            return found
    raise SystemExit(
        "PostgreSQL's initdb and pg_ctl are needed for --engines postgresql and are not "
        "installed. On Debian or Ubuntu: `sudo apt-get install -y postgresql`. Or measure a "
        "server of your own with --database-url, or SQLite alone with --engines sqlite."
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """``initdb`` once into ``root/data``; ``start()`` and ``stop()`` around each run."""

    def __init__(self, root: Path, pg_bin: Path, log) -> None:
        self.root = root
        self.data = root / "data"
        self.log_file = root / "server.log"
        self.pg_bin = pg_bin
        self.log = log
        self.port: int | None = None
        self.socket_dir: Path | None = None
        self.as_user: list[str] = []
        self.user: str | None = None
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            self.as_user = ["runuser", "-u", "postgres", "--"]
            self.user = "postgres"

    @property
    def major_version(self) -> str:
        done = self._run(str(self.pg_bin / "pg_ctl"), "--version")
        return done.stdout.split()[-1].split(".")[0]

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603
            [*self.as_user, *args],
            check=check,
            capture_output=True,
            text=True,
            cwd=self.root,
        )

    def _own(self, path: Path) -> None:
        if self.user:
            shutil.chown(path, self.user)

    def _initialised(self) -> bool:
        version = self.data / "PG_VERSION"
        return version.exists() and version.read_text().strip() == self.major_version

    def _running(self) -> bool:
        """Whether a server (one an earlier run left behind) runs on this data folder."""
        if not (self.data / "postmaster.pid").exists():
            return False
        status = self._run(str(self.pg_bin / "pg_ctl"), "-D", str(self.data), "status", check=False)
        return status.returncode == 0

    def initialise(self) -> bool:
        """Run initdb unless the data folder is there (of this major version). True if it ran.

        :raise SystemExit: when the ``postgres`` user cannot reach the folder (a checkout in a
            home folder closed to others, say).
        """
        self.root.mkdir(parents=True, exist_ok=True)
        self._own(self.root)
        if self.user and self._run("test", "-w", str(self.root), check=False).returncode != 0:
            raise SystemExit(
                f"The {self.user} user cannot write to {self.root} (a folder on the way is closed "
                "to others): open the path to it, or give --database-url of a server of your own."
            )
        if self._initialised():
            return False
        if self._running():
            self._run(str(self.pg_bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        if self.data.exists():
            self.log(
                f"Making the PostgreSQL cluster afresh (not a PostgreSQL {self.major_version} one)"
            )
            shutil.rmtree(self.data)
        self._run(
            str(self.pg_bin / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-locale",
        )
        return True

    def start(self) -> None:
        if self._running():
            self.log("Stopping a PostgreSQL server an earlier run left running on the cluster")
            self._run(str(self.pg_bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        self.port = free_port()
        self.socket_dir = Path(tempfile.mkdtemp(prefix="rfp-load-pg-"))
        self._own(self.socket_dir)
        options = f"-p {self.port} -k {self.socket_dir} " + " ".join(
            f"-c {name}={value}" for name, value in SERVER_SETTINGS.items()
        )
        done = self._run(
            str(self.pg_bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            "120",
            "-o",
            options,
            "start",
            check=False,
        )
        if done.returncode != 0:
            tail = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise RuntimeError(f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}\n{tail}")

    def stop(self) -> None:
        """Stop the server (fast: sessions are ended); the data folder stays."""
        try:
            if self._running():
                self._run(
                    str(self.pg_bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"
                )
        finally:
            if self.socket_dir:
                shutil.rmtree(self.socket_dir, ignore_errors=True)
                self.socket_dir = None
            self.port = None

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    # -- databases, through the maintenance database ---------------------------------------------

    def _admin(self):
        import sqlalchemy as sa

        return sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")

    def exists(self, database: str) -> bool:
        import sqlalchemy as sa

        engine = self._admin()
        try:
            with engine.connect() as connection:
                found = connection.scalar(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
                )
        finally:
            engine.dispose()
        return found is not None

    def create(self, database: str, template: str | None = None) -> None:
        """CREATE DATABASE, empty or as a copy of ``template`` (files copied: fast)."""
        engine = self._admin()
        try:
            with engine.connect() as connection:
                statement = f'CREATE DATABASE "{database}"'
                if template:
                    statement += f' TEMPLATE "{template}"'
                    version = int(connection.exec_driver_sql("SHOW server_version_num").scalar())
                    if version >= 150000:
                        statement += " STRATEGY FILE_COPY"
                connection.exec_driver_sql(statement)
        finally:
            engine.dispose()

    def drop(self, database: str) -> None:
        engine = self._admin()
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            engine.dispose()
