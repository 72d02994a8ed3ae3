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
from flask import abort, flash

from rfp_portal.db import get_session
from rfp_portal.forms import BaseForm
from rfp_portal.services import DomainError, NotAllowed

T = TypeVar("T")


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
) -> Outcome[T]:
    """Run ``action`` (a service call) in the request's transaction and commit it once.

    - ``NotAllowed`` rolls back and answers 403 (the view already checked the predicate; this
      is the service's own check, for a race or a rule only it knows).
    - ``DomainError`` (and any exception type in ``refusals``, such as an image the checks
      rejected) rolls back whatever the action had begun, and is shown beside its field of
      ``form`` (``field`` when the error names none), or flashed when there is no form.
    - Otherwise the transaction commits: ``commit(result)`` when given (a commit that must
      also tidy files), else the session's own commit.

    :raise 403: when the service says the person may not do this.
    """
    session = get_session()
    try:
        value = action()
    except NotAllowed as error:
        session.rollback()
        abort(403, description=error.message)
    except (DomainError, *refusals) as error:
        session.rollback()  # undo whatever the refused action had begun
        if form is not None:
            form.add_refusal(error, field)
        else:
            flash(getattr(error, "message", str(error)), "error")
        return Outcome(error=error)
    if commit is not None:
        commit(value)
    else:
        session.commit()
    return Outcome(value=value)
