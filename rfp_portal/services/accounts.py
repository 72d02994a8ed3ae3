"""Accounts: registering, finding people to log in, addresses, passwords, and roles."""

from __future__ import annotations

import functools
import re
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rfp_portal import clock
from rfp_portal.models import LoginSession, MessageKind, ModerationKind, Role, User
from rfp_portal.services import DomainError, NotAllowed
from rfp_portal.services.moderation import record
from rfp_portal.services.outbox import queue_email
from rfp_portal.services.profiles import read_display_name
from rfp_portal.services.sessions import end_login_sessions

# \Z, not $: "$" would let a trailing newline through and so a second "alice".
USERNAME_PATTERN = r"^[A-Za-z0-9_-]{3,30}\Z"
PASSWORD_MIN = 10
PASSWORD_MAX = 200


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of zxcvbn's list (leaked-password frequency data)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *, username: str = "", email: str = "") -> str | None:
    """Why ``password`` will not do, or None: the portal's one password rule, for every path."""
    if len(password) < PASSWORD_MIN:
        return f"Use at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"Use at most {PASSWORD_MAX} characters."
    lowered = password.lower()
    if username and lowered == username.strip().lower():
        return "Your password cannot be your username."
    if email and (lowered == email.strip().lower() or lowered == email.split("@")[0].lower()):
        return "Your password cannot be your e-mail address."
    if lowered in common_passwords() or len(set(lowered)) <= 2:
        return "That password is one of the most common ones, so it is guessed first. Try a few unrelated words together."
    return None


def find_user_by_username(session: Session, username: str) -> User | None:
    """The person with that username (case ignored), or None for any other text."""
    if not re.match(USERNAME_PATTERN, username):
        return None
    return session.scalar(sa.select(User).where(User.username == username.lower()))


def find_user_by_login(session: Session, login: str) -> User | None:
    """The person whose username or e-mail is ``login`` (case ignored), or None."""
    login = login.strip().lower()
    if not login:
        return None
    column = User.email if "@" in login else User.username
    return session.scalar(sa.select(User).where(column == login))


# Names that are also addresses of the portal or sound like someone in charge: a person called
# "admin" or "api" could pass for the portal itself (and /users/null reads as a bug).
RESERVED_USERNAMES = frozenset(
    [
        "about",
        "account",
        "accounts",
        "admin",
        "administrator",
        "admins",
        "api",
        "apis",
        "app",
        "auth",
        "billing",
        "contact",
        "delete",
        "edit",
        "events",
        "feed",
        "help",
        "home",
        "jam",
        "jams",
        "login",
        "logout",
        "mail",
        "me",
        "moderation",
        "moderator",
        "mod",
        "mods",
        "new",
        "none",
        "notifications",
        "null",
        "official",
        "organiser",
        "organizer",
        "outbox",
        "owner",
        "password",
        "portal",
        "preview",
        "privacy",
        "register",
        "reset",
        "root",
        "rfp",
        "rfps",
        "search",
        "security",
        "settings",
        "signin",
        "signout",
        "signup",
        "staff",
        "static",
        "support",
        "system",
        "tags",
        "terms",
        "undefined",
        "unsubscribe",
        "user",
        "users",
        "webhooks",
        "webmaster",
        "www",
        "mlc",
        "mlcollective",
    ]
)
RESERVED_MESSAGE = "That username is reserved. Please choose another."


def username_reserved(username: str) -> bool:
    return username.lower() in RESERVED_USERNAMES


def username_taken(session: Session, username: str) -> bool:
    return session.scalar(sa.select(User.id).where(User.username == username.lower())) is not None


def email_taken(session: Session, email: str) -> bool:
    return session.scalar(sa.select(User.id).where(User.email == email.strip().lower())) is not None


def register_user(
    session: Session,
    *,
    username: str,
    email: str,
    display_name: str,
    password: str,
    role: Role = Role.MEMBER,
    now: datetime | None = None,
    may_use_reserved: bool = False,
) -> User:
    """Create an account, and queue the e-mail that confirms its address.

    ``may_use_reserved``: the operator making the first admin from the command line may take a
    reserved name ("admin", "root"); people registering may not.

    :raise DomainError: when the username is malformed or reserved, or it or the e-mail is
        already taken.
    """
    if not re.match(USERNAME_PATTERN, username):
        raise DomainError("Use 3 to 30 letters, digits, '-' and '_'.", field="username")
    if username_reserved(username) and not may_use_reserved:
        raise DomainError(RESERVED_MESSAGE, field="username")
    if username_taken(session, username):
        raise DomainError("That username is taken. Please choose another.", field="username")
    if email_taken(session, email):
        raise DomainError("An account with that e-mail already exists.", field="email")
    user = User(
        username=username.lower(),
        email=email.strip().lower(),
        display_name=read_display_name(display_name),
        role=role,
    )
    problem = password_problem(password, username=username, email=email)
    if problem:
        raise DomainError(problem, field="password")
    user.set_password(password)
    now = now or clock.now()
    user.created_at = now
    session.add(user)
    session.flush()
    queue_email(session, kind=MessageKind.CONFIRM_ADDRESS, user_id=user.id, now=now)
    return user


def send_confirmation(session: Session, *, user: User, now: datetime) -> None:
    """Mail a new confirmation link to the account's address.

    :raise DomainError: when the address is already confirmed.
    """
    if user.email_confirmed:
        raise DomainError("Your address is already confirmed.")
    queue_email(session, kind=MessageKind.CONFIRM_ADDRESS, user_id=user.id, now=now)


def confirm_address(session: Session, *, user: User, now: datetime) -> bool:
    """The person followed the link mailed to their address; False if it was confirmed already."""
    if user.email_confirmed:
        return False
    user.email_confirmed_at = now
    session.flush()
    return True


def change_email(session: Session, *, user: User, password: str, email: str, now: datetime) -> None:
    """Move the account to a new address: it is confirmed by a link mailed to it, and the old
    address is told (so a stolen session cannot move an account quietly).

    :raise DomainError: for a wrong password, the same address, or one another account uses.
    """
    if not user.check_password(password):
        raise DomainError("That is not your current password.", field="password")
    email = email.strip().lower()
    if email == user.email:
        raise DomainError("That is the address the account already has.", field="email")
    if email_taken(session, email):
        raise DomainError("An account with that e-mail already exists.", field="email")
    old, old_confirmed = user.email, user.email_confirmed
    user.email = email
    user.email_confirmed_at = None
    session.flush()
    queue_email(session, kind=MessageKind.CONFIRM_ADDRESS, user_id=user.id, now=now)
    if old_confirmed:  # an address nobody proved is not written to
        queue_email(
            session,
            kind=MessageKind.ADDRESS_CHANGED,
            user_id=user.id,
            to_address=old,
            params={"new": email},
            now=now,
        )


def request_password_reset(session: Session, *, address: str, now: datetime) -> None:
    """Queue a reset link for the active account with that address, if there is one.

    The caller answers the same whether or not there is (no account enumeration), and this does
    the same work either way: for no account it queues a row that names nobody, which the sender
    drops without mailing anyone (so a stranger's address is never written to). The link is
    made when the sender composes the mail and lives an hour from the request.
    """
    user = session.scalar(sa.select(User).where(User.email == address.strip().lower()))
    found = user is not None and user.is_active
    queue_email(
        session,
        kind=MessageKind.PASSWORD_RESET,
        user_id=user.id if found else None,
        # The link is made when the mail is, for the password as it is now.
        params={
            "requested_at": now.isoformat(),
            "fingerprint": user.password_fingerprint() if found else "",
        },
        now=now,
    )


def reset_password(session: Session, *, user: User, new: str, now: datetime) -> None:
    """Set a password from a reset link: every session ends, and the link dies with the old
    password. Following the link proves the address, so it counts as confirmed.

    :raise DomainError: when ``new`` breaks the password rule.
    """
    problem = password_problem(new, username=user.username, email=user.email)
    if problem:
        raise DomainError(problem, field="password")
    user.set_password(new)
    end_login_sessions(session, user=user, now=now)
    if not user.email_confirmed:
        user.email_confirmed_at = now
    session.flush()


def change_password(
    session: Session,
    *,
    user: User,
    current: str,
    new: str,
    now: datetime,
    keep: LoginSession | None = None,
) -> None:
    """Set a new password and end every log-in session of the account but ``keep`` (the one
    the change was made from).

    :raise DomainError: when ``current`` is wrong or ``new`` breaks the password rule.
    """
    if not user.check_password(current):
        raise DomainError("That is not your current password.", field="current")
    problem = password_problem(new, username=user.username, email=user.email)
    if problem:
        raise DomainError(problem, field="password")
    if user.check_password(new):
        raise DomainError("The new password is the same as the current one.", field="password")
    user.set_password(new)
    end_login_sessions(session, user=user, now=now, keep=keep)
    session.flush()


def set_role(session: Session, *, user: User, role: Role, actor: User | None = None) -> None:
    """Give ``user`` a role; ``actor`` None means the command line. Logged for moderators.

    :raise NotAllowed: unless ``actor`` is an admin (or None).
    """
    if actor is not None and not actor.is_admin:
        raise NotAllowed("Only admins can change roles.")
    if user.role is role:
        return
    previous = user.role
    user.role = role
    record(
        session,
        kind=ModerationKind.CHANGE_ROLE,
        actor=actor,
        subject=user,
        detail=f"{previous.value} → {role.value}",
    )
    session.flush()


def set_account_active(
    session: Session, *, user: User, actor: User, active: bool, reason: str, now: datetime
) -> None:
    """Deactivate an account (its sessions end at once; its RFPs and comments stay, marked) or
    reactivate it.

    :raise NotAllowed: unless ``actor`` is an admin other than ``user``.
    """
    if not actor.is_admin:
        raise NotAllowed("Only admins can deactivate or reactivate accounts.")
    if actor.id == user.id:
        raise NotAllowed("You cannot deactivate your own account.")
    if user.active is active:
        return
    if not active and not reason.strip():
        raise DomainError("Say why, for the moderation log.", field="reason")
    user.active = active
    user.deactivated_at = None if active else now
    end_login_sessions(session, user=user, now=now)
    record(
        session,
        kind=ModerationKind.REACTIVATE_ACCOUNT if active else ModerationKind.DEACTIVATE_ACCOUNT,
        actor=actor,
        subject=user,
        reason=reason,
    )
    session.flush()
