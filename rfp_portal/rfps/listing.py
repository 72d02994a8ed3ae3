"""What a listing of RFPs shows: the filters, the sort and the search, read from a query string.

One :class:`Listing` serves the HTML listing, the Atom feed and the JSON API, so the three
agree on what every parameter means. Each filter is one ``WHERE`` clause and each sort one
``ORDER BY``, all backed by indexes (see ``Rfp.__table_args__``); the RFPs of a page and
everything a card shows arrive in a fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from rfp_portal import search
from rfp_portal.models import (
    ClaimPolicy,
    Compute,
    Difficulty,
    Jam,
    Presentation,
    Rfp,
    RfpState,
    Tag,
    User,
    rfp_tags,
)
from rfp_portal.models.rfp import PUBLISHED, TAG_MAX
from rfp_portal.rfps.queries import (
    active_claims_of_rfp,
    is_claimed,
    rfp_listing,
)

STATES = {
    "": ("Open and completed", [RfpState.OPEN, RfpState.COMPLETED]),
    "open": ("Open", [RfpState.OPEN]),
    "completed": ("Completed", [RfpState.COMPLETED]),
    "withdrawn": ("Withdrawn", [RfpState.WITHDRAWN]),
    "all": ("All, withdrawn too", list(PUBLISHED)),
}
CLAIMED = {"": "Claimed or not", "no": "Nobody on it yet", "yes": "Someone on it"}
MENTORING = {"": "Any author", "yes": "Author open to mentoring"}
SORTS = {
    "relevance": "Best match",
    "new": "Newest",
    "updated": "Recently updated",
    "wanted": "Most wanted",
    "claims": "Most people working on it",
    "comments": "Most discussed",
}
MAX_TAG_FILTERS = 5
MAX_QUERY = 200
MAX_JAM = 2**31 - 1


def _normal_tag(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class Listing:
    """The parameters of one listing; the defaults show open and completed RFPs, newest first."""

    q: str = ""
    state: str = ""
    claimed: str = ""
    mentoring: str = ""  # "yes": only RFPs whose authors are open to mentoring
    tags: tuple[str, ...] = ()
    jam: int | None = None
    difficulty: Difficulty | None = None
    compute: Compute | None = None
    sort: str = ""
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_args(cls, args: MultiDict) -> Listing:
        """Read a query string; values that mean nothing are dropped and listed in ``problems``."""
        problems: list[str] = []

        def choice(name: str, allowed) -> str:
            value = args.get(name, "")
            if value not in allowed:
                problems.append(f"“{value[:40]}” is not a {name} this listing knows; ignored.")
                return ""
            return value

        q = " ".join(args.get("q", "").split())
        if len(q) > MAX_QUERY:
            problems.append(f"The search was cut to its first {MAX_QUERY} characters.")
            q = q[:MAX_QUERY]
        tags: list[str] = []
        for raw in args.getlist("tag"):
            tag = _normal_tag(raw)
            if not tag or len(tag) > TAG_MAX:
                problems.append("A tag filter was empty or too long; ignored.")
            elif tag not in tags:
                tags.append(tag)
        if len(tags) > MAX_TAG_FILTERS:
            problems.append(f"Only the first {MAX_TAG_FILTERS} tags are used.")
            tags = tags[:MAX_TAG_FILTERS]
        jam = None
        if args.get("jam"):
            raw = args.get("jam", "").removeprefix("#")
            if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_JAM:
                jam = int(raw)
            else:
                problems.append(f"“{raw[:40]}” is not a Research Jam number; ignored.")
        difficulty = choice("difficulty", ["", *Difficulty])
        compute = choice("compute", ["", *Compute])
        sort = choice("sort", ["", *SORTS])
        if sort == "relevance" and not q:
            sort = ""
        return cls(
            q=q,
            state=choice("state", STATES),
            claimed=choice("claimed", CLAIMED),
            mentoring=choice("mentoring", MENTORING),
            tags=tuple(tags),
            jam=jam,
            difficulty=Difficulty(difficulty) if difficulty else None,
            compute=Compute(compute) if compute else None,
            sort=sort,
            problems=tuple(problems),
        )

    # -- reading it back ----------------------------------------------------------------------

    @property
    def search_query(self) -> search.SearchQuery:
        return search.parse_query(self.q)

    @property
    def effective_sort(self) -> str:
        if self.sort:
            return self.sort
        return "relevance" if self.q else "new"

    def args(self, **changes) -> dict:
        """The query-string arguments of this listing (with ``changes``), defaults left out."""
        listing = replace(self, **changes) if changes else self
        out: dict = {}
        for name in ("q", "state", "claimed", "mentoring", "sort"):
            if getattr(listing, name):
                out[name] = getattr(listing, name)
        if listing.tags:
            out["tag"] = list(listing.tags)
        if listing.jam:
            out["jam"] = listing.jam
        if listing.difficulty:
            out["difficulty"] = listing.difficulty.value
        if listing.compute:
            out["compute"] = listing.compute.value
        return out

    def active_filters(self) -> list[tuple[str, dict]]:
        """(label, arguments without it) for each filter in force, so each can be removed."""
        out = []
        if self.q:
            out.append((f"Search: “{self.q}”", self.args(q="", sort="")))
        if self.state:
            out.append((f"State: {STATES[self.state][0]}", self.args(state="")))
        if self.claimed:
            out.append((CLAIMED[self.claimed], self.args(claimed="")))
        if self.mentoring:
            out.append((MENTORING[self.mentoring], self.args(mentoring="")))
        for tag in self.tags:
            out.append((f"Tag: {tag}", self.args(tags=tuple(t for t in self.tags if t != tag))))
        if self.jam:
            out.append((f"Presented at Research Jam #{self.jam}", self.args(jam=None)))
        if self.difficulty:
            out.append((f"Difficulty: {self.difficulty.value}", self.args(difficulty=None)))
        if self.compute:
            out.append((f"Compute: {self.compute.value}", self.args(compute=None)))
        return out

    # -- the query ----------------------------------------------------------------------------

    def select(self, *, now: datetime, policy: ClaimPolicy, dialect: str) -> sa.Select:
        """The RFPs of this listing in order, with everything a card shows loaded alongside."""
        query = rfp_listing(now, policy)
        if self.state == "":
            # "neither withdrawn nor a draft" rather than IN (open, completed): the planner can
            # then walk the (created_at, id) index backwards and stop after one page.
            query = query.where(Rfp.state.not_in((RfpState.WITHDRAWN, RfpState.DRAFT)))
        elif self.state == "all":
            query = query.where(Rfp.state.in_(PUBLISHED))
        else:
            query = query.where(Rfp.state == RfpState(self.state))
        if self.claimed:
            claimed_now = is_claimed(now, policy)
            query = query.where(claimed_now if self.claimed == "yes" else ~claimed_now)
        if self.mentoring:
            # One more condition on the same statement: the author's row, by primary key.
            query = query.where(
                sa.exists().where(
                    User.id == Rfp.author_id, User.open_to_mentoring.is_(True), User.active
                )
            )
        for tag in self.tags:
            query = query.where(
                sa.exists().where(
                    rfp_tags.c.rfp_id == Rfp.id, rfp_tags.c.tag_id == Tag.id, Tag.name == tag
                )
            )
        if self.jam:
            query = query.where(
                sa.exists().where(
                    Presentation.rfp_id == Rfp.id,
                    Presentation.jam_id == Jam.id,
                    Jam.number == self.jam,
                )
            )
        if self.difficulty:
            query = query.where(Rfp.difficulty == self.difficulty)
        if self.compute:
            query = query.where(Rfp.compute == self.compute)
        rank = None
        if self.q:
            terms = self.search_query
            if not terms.searchable:
                return query.where(sa.false())
            query, rank = search.apply_search(query, terms, dialect, Rfp.id)
        return query.order_by(*self._order(rank, now, policy))

    def _order(self, rank, now: datetime, policy: ClaimPolicy) -> list:
        sort = self.effective_sort
        newest = [Rfp.created_at.desc(), Rfp.id.desc()]
        if sort == "relevance" and rank is not None:
            return [rank, *newest]
        if sort == "updated":
            return [Rfp.updated_at.desc(), Rfp.id.desc()]
        if sort == "wanted":
            return [Rfp.want_count.desc(), Rfp.id.desc()]
        if sort == "claims":
            return [active_claims_of_rfp(now, policy).desc(), Rfp.id.desc()]
        if sort == "comments":
            return [Rfp.comment_count.desc(), Rfp.id.desc()]
        return newest
