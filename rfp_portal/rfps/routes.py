"""Requests for Plot: list, search, read, submit, edit, withdraw, want, watch; tags (and
following them) and the feed."""

import dataclasses
import html

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from markupsafe import Markup

from rfp_portal.db import get_session
from rfp_portal.forms import ConfirmForm
from rfp_portal.forms.rfp_page import PublishForm
from rfp_portal.models import Compute, Difficulty, Jam, Rfp, RfpState, Tag, rfp_tags
from rfp_portal.models.rfp import PUBLISHED
from rfp_portal.page_cache import kept
from rfp_portal.pagination import FEED_LENGTH
from rfp_portal.rfps.forms import RfpForm
from rfp_portal.rfps.listing import CLAIMED, MENTORING, SORTS, STATES, Listing
from rfp_portal.rfps.pages import listing_page, load_rfp, render_rfp_page
from rfp_portal.services.notifications import (
    follow_tag,
    followed_tags,
    unfollow_tag,
    unwatch,
    watch,
)
from rfp_portal.services.plots import commit_with_files
from rfp_portal.services.rfps import (
    delete_draft,
    publish_rfp,
    revoke_share,
    share_draft,
    submit_rfp,
    update_rfp,
    withdraw_rfp,
)
from rfp_portal.services.wants import set_want
from rfp_portal.storage import get_store
from rfp_portal.web.context import claim_policy, now
from rfp_portal.web.preview import only_markdown_errors, rendered_previews
from rfp_portal.web.views import one_or_404, perform

bp = Blueprint("rfps", __name__)


@bp.route("/rfps")
def index():
    listing = Listing.from_args(request.args)
    if not listing.problems and any(value == "" for value in request.args.values()):
        # The filter form sends every field; the shareable address leaves out the empty ones.
        page_number = request.args.get("page", type=int)
        return redirect(url_for("rfps.index", **listing.args(), page=page_number))
    following = None
    if current_user.is_authenticated and len(listing.tags) == 1:
        following = listing.tags[0] in followed_tags(get_session(), current_user)
    return render_template(
        "rfps/index.html",
        listing=listing,
        listing_html=Markup(listing_html(listing)),  # noqa: S704 - our own template's output
        following=following,
        confirm_form=ConfirmForm(formdata=None) if following is not None else None,
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
    if not page.exact and not page.items and page.number > 1:
        # Past the end of a listing too long to count: its first page.
        abort(redirect(url_for("rfps.index", **listing.args())))
    html = render_template(
        "rfps/_listing.html",
        page=page,
        listing=listing,
        words=listing.search_query.highlight_words,
        states=[(value, label) for value, (label, _) in STATES.items()],
        claimed_options=list(CLAIMED.items()),
        mentoring_options=list(MENTORING.items()),
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


@bp.route("/rfps/<id:rfp_id>")
def show(rfp_id: int):
    return render_rfp_page(load_rfp(rfp_id))


DRAFT_SAVED = (
    "Your draft is saved. Only you can see it: add plots, share a read-only link with a mentor, "
    "and publish when it is ready."
)
PUBLISHED_NOW = "Your RFP is published. Thank you for sharing it!"


@bp.route("/rfps/new", methods=["GET", "POST"])
@login_required
def new():
    """Write an RFP: save it as a draft, preview it, or publish it at once."""
    form = RfpForm()
    if form.is_submitted() and form.validate() and not form.preview.data:
        session = get_session()
        publish = not form.save_draft.data
        done = perform(
            lambda: submit_rfp(
                session,
                author=current_user,
                draft=form.to_draft(),
                publish=publish,
                no_plot_yet=form.no_plot_yet.data,
            ),
            form=form,
            field="no_plot_yet",
            costly=True,
        )
        if done:
            flash(PUBLISHED_NOW if publish else DRAFT_SAVED, "success")
            return redirect(url_for("rfps.show", rfp_id=done.value.id))
    return _form_page(form, rfp=None)


@bp.route("/rfps/<id:rfp_id>/edit", methods=["GET", "POST"])
@login_required
def edit(rfp_id: int):
    """Change an RFP; a draft can also be published from here."""
    rfp = load_rfp(rfp_id)
    if not rfp.can_edit(current_user):
        abort(403, description="Only the author can edit this RFP (organisers can withdraw it).")
    form = RfpForm.for_rfp(rfp)
    was_draft = rfp.is_draft
    valid = form.is_submitted() and form.validate(
        published=not was_draft, has_plots=bool(rfp.plots)
    )
    if valid and not form.preview.data:
        session = get_session()
        publish = was_draft and bool(form.publish.data)

        def save() -> Rfp:
            update_rfp(session, rfp=rfp, editor=current_user, draft=form.to_draft())
            if publish:
                publish_rfp(
                    session,
                    rfp=rfp,
                    actor=current_user,
                    no_plot_yet=form.no_plot_yet.data,
                    now=now(),
                )
            return rfp

        done = perform(save, form=form, field="no_plot_yet", costly=True)
        if done:
            if publish:
                flash(PUBLISHED_NOW, "success")
            else:
                flash(DRAFT_SAVED if was_draft else "Your changes are saved.", "success")
            return redirect(url_for("rfps.show", rfp_id=rfp.id))
    return _form_page(form, rfp=rfp)


def _form_page(form: RfpForm, *, rfp: Rfp | None):
    """The RFP form, with its errors (422) or the preview the person asked for."""
    previews = {}
    if form.preview.data:
        # The form is already checked (with its own rules for drafts), so no preview_form.
        markdown = ["big_picture", "first_plot"]
        only_markdown_errors(form, markdown)
        previews = rendered_previews(form, markdown)
    status = 422 if form.error_list() else 200
    return render_template("rfps/form.html", form=form, rfp=rfp, previews=previews), status


@bp.route("/rfps/<id:rfp_id>/publish", methods=["POST"])
@login_required
def publish(rfp_id: int):
    """Publish a draft as it stands, from its page."""
    rfp = load_rfp(rfp_id)
    if not rfp.is_draft and rfp.is_author(current_user):
        flash("This RFP is already published.", "info")
        return redirect(url_for("rfps.show", rfp_id=rfp.id))
    if not rfp.can_publish(current_user):
        abort(403, description="Only the author can publish a draft.")
    form = PublishForm()
    if not form.validate_on_submit():
        abort(400, description="That form had expired. Please reload the page and try again.")
    done = perform(
        lambda: publish_rfp(
            get_session(),
            rfp=rfp,
            actor=current_user,
            no_plot_yet=form.no_plot_yet.data,
            now=now(),
        )
    )
    if done:
        flash(PUBLISHED_NOW, "success")
        return redirect(url_for("rfps.show", rfp_id=rfp.id))
    return redirect(url_for("rfps.show", rfp_id=rfp.id, _anchor="publish"))


@bp.route("/rfps/<id:rfp_id>/share", methods=["POST"])
@login_required
def share(rfp_id: int):
    """Make a draft's read-only share link (``share=yes``) or end it (``share=no``)."""
    rfp = load_rfp(rfp_id)
    if not rfp.can_publish(current_user):
        abort(403, description="Only the author can share a draft.")
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, description="That form had expired. Please reload the page and try again.")
    session = get_session()
    if request.form.get("share") == "no":
        if perform(lambda: revoke_share(session, rfp=rfp, actor=current_user)):
            flash("The share link no longer works. Nobody else can read this draft.", "success")
    elif perform(lambda: share_draft(session, rfp=rfp, actor=current_user)):
        flash(
            "Anyone with this link can read the draft (not change it) until you stop sharing "
            "it or publish.",
            "success",
        )
    return redirect(url_for("rfps.show", rfp_id=rfp.id, _anchor="share"))


@bp.route("/rfps/<id:rfp_id>/shared/<token>")
def shared(rfp_id: int, token: str):
    """A draft read through its share link: read-only, for whoever holds the link.

    :raise 404: when the link is wrong or was revoked.
    """
    rfp = load_rfp(rfp_id, share_token=token)
    if not rfp.is_draft:
        return redirect(url_for("rfps.show", rfp_id=rfp.id))
    response = make_response(render_rfp_page(rfp, share_token=token))
    # The link is a secret: no shared cache keeps the page, no other site learns the address.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.route("/rfps/<id:rfp_id>/delete", methods=["GET", "POST"])
@login_required
def delete(rfp_id: int):
    """Delete a draft (a published RFP is withdrawn, never deleted)."""
    rfp = load_rfp(rfp_id)
    if not rfp.can_publish(current_user):
        abort(403, description="Only the author can delete a draft; a published RFP is withdrawn.")
    form = ConfirmForm()
    if form.validate_on_submit():
        session, store = get_session(), get_store()
        if perform(
            lambda: delete_draft(session, rfp=rfp, actor=current_user),
            commit=lambda keys: commit_with_files(session, store, written=[], released=keys),
        ):
            flash("The draft is deleted.", "success")
            return redirect(url_for("users.show", username=current_user.username))
    return render_template("rfps/delete.html", form=form, rfp=rfp)


@bp.route("/rfps/<id:rfp_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(rfp_id: int):
    rfp = load_rfp(rfp_id)
    if rfp.is_draft and rfp.can_publish(current_user):
        flash("Nobody else has seen a draft: delete it rather than withdraw it.", "info")
        return redirect(url_for("rfps.delete", rfp_id=rfp.id))
    if rfp.state is not RfpState.OPEN and rfp.is_managed_by(current_user):
        flash(f"This RFP is already {rfp.state.value}.", "info")
        return redirect(url_for("rfps.show", rfp_id=rfp.id))
    if not rfp.can_withdraw(current_user):
        abort(403, description="Only the author or an organiser can withdraw an open RFP.")
    form = ConfirmForm()
    if form.validate_on_submit():
        reason = request.form.get("reason", "")[:500]
        if perform(lambda: withdraw_rfp(get_session(), rfp=rfp, actor=current_user, reason=reason)):
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
            if rfp.is_author(current_user)
            else "A draft takes “I want this plot too” once it is published."
            if rfp.is_draft
            else "A withdrawn RFP no longer takes “I want this plot too”.",
        )
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, description="That form had expired. Please reload the page and try again.")
    wanted = request.form.get("want") != "no"
    done = perform(lambda: set_want(get_session(), rfp=rfp, user=current_user, want=wanted))
    if done and wanted:
        flash("Noted: you want this plot too. The author will see the count grow.", "success")
    elif done:
        flash("You no longer want this plot on record.", "info")
    return redirect(url_for("rfps.show", rfp_id=rfp.id, _anchor="want"))


@bp.route("/rfps/<id:rfp_id>/watch", methods=["POST"])
@login_required
def watch_rfp(rfp_id: int):
    """Start or stop watching an RFP (``watch=yes`` or ``watch=no``, so a resend is harmless)."""
    rfp = load_rfp(rfp_id)
    if rfp.is_draft:
        abort(
            403,
            description="A draft has nothing to watch yet; its author watches it once published.",
        )
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, description="That form had expired. Please reload the page and try again.")
    session = get_session()
    if request.form.get("watch") == "no":
        if perform(lambda: unwatch(session, user=current_user, rfp=rfp)):
            flash("You no longer watch this RFP.", "info")
    elif perform(lambda: watch(session, user=current_user, rfp=rfp, now=now())):
        flash("You watch this RFP: its progress, results and comments will reach you.", "success")
    return redirect(url_for("rfps.show", rfp_id=rfp.id, _anchor="watch"))


@bp.route("/tags/<name>/follow", methods=["POST"])
@login_required
def follow(name: str):
    """Follow a tag (its new RFPs reach you in the weekly digest) or stop (``follow=no``)."""
    # Only a tag some published RFP carries: a draft's tags are nobody else's business.
    tag = one_or_404(
        sa.select(Tag).where(
            Tag.name == name,
            sa.exists().where(
                rfp_tags.c.tag_id == Tag.id,
                rfp_tags.c.rfp_id == Rfp.id,
                Rfp.state.in_(PUBLISHED),
            ),
        ),
        "There is no such tag.",
    )
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, description="That form had expired. Please reload the page and try again.")
    session = get_session()
    if request.form.get("follow") == "no":
        if perform(lambda: unfollow_tag(session, user=current_user, tag=tag)):
            flash(f"You no longer follow “{tag.name}”.", "info")
    elif perform(lambda: follow_tag(session, user=current_user, tag=tag, now=now())):
        flash(f"You follow “{tag.name}”: its new RFPs reach you in a weekly e-mail.", "success")
    return redirect(url_for("rfps.index", tag=tag.name))


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
