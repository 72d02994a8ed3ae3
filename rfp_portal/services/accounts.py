"""Accounts: registering, finding people to log in, and roles."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rfp_portal.models import Role, User
from rfp_portal.services import DomainError

# \Z, not $: "$" would let a trailing newline through and so a second "alice".
USERNAME_PATTERN = r"^[A-Za-z0-9_-]{3,30}\Z"


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
) -> User:
    """Create an account.

    :raise DomainError: when the username is malformed, or it or the e-mail is already taken.
    """
    if not re.match(USERNAME_PATTERN, username):
        raise DomainError("Use 3 to 30 letters, digits, '-' and '_'.", field="username")
    if username_taken(session, username):
        raise DomainError("That username is taken. Please choose another.", field="username")
    if email_taken(session, email):
        raise DomainError("An account with that e-mail already exists.", field="email")
    user = User(
        username=username.lower(),
        email=email.strip().lower(),
        display_name=display_name.strip(),
        role=role,
    )
    user.set_password(password)
    session.add(user)
    session.flush()
    return user


def set_role(session: Session, *, user: User, role: Role) -> None:
    user.role = role
    session.flush()
