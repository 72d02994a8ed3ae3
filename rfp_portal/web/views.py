"""What every view shares: load a thing or answer 404, and run a service the one way.

A view reads *load, check, act, commit, redirect*. ``get_or_404``/``one_or_404`` load;
the model's predicates check; ``perform`` acts and commits::

    rfp = get_or_404(Rfp, rfp_id, "There is no RFP with that number.")
    if not rfp.can_edit(current_user):
        abort(403, description="Only the author can edit this RFP.")
    done = perform(lambda: update_rfp(session, rfp=rfp, …), form=form)
    if done:
        flash("Your changes are saved.", "success")
        return redirect(…)
    return render_template("rfps/form.html", form=form), 422
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from flask import abort, current_app, flash, g
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from rfp_portal import limits
from rfp_portal.db import get_session, is_busy
from rfp_portal.forms import BaseForm
from rfp_portal.services import DomainError, NotAllowed
from rfp_portal.services.plots import discard_written
from rfp_portal.storage import StorageFull, get_store
from rfp_portal.web.errors import RETRY_AFTER_BUSY

T = TypeVar("T")

BUSY = "The portal is busy, please try again in a moment."


class PortalBusy(DomainError):
    """The database's write lock stayed taken past the busy timeout: nothing was saved."""

    def __init__(self) -> None:
        super().__init__(BUSY)


class InsufficientStorage(HTTPException):
    code = 507
    description = StorageFull.message


#: How a refusal that is the portal's fault, not the person's, is answered: its status and headers.
UNAVAILABLE: dict[type[Exception], tuple[int, dict[str, str]]] = {
    PortalBusy: (503, {"Retry-After": RETRY_AFTER_BUSY}),
    StorageFull: (507, {}),
}


def get_or_404(model: type[T], ident: int, description: str, *options: Any) -> T:
    """The row of ``model`` with primary key ``ident``, loaded with ``options``.

    :raise 404: with ``description`` when there is none.
    """
    found = get_session().get(model, ident, options=list(options))
    if found is None:
        abort(404, description=description)
    return found


def one_or_404(statement: sa.Select, description: str):
    """The one row ``statement`` selects.

    :raise 404: with ``description`` when it selects none.
    """
    found = get_session().scalar(statement)
    if found is None:
        abort(404, description=description)
    return found


@dataclass
class Outcome(Generic[T]):
    """What ``perform`` did: true when the action was committed, with its result in ``value``;
    false when a rule refused it, with the refusal in ``error`` (already shown to the person)."""

    value: T | None = None
    error: Exception | None = None

    def __bool__(self) -> bool:
        return self.error is None


def perform(
    action: Callable[[], T],
    *,
    form: BaseForm | None = None,
    field: str | None = None,
    refusals: tuple[type[Exception], ...] = (),
    commit: Callable[[T], None] | None = None,
    costly: bool = False,
) -> Outcome[T]:
    """Run ``action`` (a service call) in the request's transaction and commit it once.

    - ``costly``: the action renders Markdown or draws, so it counts against the write limits
      (``limits.write_allowed``) first; past them nothing runs and ``form`` comes back with
      everything typed and the message, as 429 with ``Retry-After``.

    - ``NotAllowed`` rolls back and answers 403 (the view already checked the predicate; this
      is the service's own check, for a race or a rule only it knows).
    - ``DomainError`` (and any exception type in ``refusals``, such as an image the checks
      rejected) rolls back whatever the action had begun, and is shown beside its field of
      ``form`` (``field`` when the error names none), or flashed when there is no form.
    - Otherwise the transaction commits: ``commit(result)`` when given (a commit that must
      also tidy files), else the session's own commit.
    - When the action or the commit could not save for a reason that is the portal's, not the
      person's — the database's write lock stayed taken past the busy timeout, or the upload
      folder is full — it rolls back and ``form`` comes back with everything typed and the
      message, answered as 503 with ``Retry-After`` (busy) or 507 (full); without a form, an
      error page with that status.
    - Whatever goes wrong, the files the request wrote and no plot uses are removed.

    :raise 403: when the service says the person may not do this.
    :raise 503, 507: as above, when there is no form to show again.
    """
    session = get_session()
    if costly and not limits.write_allowed():
        if form is None:
            abort(429, description=limits.WRITE_THROTTLED)
        form.form_errors.append(limits.WRITE_THROTTLED)
        g.unavailable = (429, {"Retry-After": str(limits.retry_after_seconds() or 60)})
        return Outcome(error=DomainError(limits.WRITE_THROTTLED))
    try:
        value = action()
        if commit is not None:
            commit(value)
        else:
            session.commit()
    except NotAllowed as error:
        _undo(session)
        abort(403, description=error.message)
    except (DomainError, *refusals) as error:
        _undo(session)  # undo whatever the refused action had begun
        if form is not None:
            form.add_refusal(error, field)
        else:
            flash(getattr(error, "message", str(error)), "error")
        return Outcome(error=error)
    except (sa.exc.OperationalError, StorageFull) as error:
        if isinstance(error, sa.exc.OperationalError) and not is_busy(error):
            _undo(session)
            raise
        _undo(session)
        return _unavailable(PortalBusy() if is_busy(error) else error, form, field)
    except Exception:
        _undo(session)
        raise
    return Outcome(value=value)


def _undo(session) -> None:
    """Roll back, and remove the files the failed request wrote (nothing refers to them)."""
    session.rollback()
    try:
        discard_written(session, get_store())
    except Exception:  # tidying must not hide why the request failed
        current_app.logger.exception("could not remove the files of a failed request")


def _unavailable(error: PortalBusy | StorageFull, form: BaseForm | None, field: str | None):
    """The portal could not save (a busy database, a full disk): the person's form comes back
    with everything typed and the message, as 503 + Retry-After or 507 (``web.errors`` sets them
    on the view's re-rendered form); without a form, an error page that says so."""
    if isinstance(error, StorageFull):
        current_app.logger.error("the upload folder is full: %s", error.__cause__)
    if form is None:
        raise InsufficientStorage() if isinstance(error, StorageFull) else ServiceUnavailable(BUSY)
    if isinstance(error, StorageFull):
        form.add_refusal(error, field)  # beside the file field of an upload form
    else:
        form.form_errors.append(error.message)
    g.unavailable = UNAVAILABLE[type(error)]
    return Outcome(error=error)
