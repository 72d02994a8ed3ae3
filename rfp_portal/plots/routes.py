"""Plots on an RFP: upload an example, draw a sketch, re-caption, reorder, delete; serve images."""

import base64

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from rfp_portal import limits
from rfp_portal.db import get_session
from rfp_portal.forms import ConfirmForm
from rfp_portal.models import Plot, PlotKind, Rfp
from rfp_portal.plots.forms import CaptionForm, ExampleForm, SketchForm
from rfp_portal.rendering.images import ImageRejected
from rfp_portal.rendering.sketch import SketchError, draw_sketch, validate_spec
from rfp_portal.rfps.pages import load_rfp
from rfp_portal.services.plots import (
    add_example_plot,
    add_sketch,
    commit_with_files,
    delete_plot,
    move_plot,
    update_plot,
)
from rfp_portal.storage import get_store
from rfp_portal.web.preview import asked_for_preview
from rfp_portal.web.views import get_or_404, perform

bp = Blueprint("plots", __name__)

YEAR = 365 * 24 * 3600
NO_PLOT = "There is no plot with that number."


def load_plot(plot_id: int) -> Plot:
    """:raise 404: when there is no plot with that id."""
    return get_or_404(Plot, plot_id, NO_PLOT, selectinload(Plot.rfp).selectinload(Rfp.plots))


def editable_rfp(rfp_id: int) -> Rfp:
    """:raise 404: for an unknown RFP. :raise 403: unless the person may edit it."""
    rfp = load_rfp(rfp_id)
    if not rfp.can_edit(current_user):
        abort(403, description="Only the RFP's author can change its plots.")
    return rfp


def managed_plot(plot_id: int) -> Plot:
    plot = load_plot(plot_id)
    if not plot.can_manage(current_user):
        abort(403, description="Only the RFP's author can change this plot.")
    return plot


def preview_data_url(form: SketchForm) -> str | None:
    """Draw the form's sketch for a preview (nothing is stored); errors go on the form."""
    try:
        png = draw_sketch(validate_spec(form.to_spec()))
    except SketchError as error:
        form.add_sketch_error(error)
        return None
    return "data:image/png;base64," + base64.b64encode(png).decode()


def sketch_preview(form: SketchForm, *, rfp: Rfp, plot: Plot | None) -> Response:
    """Draw the sketch the form describes, saving nothing: the whole page again (no script),
    or only the preview panel for ``static/sketch.js`` (``X-Requested-With: fetch``).

    Previews have their own limits, apart from uploads; a throttled preview still answers with
    everything typed and a message (429), never an error page.
    """
    preview = message = None
    if not limits.preview_allowed():
        status, message = 429, limits.PREVIEW_THROTTLED
    else:
        form.validate_on_submit()
        # A preview needs only the drawing: the caption and alt text can come before saving.
        for name in ("caption", "alt_text"):
            form[name].errors = []
        if not form.error_list():
            preview = preview_data_url(form)
        status = 422 if form.error_list() else 200
    in_place = request.headers.get("X-Requested-With") == "fetch"
    page = render_template(
        "plots/_sketch_preview.html" if in_place else "plots/sketch.html",
        rfp=rfp,
        form=form,
        plot=plot,
        preview=preview,
        preview_message=message,
    )
    response = make_response(page, status)
    if status == 429:
        response.headers["Retry-After"] = str(limits.retry_after_seconds() or 60)
    return response


@bp.route("/rfps/<id:rfp_id>/plots")
@login_required
def manage(rfp_id: int):
    rfp = editable_rfp(rfp_id)
    return render_template("plots/manage.html", rfp=rfp, form=ConfirmForm())


@bp.route("/rfps/<id:rfp_id>/plots/new/<any(example, sketch):kind>")
@login_required
def new(rfp_id: int, kind: str):
    rfp = editable_rfp(rfp_id)
    form = ExampleForm() if kind == "example" else SketchForm(formdata=None)
    return render_template(f"plots/{kind}.html", rfp=rfp, form=form, plot=None, preview=None)


@bp.route("/rfps/<id:rfp_id>/plots", methods=["POST"])
@limits.upload_per_client
@limits.upload_per_account
@login_required
def create(rfp_id: int):
    rfp = editable_rfp(rfp_id)
    kind = request.form.get("kind")
    if kind not in ("example", "sketch"):
        abort(400, description="Say whether this is an example upload or a sketch.")
    session, store = get_session(), get_store()
    form = ExampleForm() if kind == "example" else SketchForm()
    if asked_for_preview():
        if kind != "sketch":
            abort(400, description="Only a sketch has a preview; an upload is shown once saved.")
        return sketch_preview(form, rfp=rfp, plot=None)
    if form.validate_on_submit():
        text = dict(
            rfp=rfp, actor=current_user, caption=form.caption.data, alt_text=form.alt_text.data
        )
        done = perform(
            lambda: (
                add_example_plot(session, store, data=form.image.data.read(), **text)
                if kind == "example"
                else add_sketch(session, store, spec=form.to_spec(), **text)
            ),
            form=form,
            refusals=(ImageRejected, SketchError),
            commit=lambda plot: commit_with_files(
                session, store, written=[plot.image_key, plot.thumb_key]
            ),
        )
        if done:
            flash("The plot is saved." if kind == "example" else "Your sketch is saved.", "success")
            return redirect(url_for("rfps.show", rfp_id=rfp.id, _anchor=f"plot-{done.value.id}"))
    return render_template(f"plots/{kind}.html", rfp=rfp, form=form, plot=None, preview=None), 422


@bp.route("/plots/<id:plot_id>/edit", methods=["GET", "POST"])
@limits.upload_per_client
@limits.upload_per_account
@login_required
def edit(plot_id: int):
    plot = managed_plot(plot_id)
    session = get_session()
    is_sketch = plot.kind is PlotKind.SKETCH
    form = SketchForm() if is_sketch else CaptionForm()
    if is_sketch and not form.is_submitted():
        form.fill_from(plot)
    elif not is_sketch and not form.is_submitted():
        form.caption.data, form.alt_text.data = plot.caption, plot.alt_text
    template = "plots/sketch.html" if is_sketch else "plots/caption.html"
    if asked_for_preview():
        if not is_sketch:
            abort(400, description="Only a sketch has a preview.")
        return sketch_preview(form, rfp=plot.rfp, plot=plot)
    if form.validate_on_submit():
        store, old_keys = get_store(), [plot.image_key, plot.thumb_key]
        done = perform(
            lambda: update_plot(
                session,
                store,
                plot=plot,
                actor=current_user,
                caption=form.caption.data,
                alt_text=form.alt_text.data,
                spec=form.to_spec() if is_sketch else None,
            ),
            form=form,
            refusals=(SketchError,),
            commit=lambda released: commit_with_files(
                session,
                store,
                written=[k for k in (plot.image_key, plot.thumb_key) if k not in old_keys],
                released=released,
            ),
        )
        if done:
            flash("The plot is updated.", "success")
            return redirect(url_for("rfps.show", rfp_id=plot.rfp_id, _anchor=f"plot-{plot.id}"))
    status = 422 if form.is_submitted() else 200
    return render_template(template, rfp=plot.rfp, form=form, plot=plot, preview=None), status


@bp.route("/plots/<id:plot_id>/move", methods=["POST"])
@login_required
def move(plot_id: int):
    plot = managed_plot(plot_id)
    offset = request.form.get("offset", type=int)
    if offset not in (-1, 1):
        abort(400, description="A plot moves one place up or down.")
    if perform(lambda: move_plot(get_session(), plot=plot, actor=current_user, offset=offset)):
        flash("The plots are reordered.", "success")
    return redirect(url_for("plots.manage", rfp_id=plot.rfp_id, _anchor=f"plot-{plot.id}"))


@bp.route("/plots/<id:plot_id>/delete", methods=["GET", "POST"])
@login_required
def delete(plot_id: int):
    plot = managed_plot(plot_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        session, store, rfp_id = get_session(), get_store(), plot.rfp_id
        if perform(
            lambda: delete_plot(session, plot=plot, actor=current_user),
            commit=lambda released: commit_with_files(
                session, store, written=[], released=released
            ),
        ):
            flash("The plot is deleted.", "success")
        return redirect(url_for("plots.manage", rfp_id=rfp_id))
    return render_template("plots/delete.html", plot=plot, form=form)


def readable_plot(plot_id: int) -> Plot:
    """A plot whose RFP this person may read: a draft's plots are its author's, its admins'
    and its share link's (``?share=``) alone.

    :raise 404: when there is no such plot, or it belongs to a draft this person may not read.
    """
    plot = get_or_404(Plot, plot_id, NO_PLOT, selectinload(Plot.rfp))
    if not plot.rfp.can_read(current_user, request.args.get("share")):
        abort(404, description=NO_PLOT)
    return plot


def _send(key: str, content_type: str, version: str, *, private: bool = False) -> Response:
    try:
        data = get_store().get(key)
    except FileNotFoundError:
        abort(404, description="This image is missing from the store.")
    response = Response(data, content_type=content_type)
    response.set_etag(key.split(".")[0])
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    if private:
        # A draft's image: for this browser only, and not remembered once the draft is gone.
        response.cache_control.private = True
        response.cache_control.no_store = True
    elif request.args.get("v") == version:
        # Pages link with ?v=<hash>; a changed image gets a new URL, so this copy never goes stale.
        response.cache_control.public = True
        response.cache_control.max_age = YEAR
        response.cache_control.immutable = True
    else:
        response.cache_control.public = True
        response.cache_control.max_age = 300
    return response.make_conditional(request)


@bp.route("/plots/<id:plot_id>/image")
def image(plot_id: int):
    plot = readable_plot(plot_id)
    return _send(plot.image_key, plot.image_type, plot.version, private=plot.rfp.is_draft)


@bp.route("/plots/<id:plot_id>/thumb")
def thumb(plot_id: int):
    plot = readable_plot(plot_id)
    return _send(plot.thumb_key, plot.thumb_type, plot.version, private=plot.rfp.is_draft)
