"""Pages several blueprints show: an RFP's page and a page of the listing.

The claims, comments and Jams blueprints re-render an RFP's page with their form's errors in
place, and the API serves the listing's pages as JSON; they import this module, never
``rfps/routes.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, render_template, request
from flask_login import current_user
from sqlalchemy.orm import selectinload

from rfp_portal.db import get_session, is_busy
from rfp_portal.forms import ConfirmForm
from rfp_portal.forms.rfp_page import (
    ClaimForm,
    CommentForm,
    PresentationForm,
    ProgressForm,
    PublishForm,
)
from rfp_portal.models import Claim, Comment, Jam, Plot, Presentation, Rfp
from rfp_portal.pagination import Page
from rfp_portal.rfps.listing import Listing
from rfp_portal.services.claims import claim_refusal
from rfp_portal.services.notifications import is_watching, mark_read_for_rfp
from rfp_portal.services.wants import wants_rfp
from rfp_portal.web.context import claim_policy, now
from rfp_portal.web.views import one_or_404

NO_SUCH_RFP = "There is no RFP with that number."


def load_rfp(rfp_id: int, *, share_token: str | None = None, related: bool = True) -> Rfp:
    """The RFP with its author, tags and plots, if the person may read it: a draft is there
    only for its author, admins and the holder of its share link (``share_token``).
    ``related=False``: the RFP alone (a form that writes needs no more; a page shown again
    with the form's errors loads the rest as it reads it).

    :raise 404: when there is no RFP with that id, or it is a draft this person may not read
        (the same answer, so a draft's number gives nothing away).
    """
    query = sa.select(Rfp).where(Rfp.id == rfp_id)
    if related:
        query = query.options(
            selectinload(Rfp.author), selectinload(Rfp.tags), selectinload(Rfp.plots)
        )
    rfp = one_or_404(query, NO_SUCH_RFP)
    if not rfp.can_read(current_user, share_token):
        abort(404, description=NO_SUCH_RFP)
    return rfp


def listing_page(listing: Listing, number: int | None, per_page: int) -> Page:
    """One page of ``listing``: the count and the RFPs, in a fixed number of queries. The
    count stops at LISTING_COUNT_LIMIT, so a listing costs the same at a million RFPs."""
    session = get_session()
    query = listing.select(
        now=now(), policy=claim_policy(), dialect=session.get_bind().dialect.name
    )
    return Page.of(
        session,
        query,
        number=number,
        per_page=per_page,
        count_limit=current_app.config["LISTING_COUNT_LIMIT"],
    )


def make_presentation_form(**kwargs) -> PresentationForm:
    """The form that links an RFP to a Research Jam, offering every Jam, newest first."""
    jams = get_session().scalars(sa.select(Jam).order_by(Jam.starts_at.desc())).all()
    return PresentationForm.for_jams(jams, **kwargs)


def requested_plot(rfp: Rfp) -> Plot | None:
    """The RFP's plot its delivered results stand beside: the one the address asks for
    (``?requested=<plot id>``) when it is one of this RFP's, else its first (None: it has none).
    """
    wanted = request.args.get("requested", type=int)
    chosen = next((plot for plot in rfp.plots if plot.id == wanted), None)
    return chosen or (rfp.plots[0] if rfp.plots else None)


def render_rfp_page(
    rfp: Rfp,
    *,
    claim_form=None,
    progress_forms=None,
    comment_form=None,
    presentation_form=None,
    share_token: str | None = None,
    previews=None,
):
    """The RFP page, with forms that failed validation shown in place.

    ``previews`` are the Markdown previews a form's Preview button asked for, by field id.
    A draft's page has none of the forms of a published RFP; read through its share link
    (``share_token``), it links its images with the token too.

    A fixed number of queries, however many claims, updates and comments it has.
    """
    if rfp.is_draft:
        return render_template(
            "rfps/show.html",
            rfp=rfp,
            claim_refusal=None,
            claim_form=None,
            progress_forms={},
            comment_form=None,
            confirm_form=ConfirmForm(formdata=None) if rfp.can_publish(current_user) else None,
            publish_form=PublishForm(formdata=None) if rfp.can_publish(current_user) else None,
            presentation_form=None,
            wanted=False,
            watching=False,
            share_token=share_token,
            previews={},
        )
    session = get_session()
    # Opening the RFP reads what its reader was told of it (an action done on it redirects
    # here); not a form shown again with its errors, which changes nothing. Before the page's
    # load, since a commit expires what was loaded.
    opening = request.method == "GET" and current_user.is_authenticated
    if opening:
        try:
            if mark_read_for_rfp(session, user=current_user, rfp_id=rfp.id, now=now()):
                session.commit()
        except sa.exc.OperationalError as error:
            if not is_busy(error):
                raise
            # Another writer holds the database: the page matters more than marking it read
            # now (the next opening will).
            session.rollback()
    session.scalars(
        sa.select(Rfp)
        .where(Rfp.id == rfp.id)
        .options(
            selectinload(Rfp.claims).selectinload(Claim.claimant),
            selectinload(Rfp.claims).selectinload(Claim.updates),
            selectinload(Rfp.claims).selectinload(Claim.result_plot),
            selectinload(Rfp.comments).selectinload(Comment.author),
            selectinload(Rfp.presentations).selectinload(Presentation.jam),
        )
        .execution_options(populate_existing=True)
    ).one()
    refusal = None
    watching = False
    if current_user.is_authenticated:
        refusal = claim_refusal(session, rfp, current_user, now=now(), policy=claim_policy())
        watching = is_watching(session, user=current_user, rfp_id=rfp.id)
    if presentation_form is None and rfp.is_managed_by(current_user):
        presentation_form = make_presentation_form(formdata=None)
    progress_forms = progress_forms or {}
    for claim in rfp.claims:
        if claim.is_claimant(current_user) and claim.id not in progress_forms:
            progress_forms[claim.id] = ProgressForm(prefix=f"claim-{claim.id}", formdata=None)
    # Forms only for people who can send them: making one starts a session (its CSRF token),
    # and a visitor's page without one can be served from the page cache.
    signed_in = current_user.is_authenticated
    return render_template(
        "rfps/show.html",
        rfp=rfp,
        claim_refusal=refusal,
        claim_form=claim_form or (ClaimForm(formdata=None) if signed_in else None),
        progress_forms=progress_forms,
        comment_form=comment_form or (CommentForm(formdata=None) if signed_in else None),
        confirm_form=ConfirmForm(formdata=None) if signed_in else None,
        presentation_form=presentation_form,
        wanted=wants_rfp(session, rfp=rfp, user=current_user),
        watching=watching,
        requested_plot=requested_plot(rfp),
        previews=previews or {},
    )
