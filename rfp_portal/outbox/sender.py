"""The sender: takes due rows from the outbox one at a time, delivers them, records the result.

On PostgreSQL each row is taken with ``FOR UPDATE SKIP LOCKED`` and kept locked until its result
is committed, so several senders may run at once and no row is sent twice. On SQLite (which has
no row locks) one sender is enough. A temporary failure waits with exponential backoff and
jitter (or as long as ``Retry-After`` asks); a permanent one, or the last attempt, fails the row,
and an admin sees it at /admin/outbox.
"""

from __future__ import annotations

import logging
import random
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from rfp_portal import clock
from rfp_portal.db import get_session
from rfp_portal.models import Channel, ClaimPolicy, MessageState, OutboxMessage
from rfp_portal.models.outbox import ERROR_MAX
from rfp_portal.outbox.compose import Drop, compose_email, compose_webhook
from rfp_portal.outbox.transports import DeliveryError, mailer_for, post_json
from rfp_portal.services.reminders import run_schedule

log = logging.getLogger("rfp_portal.outbox")

BACKOFF_CAP = timedelta(hours=6)
BATCH = 10  # rows per transaction on PostgreSQL (a crash between sending and committing resends
# at most these; every message carries the same Message-ID each time, so receivers can tell)


def backoff(attempts: int, base_seconds: float, rng: random.Random = random) -> timedelta:  # type: ignore[assignment]
    """How long to wait after the ``attempts``-th failure: doubling from ``base_seconds``, capped
    at six hours, with jitter (half to all of it) so retries after an outage spread out."""
    delay = min(base_seconds * 2 ** max(attempts - 1, 0), BACKOFF_CAP.total_seconds())
    return timedelta(seconds=rng.uniform(delay / 2, delay))


@dataclass
class Report:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    dropped: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed + self.dropped

    def __str__(self) -> str:
        return (
            f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed, "
            f"{self.dropped} dropped"
        )


class Sender:
    """Delivers the outbox of ``app``; its own sessions, so the page cache's generation (which
    every content write moves) stays where it is while mail goes out."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.config = app.config
        self.sessions = sessionmaker(app.extensions["rfp_db"]["engine"])
        self._stopping = False

    def _take(
        self, session: Session, now: datetime, skip: set[int], count: int
    ) -> list[OutboxMessage]:
        query = (
            sa.select(OutboxMessage)
            .where(OutboxMessage.state == MessageState.WAITING, OutboxMessage.send_after <= now)
            .order_by(OutboxMessage.send_after, OutboxMessage.id)
            .limit(count)
            .with_for_update(skip_locked=True, of=OutboxMessage)
        )
        if skip:
            query = query.where(OutboxMessage.id.not_in(skip))
        return list(session.scalars(query))

    def _batch(self, session: Session) -> int:
        """Rows per transaction. PostgreSQL: a few, locked together, one commit (and one flush
        to disk) for all. SQLite: one, since its single write lock must not be held while the
        next message is being sent."""
        return 1 if session.get_bind().dialect.name == "sqlite" else BATCH

    def send_due(self, *, limit: int | None = None) -> Report:
        """Send what is due now (at most ``limit`` rows) and return what happened."""
        report = Report()
        skip: set[int] = set()  # rows this pass has handled (a retry may be due at once)
        mail_url = self.config["MAIL_URL"]
        with (
            self.app.test_request_context("/", base_url=self.config["PUBLIC_URL"]),
            mailer_for(mail_url, self.app.instance_path) as mailer,
        ):
            while limit is None or report.handled < limit:
                if self._stopping:
                    break
                with self.sessions() as session:
                    now = clock.now()
                    count = self._batch(session)
                    if limit is not None:
                        count = min(count, limit - report.handled)
                    rows = self._take(session, now, skip, count)
                    if not rows:
                        session.rollback()
                        break
                    for row in rows:
                        skip.add(row.id)
                        self._deliver(session, row, mailer, now, report)
                    # One flush at the end: the rows a delivery changes (notifications marked
                    # mailed) stay unlocked while the rest of the batch is sent.
                    session.commit()
        return report

    def _deliver(self, session: Session, row: OutboxMessage, mailer, now: datetime, report) -> None:
        """Compose and send ``row``, then record the result. Nothing is written before the
        message has left: on SQLite a write would hold the database's one write lock (and stall
        every request that writes) for as long as the mail server takes to answer."""
        done: Callable[[], None] = lambda: None  # noqa: E731 - what sending makes true
        failure: DeliveryError | Drop | Exception | None = None
        try:
            with session.no_autoflush:
                if row.channel is Channel.EMAIL:
                    composed = compose_email(session, row, now=now)
                    mailer.send(composed.message)
                    done = lambda: composed.sent(now)  # noqa: E731
                else:
                    post = compose_webhook(session, row)
                    post_json(
                        post.url,
                        post.body,
                        post.headers,
                        allow_loopback=self.config["WEBHOOK_ALLOW_LOOPBACK"],
                    )
        except (Drop, DeliveryError) as error:
            failure = error
        except Exception as error:  # a bug in composing one row must not stop the others
            log.exception("outbox %s (%s) could not be composed", row.id, row.kind)
            failure = error
        row.attempts += 1
        row.last_attempt_at = now
        if failure is None:
            done()
            row.state = MessageState.SENT
            row.sent_at = now
            row.last_error = None
            report.sent += 1
        elif isinstance(failure, Drop):
            row.state = MessageState.DROPPED
            row.last_error = f"not sent: {failure}"[:ERROR_MAX]
            report.dropped += 1
            log.info("outbox %s (%s) dropped: %s", row.id, row.kind, failure)
        elif isinstance(failure, DeliveryError):
            self._failed(row, failure, now, report)
        else:
            row.state = MessageState.FAILED
            row.last_error = f"{type(failure).__name__}: {failure}"[:ERROR_MAX]
            report.failed += 1

    def _failed(self, row: OutboxMessage, error: DeliveryError, now, report: Report) -> None:
        row.last_error = str(error)[:ERROR_MAX]
        report.errors.append(f"{row.id}: {error}")
        if error.permanent or row.attempts >= self.config["OUTBOX_MAX_ATTEMPTS"]:
            row.state = MessageState.FAILED
            report.failed += 1
            log.warning("outbox %s (%s) failed for good: %s", row.id, row.kind, error)
            return
        if error.retry_after is not None:
            wait = timedelta(seconds=error.retry_after)
        else:
            wait = backoff(row.attempts, self.config["OUTBOX_RETRY_SECONDS"])
        row.send_after = now + wait
        report.retrying += 1
        log.info(
            "outbox %s (%s) will retry in %.0f s: %s", row.id, row.kind, wait.total_seconds(), error
        )

    def run_schedule(self) -> None:
        """What the sender notices by the clock: check-ins due, expired claims, Jams tomorrow.

        It writes notifications (content), so it uses the app's own session, which moves the
        page cache's generation like any other write."""
        policy = ClaimPolicy.from_config(self.config)
        with self.app.app_context():
            session = get_session()
            run_schedule(session, now=clock.now(), policy=policy)
            session.commit()

    def run_forever(self, *, poll_seconds: float, schedule_seconds: float = 60) -> None:
        """Send what is due, then look again every ``poll_seconds``, until SIGTERM or SIGINT."""

        def stop(*_args) -> None:
            self._stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        next_schedule = 0.0
        log.info("outbox sender running (%s)", self.config["MAIL_URL"] or "mail as files")
        while not self._stopping:
            if time.monotonic() >= next_schedule:
                try:
                    self.run_schedule()
                except Exception:
                    log.exception("the schedule failed; trying again next time")
                next_schedule = time.monotonic() + schedule_seconds
            try:
                report = self.send_due()
                if report.handled:
                    log.info("outbox: %s", report)
            except Exception:
                log.exception("the sender failed; trying again shortly")
            deadline = time.monotonic() + poll_seconds
            while not self._stopping and time.monotonic() < deadline:
                time.sleep(min(0.2, poll_seconds))
