"""Log-in sessions: started at log-in, seen on every request, ended by logging out, by the
person from their sessions page, by a password change (all the others) and by deactivation (all).

The browser holds a random token (in the Flask session and the remember-me cookie); the database
holds its hash, so a session or remember-me cookie works exactly as long as its row is active.
"""

from __future__ import annotations

import functools
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from rfp_portal.models import LoginSession, User
from rfp_portal.models.login_session import DEVICE_MAX, describe_device, hash_token
from rfp_portal.services import NotAllowed


def start_login_session(
    session: Session, *, user: User, user_agent: str, now: datetime
) -> LoginSession:
    """A new log-in session for ``user``; its token is set on ``user.login_token`` (for
    Flask-Login's ``get_id``) and is nowhere else: only its hash is stored."""
    token = secrets.token_urlsafe(32)
    record = LoginSession(
        user=user,
        token_hash=hash_token(token),
        device=describe_device(user_agent or "")[:DEVICE_MAX],
        created_at=now,
        last_seen_at=now,
    )
    session.add(record)
    session.flush()
    user.login_token = token
    return record


@functools.cache
def _by_token() -> sa.Select:
    """Built once (every member's request runs it): the session and its person in one query."""
    return (
        sa.select(LoginSession)
        .where(LoginSession.token_hash == sa.bindparam("token_hash"))
        .options(joinedload(LoginSession.user, innerjoin=True))
    )


def find_login_session(session: Session, token: str) -> LoginSession | None:
    """The active log-in session with ``token``, its person active too; else None."""
    if not token or len(token) > 200:
        return None
    record = session.scalar(_by_token(), {"token_hash": hash_token(token)})
    if record is None or not record.is_active or not record.user.is_active:
        return None
    record.user.login_token = token
    return record


def seen_statement(record: LoginSession, *, now: datetime) -> sa.Update | None:
    """The UPDATE that records ``record`` as seen at ``now``, or None when it was seen within
    the last minute (most requests write nothing). Run apart from the request's transaction."""
    if not record.is_due_a_sighting(now):
        return None
    return (
        sa.update(LoginSession)
        .where(LoginSession.id == record.id, LoginSession.ended_at.is_(None))
        .values(last_seen_at=now)
    )


def active_login_sessions(session: Session, *, user: User) -> list[LoginSession]:
    """``user``'s active sessions, the most recently seen first."""
    return list(
        session.scalars(
            sa.select(LoginSession)
            .where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
            .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())
        )
    )


def end_login_session(
    session: Session, *, login_session: LoginSession, actor: User, now: datetime
) -> None:
    """End one session: its cookies log nobody in from the next request on.

    :raise NotAllowed: unless ``actor`` is the session's person.
    """
    if not login_session.can_be_ended_by(actor):
        raise NotAllowed("You can only end your own sessions.")
    if login_session.ended_at is None:
        login_session.ended_at = now
    session.flush()


def end_login_sessions(
    session: Session, *, user: User, now: datetime, keep: LoginSession | None = None
) -> int:
    """End every active session of ``user`` but ``keep``; how many ended."""
    query = sa.update(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(LoginSession.id != keep.id)
    ended = session.execute(
        query.values(ended_at=now), execution_options={"synchronize_session": "fetch"}
    )
    session.flush()
    return ended.rowcount
