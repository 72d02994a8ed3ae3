"""The outbox: how fast the sender delivers, and what a mail server's outage costs a page.

Usage: .venv/bin/python benchmarks/outbox.py [--messages 2000] [--requests 200]
                                            [--database-url postgresql://…]

Needs the test dependencies (aiosmtpd): `make test` installs them into .venv.

1. **Sender throughput.** Queues ``--messages`` notification e-mails (each a real claim's
   notification, composed from the templates at send time) and drains them with one sender
   (``Sender.send_due``) to an SMTP server on 127.0.0.1 (aiosmtpd, in this process), then with
   two senders at once (threads, PostgreSQL only: they share the rows through
   ``FOR UPDATE SKIP LOCKED``), then to ``.eml`` files (``make run``'s default).
2. **A page that queues mail, the server up and down.** ``--requests`` comments posted through
   the Flask test client while ``flask outbox run`` runs in its own process beside them (as on
   ``make run``), once with the SMTP server up and once with nothing listening: the median and
   p95 of the request times. The request only writes a row, so the two should match.
3. **Forgot your password.** The time of ``POST /password/forgot`` for an address that has an
   account and one that has none (medians): the same answer, in the same time band.

Prints a Markdown table and writes it to ``benchmarks/results/outbox-<engine>.md`` (replacing
the last), naming the engine but no path or host of the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from rfp_portal import create_app, migrate
from rfp_portal.db import get_engine, get_session
from rfp_portal.models import (
    Channel,
    Compute,
    Difficulty,
    MessageKind,
    MessageState,
    OutboxMessage,
    User,
)
from rfp_portal.outbox.sender import Sender
from rfp_portal.services.rfps import RfpDraft, submit_rfp

ROOT = Path(__file__).resolve().parent
PASSWORD = "correct horse battery"  # noqa: S105 - the benchmark's made-up members


def _smtp_server():
    from tests.mailserver import SmtpServer

    server = SmtpServer()
    server.start()
    return server


def make_app(url: str | None, instance: Path, mail_url: str):
    app = create_app(
        {
            "DATABASE_URL": url or f"sqlite:///{instance / 'bench.db'}",
            "SECRET_KEY": "bench",
            "INSTANCE_PATH": str(instance),
            "RATELIMIT_ENABLED": False,
            "MAIL_URL": mail_url,
            "WTF_CSRF_ENABLED": False,
            "DATABASE_POOL_SIZE": 10,
        }
    )
    with app.app_context():
        engine = get_engine()
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        migrate.upgrade(engine)
    return app


def seed(app, people: int) -> int:
    """``people`` confirmed members and one RFP by the first; return the RFP's id."""
    now = datetime.now(UTC)
    hashed = generate_password_hash(PASSWORD, "pbkdf2:sha256:1000")
    with app.app_context():
        session = get_session()
        session.execute(
            sa.insert(User),
            [
                {
                    "username": f"p{n}",
                    "email": f"p{n}@example.org",
                    "display_name": f"Person {n}",
                    "password_hash": hashed,
                    "session_token": f"token{n}",
                    "created_at": now,
                    "email_confirmed_at": now,
                }
                for n in range(people)
            ],
        )
        author = session.scalar(sa.select(User).where(User.username == "p0"))
        draft = RfpDraft(
            "A benchmark RFP",
            "One plot.",
            "Why.",
            "What.",
            ["bench"],
            Difficulty.BEGINNER,
            Compute.LAPTOP,
            None,
        )
        rfp = submit_rfp(session, author=author, draft=draft, no_plot_yet=True)
        session.execute(sa.delete(OutboxMessage))
        session.commit()
        return rfp.id


def queue(app, count: int) -> None:
    """``count`` password-reset e-mails (composed from templates, with a signed link, at send
    time, as every e-mail is)."""
    now = datetime.now(UTC)
    with app.app_context():
        session = get_session()
        users = session.execute(
            sa.select(User.id, User.password_hash).order_by(User.id).limit(count)
        ).all()
        params = {
            user_id: {
                "requested_at": now.isoformat(),
                "fingerprint": User(password_hash=hashed).password_fingerprint(),
            }
            for user_id, hashed in users
        }
        ids = [user_id for user_id, _ in users]
        session.execute(
            sa.insert(OutboxMessage),
            [
                {
                    "channel": Channel.EMAIL,
                    "kind": MessageKind.PASSWORD_RESET,
                    "user_id": ids[n % len(ids)],
                    "params": params[ids[n % len(ids)]],
                    "created_at": now,
                    "send_after": now,
                }
                for n in range(count)
            ],
        )
        session.commit()


def drain(app, senders: int) -> tuple[float, int]:
    reports = []
    threads = [
        threading.Thread(target=lambda: reports.append(Sender(app).send_due()))
        for _ in range(senders)
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, sum(r.sent for r in reports)


def reset(app) -> None:
    with app.app_context():
        get_session().execute(sa.delete(OutboxMessage))
        get_session().commit()


def throughput(app, messages: int, rows: list, label: str, senders: int = 1) -> None:
    reset(app)
    queue(app, messages)
    seconds, sent = drain(app, senders)
    rows.append((label, f"{sent} sent in {seconds:.2f} s", f"{sent / seconds:,.0f} messages/s"))


def timed_posts(app, rfp_id: int, requests: int) -> list[float]:
    client = app.test_client()
    client.post("/login", data={"login": "p1", "password": PASSWORD})
    times = []
    for n in range(requests):
        start = time.perf_counter()
        response = client.post(f"/rfps/{rfp_id}/comments", data={"body": f"Comment {n}"})
        times.append(time.perf_counter() - start)
        assert response.status_code == 302, response.status_code
    return times


def with_sender_running(app, work):
    """Run ``work`` while ``flask outbox run`` runs in a process of its own, as in production."""
    env = {
        **os.environ,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "INSTANCE_PATH": app.instance_path,
        "MAIL_URL": app.config["MAIL_URL"],
    }
    flask = Path(sys.executable).with_name("flask")
    sender = subprocess.Popen(  # noqa: S603 - our own command
        [str(flask), "--app", "rfp_portal", "outbox", "run", "--poll", "0.2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(3)  # started and looking
        return work()
    finally:
        time.sleep(1)
        sender.terminate()
        sender.wait(timeout=30)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", help="PostgreSQL to use (its tables are replaced)")
    args = parser.parse_args()
    engine = "PostgreSQL" if args.database_url else "SQLite"
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp)
        smtp = _smtp_server()
        try:
            app = make_app(args.database_url, instance, smtp.url)
            # every comment notifies the author (p0) and, after the first, a reply to earlier
            # commenters: mail at once for comments, so each request queues an e-mail
            rfp_id = seed(app, max(args.messages, 10))
            with app.app_context():
                get_session().execute(
                    sa.text(
                        "INSERT INTO notification_settings (user_id, kind, delivery) "
                        "SELECT id, 'commented', 'email' FROM users"
                    )
                )
                get_session().commit()

            throughput(app, args.messages, rows, f"1 sender → SMTP on 127.0.0.1 ({engine})")
            if args.database_url:
                throughput(
                    app, args.messages, rows, "2 senders at once → SMTP (PostgreSQL)", senders=2
                )
            app.config["MAIL_URL"] = f"file://{instance / 'mail'}"
            throughput(app, args.messages, rows, f"1 sender → .eml files ({engine})")
            app.config["MAIL_URL"] = smtp.url
            reset(app)

            before = len(smtp.received)
            up = with_sender_running(app, lambda: timed_posts(app, rfp_id, args.requests))
            queued_up = len(smtp.received) - before
            smtp.stop()
            down = with_sender_running(app, lambda: timed_posts(app, rfp_id, args.requests))
            with app.app_context():
                waiting = get_session().scalar(
                    sa.select(sa.func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.state == MessageState.WAITING)
                )
            rows.append(
                (
                    "POST a comment (queues an e-mail), SMTP up",
                    f"median {statistics.median(up) * 1000:.1f} ms, p95 {p95(up) * 1000:.1f} ms",
                    f"{args.requests} requests; the sender process beside them delivered {queued_up}",
                )
            )
            rows.append(
                (
                    "POST a comment (queues an e-mail), SMTP down",
                    f"median {statistics.median(down) * 1000:.1f} ms, p95 {p95(down) * 1000:.1f} ms",
                    f"{args.requests} requests; {waiting} e-mails left waiting to retry",
                )
            )

            client = app.test_client()
            known, unknown = [], []
            for n in range(args.requests // 2):
                for address, bucket in (
                    (f"p{n + 2}@example.org", known),
                    (f"nobody{n}@example.org", unknown),
                ):
                    start = time.perf_counter()
                    client.post("/password/forgot", data={"email": address})
                    bucket.append(time.perf_counter() - start)
            rows.append(
                (
                    "POST /password/forgot, an account's address",
                    f"median {statistics.median(known) * 1000:.2f} ms, p95 {p95(known) * 1000:.2f} ms",
                    "same redirect and page for both",
                )
            )
            rows.append(
                (
                    "POST /password/forgot, an unknown address",
                    f"median {statistics.median(unknown) * 1000:.2f} ms, p95 {p95(unknown) * 1000:.2f} ms",
                    "",
                )
            )
        finally:
            smtp.stop()
    table = [
        f"# Outbox benchmark ({engine})",
        "",
        f"`benchmarks/outbox.py --messages {args.messages} --requests {args.requests}`, "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}.",
        "",
        "| what | measured | note |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
    ]
    text = "\n".join(table)
    print(text)
    (ROOT / "results" / f"outbox-{engine.lower()}.md").write_text(text)


if __name__ == "__main__":
    main()
