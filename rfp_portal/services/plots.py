"""Adding, changing, ordering and removing the plots on an RFP.

Image work (Pillow, matplotlib) happens here, once, when a plot is saved. Files are written to the
store before the transaction commits; after it commits (or fails), ``collect_unreferenced``
removes files that no plot refers to, so a file is never removed while a plot needs it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rfp_portal import clock
from rfp_portal.models import Plot, PlotKind, Rfp, User
from rfp_portal.models.plot import PLOTS_PER_RFP
from rfp_portal.rendering.images import ProcessedImage, process_drawn, process_upload
from rfp_portal.rendering.sketch import draw_sketch, validate_spec
from rfp_portal.services import DomainError, NotAllowed
from rfp_portal.storage import ImageStore


def _check_can_add(session: Session, rfp: Rfp, actor: User) -> None:
    if not rfp.can_edit(actor):
        raise NotAllowed("Only the author or an organiser can add plots to this RFP.")
    count = session.scalar(
        sa.select(sa.func.count()).select_from(Plot).where(Plot.rfp_id == rfp.id)
    )
    if count >= PLOTS_PER_RFP:
        raise DomainError(f"An RFP can have at most {PLOTS_PER_RFP} plots; delete one first.")


def _store(store: ImageStore, processed: ProcessedImage) -> dict[str, Any]:
    image, thumb = processed.image, processed.thumb
    return {
        "image_key": store.put(image.data, image.extension),
        "image_type": image.content_type,
        "width": image.width,
        "height": image.height,
        "thumb_key": store.put(thumb.data, thumb.extension),
        "thumb_type": thumb.content_type,
        "thumb_width": thumb.width,
        "thumb_height": thumb.height,
    }


def _next_position(session: Session, rfp: Rfp) -> int:
    highest = session.scalar(sa.select(sa.func.max(Plot.position)).where(Plot.rfp_id == rfp.id))
    return 0 if highest is None else highest + 1


def add_example_plot(
    session: Session,
    store: ImageStore,
    *,
    rfp: Rfp,
    actor: User,
    data: bytes,
    caption: str,
    alt_text: str,
) -> Plot:
    """Check, re-encode, thumbnail and store an uploaded example image.

    :raise NotAllowed: unless ``actor`` may edit the RFP.
    :raise DomainError: when the RFP has as many plots as allowed.
    :raise ImageRejected: when the file is not an acceptable image.
    """
    _check_can_add(session, rfp, actor)
    files = _store(store, process_upload(data))
    plot = Plot(
        rfp=rfp,
        kind=PlotKind.EXAMPLE,
        caption=caption.strip(),
        alt_text=alt_text.strip(),
        position=_next_position(session, rfp),
        created_by_id=actor.id,
        **files,
    )
    session.add(plot)
    session.flush()
    return plot


def add_sketch(
    session: Session,
    store: ImageStore,
    *,
    rfp: Rfp,
    actor: User,
    spec: dict,
    caption: str,
    alt_text: str,
) -> Plot:
    """Draw a sketch from ``spec`` and keep both the picture and the spec.

    :raise NotAllowed: unless ``actor`` may edit the RFP.
    :raise DomainError: when the RFP has as many plots as allowed.
    :raise SketchError: when the spec cannot be drawn.
    """
    _check_can_add(session, rfp, actor)
    spec = validate_spec(spec)
    files = _store(store, process_drawn(draw_sketch(spec)))
    plot = Plot(
        rfp=rfp,
        kind=PlotKind.SKETCH,
        caption=caption.strip(),
        alt_text=alt_text.strip(),
        position=_next_position(session, rfp),
        spec=spec,
        created_by_id=actor.id,
        **files,
    )
    session.add(plot)
    session.flush()
    return plot


def update_plot(
    session: Session,
    store: ImageStore,
    *,
    plot: Plot,
    actor: User,
    caption: str,
    alt_text: str,
    spec: dict | None = None,
) -> list[str]:
    """Re-caption a plot and, for a sketch given a changed spec, redraw it.

    :return: storage keys the plot no longer uses (for ``collect_unreferenced`` after commit).
    :raise NotAllowed: unless ``actor`` may manage the plot.
    :raise SketchError: when a new spec cannot be drawn.
    """
    if not plot.can_manage(actor):
        raise NotAllowed("Only the RFP's author can change this plot.")
    released: list[str] = []
    if plot.kind is PlotKind.SKETCH and spec is not None:
        spec = validate_spec(spec)
        if spec != plot.spec:
            old = [plot.image_key, plot.thumb_key]
            for name, value in _store(store, process_drawn(draw_sketch(spec))).items():
                setattr(plot, name, value)
            plot.spec = spec
            released = [key for key in old if key not in (plot.image_key, plot.thumb_key)]
    plot.caption = caption.strip()
    plot.alt_text = alt_text.strip()
    plot.updated_at = clock.now()
    session.flush()
    return released


def move_plot(session: Session, *, plot: Plot, actor: User, offset: int) -> None:
    """Move a plot ``offset`` places earlier (negative) or later (positive) on its RFP.

    :raise NotAllowed: unless ``actor`` may manage the plot.
    """
    if not plot.can_manage(actor):
        raise NotAllowed("Only the author or an organiser can reorder these plots.")
    plots = list(plot.rfp.plots)
    index = plots.index(plot)
    target = max(0, min(len(plots) - 1, index + offset))
    plots.insert(target, plots.pop(index))
    for position, each in enumerate(plots):
        each.position = position
    session.flush()


def delete_plot(session: Session, *, plot: Plot, actor: User) -> list[str]:
    """Delete a plot.

    :return: its storage keys, for ``collect_unreferenced`` after commit.
    :raise NotAllowed: unless ``actor`` may manage the plot.
    """
    if not plot.can_manage(actor):
        raise NotAllowed("Only the author or an organiser can delete this plot.")
    keys = [plot.image_key, plot.thumb_key]
    plot.rfp.plots.remove(plot)
    session.delete(plot)
    session.flush()
    return keys


def collect_unreferenced(session: Session, store: ImageStore, keys: list[str]) -> list[str]:
    """Remove the files among ``keys`` that no plot refers to; return the removed keys.

    Call it after the transaction that released them has committed (or failed, for files written
    during it), and after ``store.release()``: each file is checked and removed under the store's
    lock, so a request about to commit a plot that uses the same file keeps it.
    """

    def in_use(candidates: list[str]) -> set[str]:
        used = set(session.scalars(sa.select(Plot.image_key).where(Plot.image_key.in_(candidates))))
        used |= set(
            session.scalars(sa.select(Plot.thumb_key).where(Plot.thumb_key.in_(candidates)))
        )
        return used

    session.rollback()  # end any open (already committed) transaction: each check sees the latest
    return store.delete_unreferenced(keys, in_use)


def commit_with_files(
    session: Session, store: ImageStore, *, written: list[str], released: list[str] = ()
) -> None:
    """Commit the transaction that wrote or released image files; then remove the files nobody
    refers to: the released ones, or, if the commit failed, the ones it had written.

    The one commit of a request that stores images (uploads, sketches, deliveries, deletions).
    ``written`` adds to what the store says this request wrote (``store.written()``).

    :raise: whatever the commit raised, after tidying the files it had written.
    """
    written = list(dict.fromkeys([*written, *store.written()]))
    try:
        session.commit()
    except Exception:
        session.rollback()
        store.release()
        collect_unreferenced(session, store, written)
        raise
    store.release()
    collect_unreferenced(session, store, list(released))


def discard_written(session: Session, store: ImageStore) -> list[str]:
    """After a failed action (rolled back): remove the files this request wrote that no plot
    refers to, such as an image whose thumbnail did not fit; return the removed keys."""
    written = store.written()
    store.release()
    return collect_unreferenced(session, store, written) if written else []
