"""Requests for Plot: list, search, read, submit, edit, withdraw, want; tags and the feed."""

import dataclasses
import html

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from rfp_portal.db import get_session
from rfp_portal.forms import ConfirmForm
from rfp_portal.models import (
    Claim,
    Comment,
    Compute,
    Difficulty,
    Jam,
    Presentation,
    Rfp,
    RfpState,
    Tag,
    rfp_tags,
)
from rfp_portal.page_cache import kept
from rfp_portal.pagination import Page
from rfp_portal.rfps.forms import RfpForm
from rfp_portal.rfps.listing import CLAIMED, SORTS, STATES, Listing
from rfp_portal.services import DomainError, NotAllowed
from rfp_portal.services.rfps import submit_rfp, update_rfp, withdraw_rfp
from rfp_portal.services.wants import set_want, wants_rfp

bp = Blueprint("rfps", __name__)

FEED_LENGTH = 50


def load_rfp(rfp_id: int) -> Rfp:
    """:raise 404: when there is no RFP with that id."""
    rfp = get_session().scalar(
        sa.select(Rfp)
        .where(Rfp.id == rfp_id)
        .options(selectinload(Rfp.author), selectinload(Rfp.tags), selectinload(Rfp.plots))
    )
    if rfp is None:
        abort(404, description="There is no RFP with that number.")
    return rfp


def listing_page(listing: Listing, number: int | None, per_page: int) -> Page:
    """One page of ``listing``: the count and the RFPs, in a fixed number of queries."""
    from rfp_portal.web import claim_policy, now

    session = get_session()
    query = listing.select(
        now=now(), policy=claim_policy(), dialect=session.get_bind().dialect.name
    )
    return Page.of(session, query, number=number, per_page=per_page)


@bp.route("/rfps")
def index():
    listing = Listing.from_args(request.args)
    if not listing.problems and any(value == "" for value in request.args.values()):
        # The filter form sends every field; the shareable address leaves out the empty ones.
        page_number = request.args.get("page", type=int)
        return redirect(url_for("rfps.index", **listing.args(), page=page_number))
    return render_template(
        "rfps/index.html",
        listing=listing,
        listing_html=Markup(listing_html(listing)),  # noqa: S704 - our own template's output
    )


def listing_html(listing: Listing) -> str:
    """The listing below the heading, from the shared store when the site has not changed.

    It is the same for every reader, logged in or not, so one rendering serves everyone until
    the next write (the page cache's generation is part of the key) or PAGE_CACHE_SECONDS.

    :raise 302: to the last page, for a page past the end.
    """
    return kept(
        "rfps.index listing",
        request.host_url,
        request.full_path,
        make=lambda: _render_listing(listing),
    )


def _render_listing(listing: Listing) -> str:
    page = listing_page(
        listing, request.args.get("page", 1, type=int), current_app.config["RFPS_PER_PAGE"]
    )
    if page.number > page.pages:  # past the end (the list shrank): the last page
        abort(redirect(url_for("rfps.index", **listing.args(), page=page.pages)))
    html = render_template(
        "rfps/_listing.html",
        page=page,
        listing=listing,
        words=listing.search_query.highlight_words,
        states=[(value, label) for value, (label, _) in STATES.items()],
        claimed_options=list(CLAIMED.items()),
        difficulties=[(d.value, d.value.capitalize()) for d in Difficulty],
        computes=[(c.value, c.value[0].upper() + c.value[1:]) for c in Compute],
        jam_options=[("", "Any or none")]
        + [
            (str(number), f"Presented at #{number}")
            for number in get_session().scalars(sa.select(Jam.number).order_by(Jam.number.desc()))
        ],
        sorts=[("", "Best match" if listing.q else "Newest")]
        + [
            (value, label)
            for value, label in SORTS.items()
            if value != "relevance" and (listing.q or value != "new")
        ],
        sort_label=SORTS[listing.effective_sort].lower(),
    )
    return html


def render_rfp_page(
    rfp: Rfp, *, claim_form=None, progress_forms=None, comment_form=None, presentation_form=None
):
    """The RFP page, with forms that failed validation shown in place.

    A fixed number of queries, however many claims, updates and comments it has.
    """
    from rfp_portal.claims.forms import ClaimForm, ProgressForm
    from rfp_portal.comments.forms import CommentForm
    from rfp_portal.services.claims import claim_refusal
    from rfp_portal.web import claim_policy, now

    session = get_session()
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
    if current_user.is_authenticated:
        refusal = claim_refusal(session, rfp, current_user, now=now(), policy=claim_policy())
    if presentation_form is None and rfp.is_managed_by(current_user):
        from rfp_portal.jams.routes import presentation_form as make_presentation_form

        presentation_form = make_presentation_form(rfp)
        presentation_form.process(formdata=None)
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
    )


@bp.route("/rfps/<id:rfp_id>")
def show(rfp_id: int):
    return render_rfp_page(load_rfp(rfp_id))


@bp.route("/rfps/new", methods=["GET", "POST"])
@login_required
def new():
    form = RfpForm()
    if form.validate_on_submit():
        session = get_session()
        try:
            rfp = submit_rfp(session, author=current_user, draft=form.to_draft())
        except DomainError as error:
            session.rollback()  # undo whatever the refused action had begun
            form.add_domain_error(error)
        else:
            session.commit()
            flash("Your RFP is published. Thank you for sharing it!", "success")
            return redirect(url_for("rfps.show", rfp_id=rfp.id))
    return render_template("rfps/form.html", form=form, rfp=None), 422 if form.errors else 200


@bp.route("/rfps/<id:rfp_id>/edit", methods=["GET", "POST"])
@login_required
def edit(rfp_id: int):
    rfp = load_rfp(rfp_id)
    if not rfp.can_edit(current_user):
        abort(403, description="Only the author can edit this RFP (organisers can withdraw it).")
    form = RfpForm.for_rfp(rfp)
    if form.validate_on_submit():
        session = get_session()
        try:
            update_rfp(session, rfp=rfp, editor=current_user, draft=form.to_draft())
        except NotAllowed:
            abort(403)
        except DomainError as error:
            session.rollback()  # undo whatever the refused action had begun
            form.add_domain_error(error)
        else:
            session.commit()
            flash("Your changes are saved.", "success")
            return redirect(url_for("rfps.show", rfp_id=rfp.id))
    return render_template("rfps/form.html", form=form, rfp=rfp), 422 if form.errors else 200


@bp.route("/rfps/<id:rfp_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(rfp_id: int):
    rfp = load_rfp(rfp_id)
    if rfp.state is not RfpState.OPEN and rfp.is_managed_by(current_user):
        flash(f"This RFP is already {rfp.state.value}.", "info")
        return redirect(url_for("rfps.show", rfp_id=rfp.id))
    if not rfp.can_withdraw(current_user):
        abort(403, description="Only the author or an organiser can withdraw an open RFP.")
    form = ConfirmForm()
    if form.validate_on_submit():
        session = get_session()
        withdraw_rfp(
            session, rfp=rfp, actor=current_user, reason=request.form.get("reason", "")[:500]
        )
        session.commit()
        flash("The RFP is withdrawn. It stays readable, marked as withdrawn.", "success")
        return redirect(url_for("rfps.show", rfp_id=rfp.id))
    return render_template("rfps/withdraw.html", form=form, rfp=rfp)


@bp.route("/rfps/<id:rfp_id>/want", methods=["POST"])
@login_required
def want(rfp_id: int):
    """Say or unsay "I want this plot too" (``want=yes`` or ``want=no``, so a resend is harmless)."""
    rfp = load_rfp(rfp_id)
    if not rfp.can_be_wanted_by(current_user):
        abort(
            403,
            description="You wrote this RFP, so you want it already."
            if current_user.id == rfp.author_id
            else "A withdrawn RFP no longer takes “I want this plot too”.",
        )
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, description="That form had expired. Please reload the page and try again.")
    wanted = request.form.get("want") != "no"
    session = get_session()
    set_want(session, rfp=rfp, user=current_user, want=wanted)
    session.commit()
    if wanted:
        flash("Noted: you want this plot too. The author will see the count grow.", "success")
    else:
        flash("You no longer want this plot on record.", "info")
    return redirect(url_for("rfps.show", rfp_id=rfp.id, _anchor="want"))


@bp.route("/tags")
def tags():
    """Every tag on an open or completed RFP, with how many it is on; most used first."""
    count = sa.func.count(rfp_tags.c.rfp_id)
    rows = get_session().execute(
        sa.select(Tag.name, count.label("count"))
        .join(rfp_tags, rfp_tags.c.tag_id == Tag.id)
        .join(Rfp, Rfp.id == rfp_tags.c.rfp_id)
        .where(Rfp.state.in_(STATES[""][1]))
        .group_by(Tag.id, Tag.name)
        .order_by(count.desc(), Tag.name)
    )
    return render_template("rfps/tags.html", tags=rows.all())


@bp.app_template_filter("feed_content")
def feed_content(rfp: Rfp) -> str:
    """An RFP's text as one HTML document for a feed entry (escaped again by the template)."""
    # The HTML parts were sanitised when saved; only the plain summary needs escaping.
    return (
        f"<p>{html.escape(rfp.summary)}</p><h2>The big picture</h2>{rfp.big_picture_html}"
        f"<h2>The first plot</h2>{rfp.first_plot_html}"
    )


@bp.route("/rfps.atom")
def feed():
    """The newest RFPs matching the listing's filters, as an Atom 1.0 feed."""
    from rfp_portal.web import claim_policy, now

    listing = Listing.from_args(request.args)
    listing = dataclasses.replace(listing, sort="new")
    session = get_session()
    rfps = session.scalars(
        listing.select(
            now=now(), policy=claim_policy(), dialect=session.get_bind().dialect.name
        ).limit(FEED_LENGTH)
    ).all()
    updated = max((r.updated_at for r in rfps), default=None) or now()
    body = render_template(
        "rfps/feed.xml",
        rfps=rfps,
        listing=listing,
        updated=updated,
        self_url=url_for("rfps.feed", _external=True, **listing.args(sort="")),
        html_url=url_for("rfps.index", _external=True, **listing.args(sort="")),
    )
    return body, {"Content-Type": "application/atom+xml; charset=utf-8"}
