"""Signed links sent by e-mail: confirm an address, reset a password, unsubscribe from a kind.

Nothing is stored: each token is signed with the portal's secret key and says what it is for
(a salt per purpose), whom, and when it was made. A reset token also carries a fingerprint of
the password hash, so it dies the moment the password changes, which its own use does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from rfp_portal.models import User

RESET_LIFETIME = timedelta(hours=1)
CONFIRM_LIFETIME = timedelta(days=7)


class BadToken(Exception):
    """The link is damaged, expired, used, or no longer true; the message says which, kindly."""


def _serializer(secret: str, purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=f"rfp-portal-{purpose}")


def _load(secret: str, purpose: str, token: str) -> dict:
    try:
        data = _serializer(secret, purpose).loads(token)
    except BadSignature as error:
        raise BadToken("This link is not one the portal made, or it was cut short.") from error
    if not isinstance(data, dict):
        raise BadToken("This link is not one the portal made, or it was cut short.")
    return data


def _made_at(data: dict) -> datetime:
    try:
        return datetime.fromisoformat(data["t"])
    except (KeyError, TypeError, ValueError) as error:
        raise BadToken("This link is not one the portal made, or it was cut short.") from error


def _user(session: Session, data: dict) -> User:
    user = session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if user is None or not user.is_active:
        raise BadToken("This link belongs to an account that no longer exists or is deactivated.")
    return user


# -- password reset ---------------------------------------------------------------------------


def reset_token(
    secret: str, *, user_id: int, fingerprint: str, requested_at: datetime, email: str
) -> str:
    """A link for the password whose fingerprint it carries and the address it was mailed to,
    an hour from the request."""
    return _serializer(secret, "reset").dumps(
        {"u": user_id, "p": fingerprint, "t": requested_at.isoformat(), "e": email}
    )


def user_for_reset(session: Session, secret: str, token: str, *, now: datetime) -> User:
    """:raise BadToken: unless the token is genuine, under an hour old, the password is the one
    it was made for (so a used link, or one from before a password change, is refused) and the
    account still has the address it was mailed to."""
    data = _load(secret, "reset", token)
    if now - _made_at(data) > RESET_LIFETIME:
        raise BadToken("This reset link has expired (they last an hour). Ask for a new one.")
    user = _user(session, data)
    if data.get("p") != user.password_fingerprint():
        raise BadToken(
            "This reset link was already used, or the password changed since it was sent. "
            "Ask for a new one if you still need it."
        )
    if data.get("e") != user.email:
        raise BadToken("This reset link went to an address the account no longer uses.")
    return user


# -- address confirmation ---------------------------------------------------------------------


def confirm_token(secret: str, user: User, *, now: datetime) -> str:
    return _serializer(secret, "confirm").dumps(
        {"u": user.id, "e": user.email, "t": now.isoformat()}
    )


def user_for_confirmation(session: Session, secret: str, token: str, *, now: datetime) -> User:
    """:raise BadToken: unless genuine, under a week old, and for the account's current address."""
    data = _load(secret, "confirm", token)
    if now - _made_at(data) > CONFIRM_LIFETIME:
        raise BadToken("This confirmation link has expired. Send yourself a new one.")
    user = _user(session, data)
    if data.get("e") != user.email:
        raise BadToken("This link confirms an address the account no longer uses.")
    return user


# -- one-click unsubscribe --------------------------------------------------------------------


@dataclass(frozen=True)
class Unsubscribe:
    user: User
    key: str  # a NotificationKind value or TAG_DIGEST


def unsubscribe_token(secret: str, user: User, key: str) -> str:
    """Never expires (a mail client may offer the link months later); it turns one kind off."""
    return _serializer(secret, "unsubscribe").dumps({"u": user.id, "k": key})


def unsubscribe_for(session: Session, secret: str, token: str) -> Unsubscribe:
    data = _load(secret, "unsubscribe", token)
    return Unsubscribe(user=_user(session, data), key=str(data.get("k", "")))
