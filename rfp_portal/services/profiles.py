"""A person's profile: their name, bio, links and mentoring flags.

Each ``read_*`` function is the one rule for its field: it turns what someone typed into what is
stored, or raises a ``DomainError`` on that field. The profile form asks the same functions, so a
refusal reads the same on the form and from the service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.orm import Session

from rfp_portal.models import User
from rfp_portal.models.user import (
    BIO_MAX,
    DISCORD_MAX,
    DISPLAY_NAME_MAX,
    GITHUB_MAX,
    WEBSITE_MAX,
)
from rfp_portal.rendering.plain import has_visible_character
from rfp_portal.services import DomainError
from rfp_portal.services.text import render_field

# GitHub: letters, digits and single hyphens inside, at most 39 characters.
GITHUB_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
# Google Scholar's profile ids are 12 characters of this alphabet (citations?user=…).
SCHOLAR_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{12}")
# scholar.google.com, scholar.google.de, scholar.google.co.uk, scholar.google.com.au …
SCHOLAR_HOST = re.compile(r"scholar\.google\.(?:[a-z]{2,3})(?:\.[a-z]{2})?")
# Discord usernames: 2–32 of a–z, 0–9, "_" and "." (no ".."); or an older "Name#1234".
DISCORD_PATTERN = re.compile(r"(?!.*\.\.)[a-z0-9_.]{2,32}")
DISCORD_LEGACY_PATTERN = re.compile(r"[^@#:`\s][^@#:`\n\r\t]{0,30}[^@#:`\s]#[0-9]{4}")


@dataclass(frozen=True)
class ProfileDraft:
    """What the profile form sends, as typed."""

    display_name: str
    bio: str = ""
    website: str = ""
    github: str = ""
    scholar: str = ""
    discord: str = ""
    open_to_mentoring: bool = False
    looking_for_mentor: bool = False


def _control_free(text: str) -> bool:
    return not any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


def read_display_name(text: str) -> str:
    """:raise DomainError: on ``display_name`` when empty, too long or holding control characters."""
    name = " ".join((text or "").split())
    if not name:
        raise DomainError("Enter the name people will see.", field="display_name")
    if not has_visible_character(name):
        raise DomainError("Use at least one visible character.", field="display_name")
    if len(name) > DISPLAY_NAME_MAX or not _control_free(name):
        raise DomainError(
            f"Use at most {DISPLAY_NAME_MAX} characters, on one line.", field="display_name"
        )
    return name


def read_website(text: str) -> str | None:
    """An http(s) address, or None for nothing typed.

    :raise DomainError: on ``website`` for any other scheme (``javascript:``, ``data:`` …), an
        address without a host, spaces or control characters, or one that is too long.
    """
    url = (text or "").strip()
    if not url:
        return None
    if len(url) > WEBSITE_MAX:
        raise DomainError(
            f"A web address can be at most {WEBSITE_MAX} characters.", field="website"
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # an unbalanced "[" in the host, a port that is not a number …
        parts, host = None, None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not host
        or any(ch.isspace() for ch in url)
        or not _control_free(url)
    ):
        raise DomainError(
            "Enter a web address starting with https:// (or http://).", field="website"
        )
    return url


def read_github(text: str) -> str | None:
    """A GitHub username from ``name``, ``@name`` or ``https://github.com/name``; None for nothing.

    :raise DomainError: on ``github`` for anything else.
    """
    value = (text or "").strip()
    if not value:
        return None
    lowered = value.lower()
    for prefix in (
        "https://github.com/",
        "http://github.com/",
        "https://www.github.com/",
        "github.com/",
    ):
        if lowered.startswith(prefix):
            value = value[len(prefix) :].rstrip("/")
            break
    value = value.removeprefix("@")
    if len(value) > GITHUB_MAX or not GITHUB_PATTERN.fullmatch(value):
        raise DomainError(
            "Enter your GitHub username: letters, digits and single hyphens, "
            f"at most {GITHUB_MAX} characters (e.g. octocat).",
            field="github",
        )
    return value


def read_scholar(text: str) -> str | None:
    """A Google Scholar profile id, from the id itself or the profile's address
    (``https://scholar.google.<country>/citations?user=<id>…``); None for nothing.

    Only the id is kept: the portal builds the address it links to, so a link that says
    "Google Scholar" always leads there.

    :raise DomainError: on ``scholar`` for anything else.
    """
    value = (text or "").strip()
    if not value:
        return None
    if SCHOLAR_ID_PATTERN.fullmatch(value):
        return value
    problem = DomainError(
        "Paste the address of your Google Scholar profile "
        "(https://scholar.google.com/citations?user=…) or its 12-character user id.",
        field="scholar",
    )
    if len(value) > WEBSITE_MAX or not _control_free(value) or " " in value:
        raise problem
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
    except ValueError:
        raise problem from None
    if (
        parts.scheme not in ("http", "https")
        or not SCHOLAR_HOST.fullmatch(host)
        or parts.path.rstrip("/") != "/citations"
    ):
        raise problem
    ids = parse_qs(parts.query).get("user", [])
    if len(ids) != 1 or not SCHOLAR_ID_PATTERN.fullmatch(ids[0]):
        raise problem
    return ids[0]


def read_discord(text: str) -> str | None:
    """A Discord username (``name`` or ``@name``, kept lower-case) or an older ``Name#1234``;
    None for nothing.

    :raise DomainError: on ``discord`` for anything else.
    """
    value = (text or "").strip().removeprefix("@")
    if not value:
        return None
    if (
        len(value) <= DISCORD_MAX
        and _control_free(value)
        and DISCORD_LEGACY_PATTERN.fullmatch(value)
    ):
        return value
    if DISCORD_PATTERN.fullmatch(value.lower()):
        return value.lower()
    raise DomainError(
        "Enter your Discord username: 2 to 32 letters, digits, '_' or '.' (or an older name#1234).",
        field="discord",
    )


def read_bio(text: str) -> tuple[str, str]:
    """The bio's Markdown and its sanitised HTML.

    :raise DomainError: on ``bio`` when too long or too intricate to render.
    """
    bio = (text or "").strip()
    if len(bio) > BIO_MAX:
        raise DomainError(f"A bio can be at most {BIO_MAX:,} characters.", field="bio")
    return bio, render_field(bio, field="bio") if bio else ""


def update_profile(session: Session, *, user: User, draft: ProfileDraft) -> None:
    """Save ``user``'s own profile; the bio is rendered and sanitised here, once.

    Only ever called with the person who is logged in: nobody edits another's profile.

    :raise DomainError: on the first field that will not do (nothing is changed then).
    """
    display_name = read_display_name(draft.display_name)
    website = read_website(draft.website)
    github = read_github(draft.github)
    scholar = read_scholar(draft.scholar)
    discord = read_discord(draft.discord)
    if (draft.bio or "").strip() != user.bio_md:
        user.bio_md, user.bio_html = read_bio(draft.bio)
    user.display_name = display_name
    user.website_url = website
    user.github_username = github
    user.scholar_id = scholar
    user.discord_handle = discord
    user.open_to_mentoring = bool(draft.open_to_mentoring)
    user.looking_for_mentor = bool(draft.looking_for_mentor)
    session.flush()
