"""The API's query parameters, read strictly: what the OpenAPI document allows, anything else a 400.

The HTML listing forgives a bad filter and says so on the page; a program asking the API gets
an error instead, so a typo never passes for "no results". The limits come from the same
constants the OpenAPI document is built from (:mod:`rfp_portal.api.openapi`), so the two agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import abort
from werkzeug.datastructures import MultiDict

from rfp_portal.models import Compute, Difficulty
from rfp_portal.models.event import SERIES_SLUG_MAX
from rfp_portal.models.rfp import TAG_MAX
from rfp_portal.pagination import MAX_PAGE
from rfp_portal.rfps.listing import MAX_JAM, MAX_QUERY, MAX_TAG_FILTERS, SORTS, STATES, Listing

PER_PAGE_DEFAULT = 20
PER_PAGE_MAX = 100
JAM_WHEN = ("upcoming", "past")
EVENT_WHEN = JAM_WHEN
# A series' address as ``services.events.slugify`` makes it: lower-case letters and digits in
# words joined by single hyphens (checked with ``re.search``, as JSON Schema reads a pattern).
SERIES_SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
STATE_VALUES = tuple(STATES)  # "" (open and completed), open, completed, withdrawn, all
CLAIMED_VALUES = ("yes", "no")
MENTORING_VALUES = ("yes",)
DIFFICULTY_VALUES = tuple(d.value for d in Difficulty)
COMPUTE_VALUES = tuple(c.value for c in Compute)
SORT_VALUES = tuple(SORTS)
# A tag as people may type it: the letters of a stored tag (rfp_portal.services.rfps.TAG_PATTERN)
# in either case, spaces anywhere; it is lower-cased and its spaces squeezed before matching.
TAG_FILTER_PATTERN = r"^\s*[A-Za-z0-9][A-Za-z0-9+#.\-\s]*$"
_DIGITS = re.compile(r"[0-9]+")  # ASCII digits only: "+3", " 3" and "٣" are not numbers here


@dataclass(frozen=True)
class Paging:
    number: int
    per_page: int


class _Reader:
    """Reads one query string, collecting every problem so one 400 names them all."""

    def __init__(self, args: MultiDict) -> None:
        self.args = args
        self.problems: list[str] = []

    def single(self, name: str) -> str | None:
        values = self.args.getlist(name)
        if len(values) > 1:
            self.problems.append(f"Give “{name}” at most once.")
        return values[0] if values else None

    def choice(self, name: str, allowed: tuple[str, ...]) -> str | None:
        value = self.single(name)
        if value is not None and value not in allowed:
            known = ", ".join(f"“{v}”" for v in allowed if v)
            self.problems.append(f"“{name}” must be one of {known}; “{value[:40]}” is not.")
            return None
        return value

    def integer(self, name: str, *, minimum: int, maximum: int) -> int | None:
        value = self.single(name)
        if value is None:
            return None
        if not _DIGITS.fullmatch(value) or not minimum <= int(value) <= maximum:
            self.problems.append(
                f"“{name}” must be a whole number from {minimum} to {maximum}; "
                f"“{value[:40]}” is not."
            )
            return None
        return int(value)

    def paging(self) -> Paging:
        number = self.integer("page", minimum=1, maximum=MAX_PAGE)
        per_page = self.integer("per_page", minimum=1, maximum=PER_PAGE_MAX)
        return Paging(number=number or 1, per_page=per_page or PER_PAGE_DEFAULT)

    def check(self) -> None:
        """:raise 400: naming every problem found."""
        if self.problems:
            abort(400, description=" ".join(self.problems))


def rfp_listing_args(args: MultiDict) -> tuple[Listing, Paging]:
    """The listing and page asked for.

    :raise 400: on any value the OpenAPI document does not allow (or the listing refuses).
    """
    reader = _Reader(args)
    q = reader.single("q")
    if q is not None and len(q) > MAX_QUERY:
        reader.problems.append(f"“q” can be at most {MAX_QUERY} characters.")
    reader.choice("state", STATE_VALUES)
    reader.choice("claimed", CLAIMED_VALUES)
    reader.choice("mentoring", MENTORING_VALUES)
    reader.choice("difficulty", DIFFICULTY_VALUES)
    reader.choice("compute", COMPUTE_VALUES)
    reader.choice("sort", SORT_VALUES)
    reader.integer("jam", minimum=1, maximum=MAX_JAM)
    tags = args.getlist("tag")
    if len(tags) > MAX_TAG_FILTERS:
        reader.problems.append(f"Give at most {MAX_TAG_FILTERS} tags.")
    for tag in tags:
        if len(tag) > TAG_MAX or not re.search(TAG_FILTER_PATTERN, tag):
            reader.problems.append(
                f"“{tag[:40]}” is not a tag: at most {TAG_MAX} letters, digits, spaces, "
                "'-', '.', '+' or '#', starting with a letter or digit."
            )
    paging = reader.paging()
    reader.check()
    listing = Listing.from_args(args)
    if listing.problems:  # the listing's own rules, should they ever go beyond the above
        abort(400, description=" ".join(listing.problems))
    return listing, paging


def jam_listing_args(args: MultiDict) -> tuple[str | None, Paging]:
    """``when`` (upcoming, past or None for all) and the page. :raise 400: on a bad value."""
    reader = _Reader(args)
    when = reader.choice("when", JAM_WHEN)
    paging = reader.paging()
    reader.check()
    return when, paging


def event_listing_args(args: MultiDict) -> tuple[str | None, str | None, Paging]:
    """``series`` (a slug, or None for every series), ``when`` (upcoming, past or None for all)
    and the page. :raise 400: on a bad value; whether the series exists is the view's question.
    """
    reader = _Reader(args)
    series = reader.single("series")
    if series is not None and (
        len(series) > SERIES_SLUG_MAX or not re.search(SERIES_SLUG_PATTERN, series)
    ):
        reader.problems.append(
            f"“series” must be a series' address: at most {SERIES_SLUG_MAX} lower-case letters, "
            f"digits and single hyphens between them (e.g. “research-jam”); “{series[:40]}” is not."
        )
    when = reader.choice("when", EVENT_WHEN)
    paging = reader.paging()
    reader.check()
    return series, when, paging
