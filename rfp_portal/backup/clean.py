"""Cleaning the upload store of files that no plot refers to, and of what dead writers left."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rfp_portal.models import Plot
from rfp_portal.services.plots import collect_unreferenced
from rfp_portal.storage import FileStore


@dataclass
class CleanResult:
    removed: list[str] = field(default_factory=list)  # keys removed (or, dry run, to remove)
    freed: int = 0  # bytes
    referenced: int = 0  # old enough, but a plot uses them: kept
    young: int = 0  # newer than the minimum age: not considered
    leftovers: list[str] = field(default_factory=list)  # temporary files of crashed writers


def clean_uploads(
    session: Session,
    store: FileStore,
    *,
    min_age: float,
    dry_run: bool = False,
    now: Callable[[], float] = time.time,
) -> CleanResult:
    """Remove upload files that no plot refers to and that are older than ``min_age`` seconds.

    Such files are what a failed transaction (or a crash between writing a file and committing)
    leaves behind. Each file is removed by the store's ``delete_unreferenced``, which asks the
    database again under the shard's exclusive lock: a request that has just stored the same
    file holds the shared lock until it commits, so its file is never taken from under it, and a
    file that a committed plot refers to is never removed. What writers that died left behind
    (the store's ``leftovers``) older than ``min_age`` goes too.
    """
    result = CleanResult()
    cutoff = now() - min_age
    candidates: dict[str, int] = {}
    for stored in store.files():
        if stored.modified <= cutoff:
            candidates[stored.key] = stored.size
        else:
            result.young += 1

    keys = sorted(candidates)
    if dry_run:
        used = _referenced(session, keys)
        result.removed = [key for key in keys if key not in used]
        result.leftovers = store.leftovers(older_than=cutoff)
    else:
        result.removed = sorted(collect_unreferenced(session, store, keys))
        result.leftovers = store.remove_leftovers(older_than=cutoff)
    result.referenced = len(keys) - len(result.removed)
    result.freed = sum(candidates[key] for key in result.removed)
    return result


def _referenced(session: Session, keys: list[str]) -> set[str]:
    used: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for column in (Plot.image_key, Plot.thumb_key):
            used |= set(session.scalars(sa.select(column).where(column.in_(chunk))))
    return used
