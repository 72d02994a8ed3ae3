"""People and their roles."""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from rfp_portal import clock
from rfp_portal.db import Base, UtcDateTime, str_enum

if TYPE_CHECKING:
    from rfp_portal.models.rfp import Rfp

DISPLAY_NAME_MAX = 80
BIO_MAX = 2_000  # characters of Markdown: a short bio, not a CV
WEBSITE_MAX = 300
GITHUB_MAX = 39  # GitHub's own limit on a username
SCHOLAR_ID_LENGTH = 12  # a Google Scholar profile id, as in citations?user=…
DISCORD_MAX = 37  # a username (2–32) or an older name#1234


class Role(enum.StrEnum):
    MEMBER = "member"
    ORGANISER = "organiser"
    ADMIN = "admin"


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so uniqueness and log-in ignore case.
    username: Mapped[str] = mapped_column(sa.String(30), unique=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(DISPLAY_NAME_MAX))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"), default=Role.MEMBER)
    active: Mapped[bool] = mapped_column(default=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=clock.now)
    # The portal mails an address nothing but its confirmation link until it is confirmed.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    # The profile. The bio is rendered and sanitised once, when saved (services.profiles); the
    # links are kept as the parts that vary (a GitHub username, a Scholar id), so the portal
    # builds every address it shows but the website, which is checked to be http(s).
    bio_md: Mapped[str] = mapped_column(sa.Text, default="")
    bio_html: Mapped[str] = mapped_column(sa.Text, default="")
    website_url: Mapped[str | None] = mapped_column(sa.String(WEBSITE_MAX))
    github_username: Mapped[str | None] = mapped_column(sa.String(GITHUB_MAX))
    scholar_id: Mapped[str | None] = mapped_column(sa.String(SCHOLAR_ID_LENGTH))
    discord_handle: Mapped[str | None] = mapped_column(sa.String(DISCORD_MAX))
    open_to_mentoring: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    looking_for_mentor: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    rfps: Mapped[list[Rfp]] = relationship(back_populates="author")

    def set_password(self, password: str) -> None:
        # werkzeug's default is scrypt: slow and memory-hard by design.
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    # The token of the log-in session (models.LoginSession) this request runs in, set when the
    # session starts or is loaded; never stored on the row.
    login_token = None  # str | None; a plain attribute, never a column

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and the remember-me cookie: the log-in
        session's token, which the server can end (a user id alone could never be taken back).

        :raise RuntimeError: when no log-in session was started for this object.
        """
        if not self.login_token:
            raise RuntimeError("log in through services.sessions.start_login_session")
        return self.login_token

    def __eq__(self, other: object) -> bool:
        # The same person, whichever session each object was loaded in (UserMixin compares
        # get_id, which is per log-in).
        if isinstance(other, User):
            return self is other or (self.id is not None and self.id == other.id)
        return NotImplemented

    __hash__ = object.__hash__

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    def password_fingerprint(self) -> str:
        """A short digest of the password hash: a reset link carries it, so it dies when the
        password changes (and so after its one use)."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    @property
    def shown_name(self) -> str:
        """The name on their RFPs and comments; a deactivated account says so."""
        return f"{self.display_name} (deactivated)" if not self.active else self.display_name

    @property
    def github_url(self) -> str | None:
        return f"https://github.com/{self.github_username}" if self.github_username else None

    @property
    def scholar_url(self) -> str | None:
        if not self.scholar_id:
            return None
        return f"https://scholar.google.com/citations?user={self.scholar_id}"

    @property
    def has_links(self) -> bool:
        return bool(
            self.website_url or self.github_username or self.scholar_id or self.discord_handle
        )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    @property
    def is_organiser(self) -> bool:
        return self.role in (Role.ORGANISER, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def __repr__(self) -> str:
        return f"<User {self.username}>"
