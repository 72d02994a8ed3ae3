"""The bounded child process (rendering.bounded) never outlives, or holds on to, its worker (issue 15).

A worker killed while its child worked (``kill -9``, the OOM killer) once left the child behind
for good: blocked writing a result of megabytes into a pipe nobody read, holding the client's
connection (the client hung until its own timeout) and the listening socket (a restarted
gunicorn failed with "Address already in use").
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from rfp_portal import create_app, migrate
from rfp_portal.db import get_session
from rfp_portal.models import Compute, Difficulty, User
from rfp_portal.rendering.bounded import run_bounded
from rfp_portal.services.accounts import register_user
from rfp_portal.services.rfps import RfpDraft, submit_rfp
from tests.conftest import PASSWORD

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


# -- processes, seen through /proc --------------------------------------------------------------


def _state(pid: int) -> str | None:
    """The state letter of a process (``Z`` for a zombie), or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie nobody has reaped yet holds nothing any more)."""
    return _state(pid) in (None, "Z")


def _children(pid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(name))
    return found


def _sockets_held(pid: int) -> list[str]:
    held = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):
            held.append(f"{fd} -> {target}")
    return held


def _wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def _kill_if_alive(pid: int | None) -> None:
    if pid is not None and not _gone(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# -- the runner itself ---------------------------------------------------------------------------


def _megabyte(fill: int) -> bytes:
    return bytes([fill]) * (1024 * 1024)


def test_a_result_larger_than_a_pipe_buffer_comes_back_whole():
    assert run_bounded(_megabyte, 7, seconds=30) == bytes([7]) * (1024 * 1024)


# A process that opens a listening socket (as a gunicorn worker holds one), then waits in
# run_bounded for a child that tells its pid and works for 30 s towards a 1 MB result.
ORPHAN_SCRIPT = textwrap.dedent(
    """
    import os, socket, sys, time
    from rfp_portal.rendering import bounded

    if sys.argv[2] == "without-prctl":
        bounded._prctl = None  # as on a system without prctl: the child watches its parent instead
    listener = socket.create_server(("127.0.0.1", 0))

    def work(path):
        with open(path + ".part", "w") as out:
            out.write(str(os.getpid()))
        os.rename(path + ".part", path)
        time.sleep(30)
        return b"x" * (1024 * 1024)

    bounded.run_bounded(work, sys.argv[1], seconds=60)
    """
)


@pytest.mark.parametrize("parent_death", ["with-prctl", "without-prctl"])
def test_a_child_whose_parent_dies_exits_and_holds_none_of_its_sockets(tmp_path, parent_death):
    told = tmp_path / "child.pid"
    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT, str(told), parent_death],
        cwd=Path(__file__).resolve().parents[1],
    )
    child = None
    try:
        assert _wait_until(told.exists, 30), "the child never started"
        child = int(told.read_text())
        assert _sockets_held(child) == []  # the parent's listening socket is not the child's
        parent.kill()
        parent.wait(5)
        assert _wait_until(lambda: _gone(child), 3), "the child outlived its parent"
    finally:
        parent.kill()
        parent.wait(5)
        _kill_if_alive(child)


# -- on a real gunicorn ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_gunicorn(port: int, env: dict, log: Path) -> subprocess.Popen:
    with log.open("a") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}",
             "rfp_portal:create_app()"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[1],
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            status, _, _ = _request(port, "GET", "/healthz")
            if status == 200:
                return server
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            server.wait(5)
            raise AssertionError(
                f"gunicorn did not start on port {port}:\n{log.read_text()[-2000:]}"
            )
        time.sleep(0.1)


def _stop(server: subprocess.Popen) -> None:
    """Stop gunicorn as an operator would (SIGTERM: its workers stop with it)."""
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(5)


def _request(port, method, path, body=None, headers=None, timeout=10):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.msg.get_all("Set-Cookie") or [], response.read().decode()
    finally:
        connection.close()


class _Client:
    """Just enough of a browser: its cookies and the CSRF token of each form."""

    def __init__(self, port: int) -> None:
        self.port, self.cookies = port, {}

    def headers(self, **extra) -> dict:
        cookie = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        return {"Cookie": cookie, "Referer": f"http://127.0.0.1:{self.port}/", **extra}

    def get(self, path: str) -> str:
        status, cookies, text = _request(self.port, "GET", path, headers=self.headers())
        self._keep(cookies)
        assert status == 200, (path, status)
        return text

    def post(self, path: str, fields: dict, form_path: str) -> int:
        token = CSRF.search(self.get(form_path)).group(1)
        body = urllib.parse.urlencode({**fields, "csrf_token": token})
        type_ = "application/x-www-form-urlencoded"
        status, cookies, _ = _request(
            self.port, "POST", path, body, self.headers(**{"Content-Type": type_})
        )
        self._keep(cookies)
        return status

    def _keep(self, cookies: list[str]) -> None:
        for cookie in cookies:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value


def _noisy_png() -> bytes:
    """A 5000×5000 PNG of 5-pixel blocks of noise, 3 MB: about 2 s of re-encoding in the child."""
    noise = Image.frombytes("L", (1000, 1000), os.urandom(1000 * 1000))
    out = io.BytesIO()
    noise.resize((5000, 5000), Image.NEAREST).convert("RGB").save(out, "PNG", compress_level=1)
    return out.getvalue()


def _multipart(fields: dict, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="{filename}"\r\n'
        "Content-Type: image/png\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _database_with_an_rfp(tmp_path: Path) -> tuple[str, int]:
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    engine = sa.create_engine(url)
    migrate.upgrade(engine)
    with sa.orm.Session(engine) as session:
        register_user(
            session, username="ada", email="ada@example.org", display_name="Ada", password=PASSWORD
        )
        session.commit()
    engine.dispose()
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "test", "INSTANCE_PATH": str(tmp_path / "instance")}
    )
    with app.app_context():
        session = get_session()
        ada = session.scalars(sa.select(User).where(User.username == "ada")).one()
        draft = RfpDraft(
            title="Noise", summary="A noisy plot", big_picture="Noise.", first_plot="Noise.",
            tags=["noise"], difficulty=Difficulty.BEGINNER, compute=Compute.LAPTOP, claim_cap=None,
        )  # fmt: skip
        rfp_id = submit_rfp(session, author=ada, draft=draft, no_plot_yet=True).id
        session.commit()
    app.extensions["rfp_db"]["engine"].dispose()
    return url, rfp_id


def _upload_of_noise(client: _Client, rfp_id: int) -> tuple[str, bytes, str]:
    """An example upload of a noisy 3 MB PNG: about 2 s of re-encoding in the child."""
    form = client.get(f"/rfps/{rfp_id}/plots/new/example")
    fields = {
        "csrf_token": CSRF.search(form).group(1),
        "kind": "example",
        "caption": "Noise",
        "alt_text": "Noise.",
    }
    body, content_type = _multipart(fields, "noise.png", _noisy_png())
    return f"/rfps/{rfp_id}/plots", body, content_type


def _costliest_sketch(client: _Client, rfp_id: int) -> tuple[str, bytes, str]:
    """A sketch at every limit at once (5 × 400 points, hand-drawn, log axes, math labels)."""
    form = client.get(f"/rfps/{rfp_id}/plots/new/sketch")
    label = "$\\frac{\\sqrt{x^{2}}}{\\sum_{i}^{n}}$ " * 4
    fields = {
        "csrf_token": CSRF.search(form).group(1),
        "kind": "sketch",
        "chart": "line",
        "title": label,
        "x_label": label,
        "y_label": label,
        "x_log": "y",
        "y_log": "y",
        "hand_drawn": "y",
        "caption": "Costly",
        "alt_text": "Costly.",
        **{
            f"series-{s}-points": "\n".join(
                f"{i + 1}, {1 + (i * (s + 3)) % 17}" for i in range(400)
            )
            for s in range(5)
        },
    }
    body = urllib.parse.urlencode(fields).encode()
    return f"/rfps/{rfp_id}/plots", body, "application/x-www-form-urlencoded"


def _long_markdown(client: _Client, rfp_id: int) -> tuple[str, bytes, str]:
    """A draft whose big picture is the costliest Markdown known (unclosed links): rendering it
    runs in the child until its 0.75 s of processor time are spent."""
    form = client.get("/rfps/new")
    fields = {
        "csrf_token": CSRF.search(form).group(1),
        "title": "Costly text",
        "summary": "s",
        "big_picture": "[a](b" * 3_999,
        "first_plot": "f",
        "difficulty": "beginner",
        "compute": "laptop",
        "save_draft": "Save as draft",
    }
    body = urllib.parse.urlencode(fields).encode()
    return "/rfps/new", body, "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "costly_request",
    [_upload_of_noise, _costliest_sketch, _long_markdown],
    ids=["upload", "sketch", "markdown"],
)
def test_a_killed_worker_leaves_no_child_no_hung_client_and_no_held_port(tmp_path, costly_request):
    database_url, rfp_id = _database_with_an_rfp(tmp_path)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "UPLOAD_FOLDER": str(tmp_path / "uploads"),
        "RATELIMIT_DISABLED": "1",
    }
    port, log = _free_port(), tmp_path / "gunicorn.log"
    master = _start_gunicorn(port, env, log)
    bounded_child = None
    try:
        client = _Client(port)
        assert client.post("/login", {"login": "ada", "password": PASSWORD}, "/login") == 302
        path, body, content_type = costly_request(client, rfp_id)
        (worker,) = _children(master.pid)

        outcome: dict = {}

        def upload() -> None:
            started = time.monotonic()
            try:
                outcome["status"] = _request(
                    port,
                    "POST",
                    path,
                    body,
                    client.headers(**{"Content-Type": content_type}),
                    timeout=10,
                )[0]
            except (OSError, http.client.HTTPException) as error:  # a timeout is an OSError too
                outcome["error"] = error
            outcome["seconds"] = time.monotonic() - started

        uploading = threading.Thread(target=upload)
        uploading.start()
        assert _wait_until(lambda: _children(worker), 10), "the worker never forked its child"
        (bounded_child,) = _children(worker)
        time.sleep(0.15)  # into the work (each kind takes the child most of a second or more)
        assert not _gone(bounded_child), "the work ended before the test could kill its worker"
        os.kill(worker, signal.SIGKILL)
        killed = time.monotonic()

        # (1) Nothing is left but the master and its (new) worker.
        assert _wait_until(lambda: _gone(bounded_child), 3), "the child outlived its worker"
        assert all(_children(pid) == [] for pid in _children(master.pid))

        # (2) The client learns at once that its request is lost; it does not hang until timeout.
        uploading.join(12)
        assert "error" in outcome and not isinstance(outcome["error"], TimeoutError), outcome
        assert outcome["seconds"] < 5 and time.monotonic() - killed < 5, outcome

        # (3) A server restarted on the same port starts and serves at once.
        _stop(master)
        master = _start_gunicorn(port, env, log)
        assert _request(port, "GET", "/healthz")[0] == 200
    finally:
        _stop(master)
        _kill_if_alive(bounded_child)
