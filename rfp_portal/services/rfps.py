"""Submitting, editing and withdrawing Requests for Plot."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rfp_portal import clock, search
from rfp_portal.db import insert_for
from rfp_portal.models import (
    Compute,
    Difficulty,
    MessageKind,
    ModerationKind,
    Rfp,
    RfpState,
    Tag,
    User,
    WebhookEvent,
    tag_follows,
)
from rfp_portal.models.rfp import BODY_MAX, TAG_MAX, TAGS_PER_RFP
from rfp_portal.services import DomainError, NotAllowed
from rfp_portal.services.agenda import link_published_rfp
from rfp_portal.services.moderation import record
from rfp_portal.services.notifications import watch
from rfp_portal.services.outbox import next_weekly_digest, queue_announcement, queue_digests
from rfp_portal.services.text import render_field

TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9+#.\- ]*$")


@dataclass(frozen=True)
class RfpDraft:
    """What a person typed for an RFP, already checked field by field by the form."""

    title: str
    summary: str
    big_picture: str
    first_plot: str
    tags: list[str]
    difficulty: Difficulty
    compute: Compute
    claim_cap: int | None


def parse_tags(text: str) -> list[str]:
    """Split comma-separated tags, normalise them (lower case, single spaces) and drop repeats.

    :raise DomainError: on a tag that is too long or has odd characters, or too many tags.
    """
    tags: list[str] = []
    for raw in text.split(","):
        tag = " ".join(raw.split()).lower()
        if not tag:
            continue
        if len(tag) > TAG_MAX:
            raise DomainError(f"Each tag can be at most {TAG_MAX} characters.", field="tags")
        if not TAG_PATTERN.match(tag):
            raise DomainError(
                f"“{tag}” is not a valid tag: use letters, digits, spaces, '-', '.', '+' or '#'.",
                field="tags",
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_PER_RFP:
        raise DomainError(f"Use at most {TAGS_PER_RFP} tags.", field="tags")
    return tags


def _tags_named(session: Session, names: list[str]) -> list[Tag]:
    """The tags with these names, made where missing (two people adding one new tag at once is fine)."""
    if not names:
        return []
    insert = insert_for(session)
    session.execute(
        insert(Tag)
        .values([{"name": name} for name in names])
        .on_conflict_do_nothing(index_elements=["name"])
    )
    existing = {t.name: t for t in session.scalars(sa.select(Tag).where(Tag.name.in_(names)))}
    return [existing[name] for name in names]


def _apply(session: Session, rfp: Rfp, draft: RfpDraft) -> None:
    if len(draft.big_picture) + len(draft.first_plot) > BODY_MAX:
        raise DomainError(
            f"The big picture and the first plot can be at most {BODY_MAX:,} characters together.",
            field="first_plot",
        )
    rfp.title = draft.title.strip()
    rfp.summary = draft.summary.strip()
    if rfp.big_picture_md != draft.big_picture or rfp.big_picture_html is None:
        rfp.big_picture_html = render_field(draft.big_picture, field="big_picture")
        rfp.big_picture_md = draft.big_picture
    if rfp.first_plot_md != draft.first_plot or rfp.first_plot_html is None:
        rfp.first_plot_html = render_field(draft.first_plot, field="first_plot")
        rfp.first_plot_md = draft.first_plot
    rfp.difficulty = draft.difficulty
    rfp.compute = draft.compute
    rfp.claim_cap = draft.claim_cap
    rfp.tags = _tags_named(session, draft.tags)


def submit_rfp(
    session: Session,
    *,
    author: User,
    draft: RfpDraft,
    publish: bool = True,
    no_plot_yet: bool = False,
) -> Rfp:
    """Create an RFP by ``author``: published at once, or (``publish=False``) a draft only its
    author sees. Its Markdown is rendered and sanitised here, once.

    :raise DomainError: when the draft breaks a rule (body too long), or, to publish, when it
        lacks what a published RFP needs (see :func:`missing_for_publishing`).
    """
    now = clock.now()
    rfp = Rfp(author=author, state=RfpState.DRAFT, created_at=now, updated_at=now)
    session.add(rfp)
    _apply(session, rfp, draft)
    session.flush()
    search.index_rfp(session, rfp.id)
    if publish:
        publish_rfp(session, rfp=rfp, actor=author, no_plot_yet=no_plot_yet, now=now)
    return rfp


def missing_for_publishing(rfp: Rfp, *, no_plot_yet: bool) -> list[str]:
    """What a draft still needs before the world sees it, in words for its author (empty when
    nothing): a title, a summary, the big picture, the first plot, and a plot to show or the
    author's word that there is none yet."""
    missing = [
        label
        for label, text in (
            ("a title", rfp.title),
            ("a one-line summary", rfp.summary),
            ("the big picture", rfp.big_picture_md),
            ("a description of the first plot", rfp.first_plot_md),
        )
        if not (text or "").strip()
    ]
    if not rfp.plots and not no_plot_yet:
        missing.append(NEEDS_A_PLOT)
    return missing


NEEDS_A_PLOT = "a plot (upload an example or draw a sketch), or tick “No plot yet”"


def publish_rfp(
    session: Session, *, rfp: Rfp, actor: User, no_plot_yet: bool, now: datetime
) -> Rfp:
    """Publish a draft: it becomes open, its published time is ``now``, its share link ends,
    and it is announced (the author watches it; tag followers and webhooks hear of it).

    :raise NotAllowed: unless it is a draft and ``actor`` wrote it.
    :raise DomainError: listing everything it still lacks, when it lacks something.
    """
    if not rfp.can_publish(actor):
        raise NotAllowed("Only the author can publish a draft.")
    missing = missing_for_publishing(rfp, no_plot_yet=no_plot_yet)
    if missing:
        raise DomainError(
            "Before it is published, this RFP needs " + _in_words(missing) + ".",
            field="no_plot_yet" if len(missing) == 1 and not rfp.plots else None,
        )
    session.flush()
    # One statement that only a draft matches: of two publishes at once (a double click, two
    # tabs), the second finds nothing to change, so the RFP is announced once.
    published = session.execute(
        sa.update(Rfp)
        .where(Rfp.id == rfp.id, Rfp.state == RfpState.DRAFT)
        .values(state=RfpState.OPEN, created_at=now, updated_at=now, share_token=None)
        .execution_options(synchronize_session=False)
    )
    if published.rowcount != 1:
        raise DomainError("This RFP is already published.")
    session.refresh(rfp, ["state", "created_at", "updated_at", "share_token"])
    link_published_rfp(session, rfp=rfp)  # a draft already accepted for a Jam's agenda
    announce_new_rfp(session, rfp=rfp, now=now)
    return rfp


def _in_words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def share_draft(session: Session, *, rfp: Rfp, actor: User) -> str:
    """Make (or keep) the secret of a draft's read-only share link; return it.

    :raise NotAllowed: unless it is a draft and ``actor`` wrote it.
    """
    if not rfp.can_publish(actor):
        raise NotAllowed("Only the author can share a draft.")
    if rfp.share_token is None:
        rfp.share_token = secrets.token_urlsafe(24)
        session.flush()
    return rfp.share_token


def revoke_share(session: Session, *, rfp: Rfp, actor: User) -> None:
    """End a draft's share link: whoever holds it can no longer read the draft.

    :raise NotAllowed: unless it is a draft and ``actor`` wrote it.
    """
    if not rfp.can_publish(actor):
        raise NotAllowed("Only the author can stop sharing a draft.")
    rfp.share_token = None
    session.flush()


def delete_draft(session: Session, *, rfp: Rfp, actor: User) -> list[str]:
    """Delete a draft and its plots (a published RFP is withdrawn instead, never deleted).

    :return: the storage keys of its plots, for ``collect_unreferenced`` after commit.
    :raise NotAllowed: unless it is a draft and ``actor`` wrote it.
    """
    if not rfp.can_publish(actor):
        raise NotAllowed("Only the author can delete a draft.")
    keys = [key for plot in rfp.plots for key in (plot.image_key, plot.thumb_key)]
    search.unindex_rfp(session, rfp.id)
    session.delete(rfp)
    session.flush()
    return keys


def announce_new_rfp(session: Session, *, rfp: Rfp, now: datetime) -> None:
    """A new RFP: its author watches it, people following its tags get it in their weekly
    digest, and the webhooks that carry new RFPs post it."""
    watch(session, user=rfp.author, rfp=rfp, now=now)
    followers = session.scalars(
        sa.select(tag_follows.c.user_id)
        .where(tag_follows.c.tag_id.in_([tag.id for tag in rfp.tags]))
        .where(tag_follows.c.user_id != rfp.author_id)
        .distinct()
    ).all()
    if followers:
        queue_digests(
            session,
            kind=MessageKind.TAG_DIGEST,
            user_ids=followers,
            send_after=next_weekly_digest(now),
            params={"since": now.isoformat()},
            now=now,
        )
    queue_announcement(
        session, event=WebhookEvent.RFP_PUBLISHED, params={"rfp_id": rfp.id}, now=now
    )


def update_rfp(session: Session, *, rfp: Rfp, editor: User, draft: RfpDraft) -> Rfp:
    """Change an RFP's text and settings.

    :raise NotAllowed: unless ``editor`` is its author or an organiser and it is not withdrawn.
    :raise DomainError: when the draft breaks a rule.
    """
    if not rfp.can_edit(editor):
        raise NotAllowed("Only the author can edit this RFP (organisers can withdraw it).")
    if not rfp.is_draft:
        missing = [
            label
            for label, text in (
                ("a one-line summary", draft.summary),
                ("the big picture", draft.big_picture),
                ("a description of the first plot", draft.first_plot),
            )
            if not text.strip()
        ]
        if missing:
            raise DomainError(f"A published RFP keeps {_in_words(missing)}.")
    _apply(session, rfp, draft)
    rfp.updated_at = clock.now()
    session.flush()
    search.index_rfp(session, rfp.id)
    return rfp


def withdraw_rfp(session: Session, *, rfp: Rfp, actor: User, reason: str = "") -> None:
    """Withdraw an open RFP; it stays readable, marked as withdrawn.

    :raise NotAllowed: unless ``actor`` is its author or an organiser and it is open.
    """
    if not rfp.can_withdraw(actor):
        raise NotAllowed("Only the author or an organiser can withdraw an open RFP.")
    rfp.state = RfpState.WITHDRAWN
    rfp.updated_at = clock.now()
    if not rfp.is_author(actor):  # an organiser withdrew someone else's RFP: moderation
        record(
            session,
            kind=ModerationKind.WITHDRAW_RFP,
            actor=actor,
            rfp_id=rfp.id,
            subject=rfp.author,
            reason=reason,
        )
    session.flush()
