"""Plots: uploads (good and hostile), sketches, editing, ordering, deleting, serving."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from rfp_portal.db import get_session
from rfp_portal.models import Plot, PlotKind, Role
from tests import images

CAPTION = {"caption": "What the plot shows", "alt_text": "Loss falls as batch size grows."}


def stored_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_FOLDER"])
    files = root.rglob("*") if root.exists() else []
    return sorted(p for p in files if p.is_file() and not p.name.startswith("."))  # not the locks


def plots_in_db(app) -> list[Plot]:
    with app.app_context():
        session = get_session()
        plots = session.scalars(sa.select(Plot).order_by(Plot.position, Plot.id)).all()
        for plot in plots:
            session.expunge(plot)
        return plots


@pytest.fixture
def owned_rfp(web, make):
    owner = make.user("owner")
    rfp_id = make.rfp(owner)
    web.login("owner")
    return rfp_id


def upload(web, rfp_id, data: bytes, filename: str = "plot.png", **fields):
    return web.post(
        f"/rfps/{rfp_id}/plots",
        {"kind": "example", **CAPTION, **fields, "image": (io.BytesIO(data), filename)},
        form_url=f"/rfps/{rfp_id}/plots/new/example",
        content_type="multipart/form-data",
    )


SERIES = "1, 0.9\n10, 0.5\n100, 0.3\n1000, 0.25"


def sketch_data(**changes):
    data = {
        "kind": "sketch",
        **CAPTION,
        "chart": "line",
        "title": "Loss against $\\eta$",
        "x_label": "batch size $B$",
        "y_label": "loss $\\mathcal{L}$",
        "x_log": "y",
        "y_log": "y",
        "hand_drawn": "y",
        "series-0-name": "ResNet",
        "series-0-points": SERIES,
        "save": "Save the sketch",
    }
    data.update(changes)
    return data


def post_sketch(web, rfp_id, **changes):
    return web.post(
        f"/rfps/{rfp_id}/plots", sketch_data(**changes), form_url=f"/rfps/{rfp_id}/plots/new/sketch"
    )


# -- uploads ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "make_bytes", "content_type"),
    [
        ("png", images.png, "image/png"),
        ("jpeg", images.jpeg_rotated, "image/jpeg"),
        ("webp", images.webp, "image/webp"),
    ],
)
@pytest.mark.engine_independent  # image processing
def test_good_images_are_accepted_reencoded_and_thumbnailed(
    web, app, owned_rfp, name, make_bytes, content_type
):
    response = upload(web, owned_rfp, make_bytes(), filename=f"upload.{name}")
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    (plot,) = plots_in_db(app)
    assert plot.kind is PlotKind.EXAMPLE and plot.image_type == content_type == plot.thumb_type
    image = web.get(f"/plots/{plot.id}/image")
    assert image.status_code == 200 and image.content_type == content_type
    with Image.open(io.BytesIO(image.data)) as stored:
        assert not stored.getexif()  # metadata stripped
        assert "Author" not in stored.info
        assert (stored.width, stored.height) == (plot.width, plot.height)
    # the image and its thumbnail (one file when the image is already thumbnail-sized)
    assert {p.name for p in stored_files(app)} == {plot.image_key, plot.thumb_key}


@pytest.mark.engine_independent  # image processing
def test_jpeg_with_exif_orientation_6_is_stored_upright_without_exif(web, app, owned_rfp):
    upload(web, owned_rfp, images.jpeg_rotated(), filename="photo.jpg")
    (plot,) = plots_in_db(app)
    data = web.get(f"/plots/{plot.id}/image").data
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.size == (30, 60)  # turned upright: the 60×30 pixels rotated by 90°
        assert 0x0112 not in stored.getexif() and 0x010F not in stored.getexif()
        red, green, _ = stored.convert("RGB").getpixel((15, 3))
        assert red > 200 and green < 60  # the red band, once on the left, is now at the top


@pytest.mark.engine_independent  # image processing
def test_large_images_get_a_thumbnail_of_at_most_480_pixels(web, app, owned_rfp):
    upload(web, owned_rfp, images.png(2000, 1000))
    (plot,) = plots_in_db(app)
    assert (plot.width, plot.height) == (2000, 1000)
    assert (plot.thumb_width, plot.thumb_height) == (480, 240)
    with Image.open(io.BytesIO(web.get(f"/plots/{plot.id}/thumb").data)) as thumb:
        assert thumb.size == (480, 240)


HOSTILE = [
    ("svg-with-script", lambda: images.SVG_WITH_SCRIPT, "x.svg", "PNG, JPEG or WebP"),
    ("html-named-png", lambda: images.HTML_AS_PNG, "innocent.png", "PNG, JPEG or WebP"),
    ("truncated-png", images.truncated_png, "cut.png", "damaged or incomplete"),
    ("zero-bytes", lambda: b"", "empty.png", "The file is empty"),
    ("bomb-400-megapixels", lambda: images.png_claiming(20_000, 20_000), "bomb.png", "megapixels"),
    ("bomb-30-megapixels", lambda: images.png_claiming(6_000, 5_000), "big.png", "megapixels"),
    ("six-megabytes", images.six_megabytes, "huge.png", "larger than 5 MB"),
    ("tiff", images.tiff, "scan.tiff", "PNG, JPEG or WebP"),
    ("broken-exif", images.jpeg_with_broken_exif, "cam.jpg", "damaged or incomplete"),
    (
        "one-pixel-wide",
        lambda: images.png_claiming(1, 25_000_000),
        "thin.png",
        "times as long as it is wide",
    ),
]


@pytest.mark.parametrize(
    ("name", "make_bytes", "filename", "message"), HOSTILE, ids=[h[0] for h in HOSTILE]
)
@pytest.mark.engine_independent  # image checks
def test_hostile_uploads_get_a_form_error_and_nothing_is_stored(
    web, app, owned_rfp, name, make_bytes, filename, message
):
    response = upload(web, owned_rfp, make_bytes(), filename=filename)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="image-error"' in html and message in html
    assert 'value="What the plot shows"' in html  # the caption is kept
    assert plots_in_db(app) == []
    assert stored_files(app) == []


@pytest.mark.engine_independent  # form validation
def test_caption_and_alt_text_are_required(web, app, owned_rfp):
    response = upload(web, owned_rfp, images.png(), caption="", alt_text="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Add a caption" in html and "Describe the plot for people who cannot see it" in html
    assert plots_in_db(app) == [] and stored_files(app) == []


def test_the_same_image_twice_is_stored_once(web, app, owned_rfp):
    data = images.png(900, 800)
    upload(web, owned_rfp, data)
    upload(web, owned_rfp, data, caption="again")
    assert len(plots_in_db(app)) == 2
    assert len(stored_files(app)) == 2  # one image and one thumbnail, shared


# -- sketches --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["line", "scatter", "bar"])
def test_sketches_of_each_kind_are_drawn_and_their_spec_kept(web, app, owned_rfp, kind):
    changes = {"chart": kind}
    if kind == "bar":
        changes.update(
            {"x_log": "", "series-0-points": 'ResNet, 0.93\nViT, 0.95\n"MLP, small", 0.7'}
        )
    response = post_sketch(web, owned_rfp, **changes)
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    (plot,) = plots_in_db(app)
    assert plot.kind is PlotKind.SKETCH and plot.image_type == "image/png"
    assert plot.spec["kind"] == kind and plot.spec["hand_drawn"] is True
    assert plot.spec["x_label"] == "batch size $B$" and plot.spec["y_log"] is True
    with Image.open(io.BytesIO(web.get(f"/plots/{plot.id}/image").data)) as drawn:
        assert drawn.format == "PNG" and drawn.size == (plot.width, plot.height)
    page = web.get(f"/rfps/{owned_rfp}").get_data(as_text=True)
    assert "Sketch — a hypothesis" in page and f'alt="{CAPTION["alt_text"]}"' in page


def test_a_sketch_from_pasted_csv(web, app, owned_rfp):
    csv_text = (
        "epoch, train loss, validation loss\n1, 2.0, 2.1\n2, 1.5, 1.7\n3, 1.2, 1.6\n4, 1.0,\n"
    )
    response = post_sketch(
        web, owned_rfp, **{"series-0-points": "", "csv": csv_text, "x_log": "", "y_log": ""}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    (plot,) = plots_in_db(app)
    names = [s["name"] for s in plot.spec["series"]]
    assert names == ["train loss", "validation loss"]
    assert plot.spec["series"][1]["y"] == [2.1, 1.7, 1.6]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"x_label": "$\\frac{$"}, "x_label", "does not parse"),
        ({"y_label": "L" * 5_000}, "y_label", "under 200 characters"),
        ({"title": "$" + "{" * 200 + "x" + "}" * 200 + "$"}, "title", "under 200"),
        ({"title": "$" + "{" * 60 + "x" + "}" * 60 + "$"}, "title", "nested more than"),
        ({"title": "$" + "{" * 95 + "x" + "}" * 95 + "$"}, "title", "nested more than"),
        ({"x_label": "$a\\hspace{99999999}b$"}, "x_label", "Keep \\hspace between"),
        (
            {
                "chart": "bar",
                "x_log": "",
                "series-0-points": "\n".join(f"c{i}, 1" for i in range(51)),
            },
            "series-0-points",
            "at most 50 categories",
        ),
        (
            {"series-0-points": "\n".join(f"{i}, {i}" for i in range(1, 10_001))},
            "series-0-points",
            "at most 2,000 points",
        ),
        ({"series-0-points": "1, 2\nthree, 4"}, "series-0-points", "is not a number"),
        ({"series-0-points": "1, 2, 3"}, "series-0-points", "two values"),
        ({"series-0-points": "0, 1\n1, 2"}, "x_log", "above zero"),
        ({"series-0-points": "1, nan"}, "series-0-points", "finite"),
        ({"series-0-points": ""}, "series-0-points", "at least one series"),
        ({"csv": "x, a, b, c, d, e, f\n1, 1, 1, 1, 1, 1, 1"}, "csv", "at most 5 series"),
        ({"csv": "x, a\n1, 2, 3"}, "csv", "has 3 values"),
        ({"chart": "pie"}, "chart", "Not a valid choice"),
    ],
)
@pytest.mark.engine_independent  # sketch parsing
def test_bad_sketches_get_a_form_error_never_a_500(web, app, owned_rfp, changes, field, message):
    response = post_sketch(web, owned_rfp, **changes)
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:500]
    assert f'id="{field}-error"' in html and message in html
    assert plots_in_db(app) == [] and stored_files(app) == []


@pytest.mark.engine_independent  # drawing
def test_preview_draws_without_saving(web, app, owned_rfp):
    data = sketch_data()
    data.pop("save")
    data["preview"] = "Preview"
    response = web.post(
        f"/rfps/{owned_rfp}/plots", data, form_url=f"/rfps/{owned_rfp}/plots/new/sketch"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'src="data:image/png;base64,' in html and "Preview — not saved yet." in html
    assert "batch size $B$" in html  # the form keeps what was typed
    assert plots_in_db(app) == [] and stored_files(app) == []


def test_editing_a_sketch_redraws_it_and_removes_the_old_files(web, app, owned_rfp):
    post_sketch(web, owned_rfp)
    (plot,) = plots_in_db(app)
    form = web.get(f"/plots/{plot.id}/edit").get_data(as_text=True)
    assert "batch size $B$" in form and "1000, 0.25" in form  # the spec is back in the form
    old_files = stored_files(app)
    response = web.post(
        f"/plots/{plot.id}/edit",
        sketch_data(
            x_label="examples seen", chart="bar", x_log="", **{"series-0-points": "a, 1\nb, 2"}
        ),
        form_url=f"/plots/{plot.id}/edit",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    (after,) = plots_in_db(app)
    assert after.spec["x_label"] == "examples seen" and after.spec["kind"] == "bar"
    assert after.image_key != plot.image_key
    assert not set(old_files) & set(stored_files(app))
    assert len(stored_files(app)) == 2


def test_recaption_reorder_and_delete(web, app, owned_rfp):
    for n, color in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        upload(web, owned_rfp, images.png(color=color), caption=f"plot {n}")
    first, second, third = plots_in_db(app)
    response = web.post(
        f"/plots/{second.id}/edit",
        {"caption": "renamed", "alt_text": "new alt"},
        form_url=f"/plots/{second.id}/edit",
    )
    assert response.status_code == 302
    assert (
        web.post(
            f"/plots/{third.id}/move", {"offset": "-1"}, form_url=f"/rfps/{owned_rfp}/plots"
        ).status_code
        == 302
    )
    assert [p.caption for p in plots_in_db(app)] == ["plot 0", "plot 2", "renamed"]
    assert (
        web.post(
            f"/plots/{third.id}/move", {"offset": "-1"}, form_url=f"/rfps/{owned_rfp}/plots"
        ).status_code
        == 302
    )
    assert [p.caption for p in plots_in_db(app)] == ["plot 2", "plot 0", "renamed"]
    assert (
        web.post(
            f"/plots/{first.id}/move", {"offset": "7"}, form_url=f"/rfps/{owned_rfp}/plots"
        ).status_code
        == 400
    )
    page = web.get(f"/rfps/{owned_rfp}").get_data(as_text=True)
    assert page.index("plot 2") < page.index("plot 0") < page.index("renamed")
    assert len(stored_files(app)) == 6
    assert (
        web.post(f"/plots/{first.id}/delete", form_url=f"/plots/{first.id}/delete").status_code
        == 302
    )
    assert [p.caption for p in plots_in_db(app)] == ["plot 2", "renamed"]
    assert len(stored_files(app)) == 4  # its files went with it
    assert web.get(f"/plots/{first.id}/image").status_code == 404


def test_deleting_one_of_two_plots_sharing_an_image_keeps_the_file(web, app, owned_rfp):
    data = images.png(900, 900)
    upload(web, owned_rfp, data)
    upload(web, owned_rfp, data, caption="twin")
    first, second = plots_in_db(app)
    web.post(f"/plots/{first.id}/delete", form_url=f"/plots/{first.id}/delete")
    assert len(stored_files(app)) == 2
    assert web.get(f"/plots/{second.id}/image").status_code == 200


# -- who may do what ---------------------------------------------------------------------------


def plot_write_routes(rfp_id, plot_id):
    return {
        "add": (
            f"/rfps/{rfp_id}/plots",
            {"kind": "example", **CAPTION, "image": (io.BytesIO(images.png()), "x.png")},
        ),
        "edit": (f"/plots/{plot_id}/edit", {"caption": "hijacked", "alt_text": "hijacked"}),
        "move": (f"/plots/{plot_id}/move", {"offset": "1"}),
        "delete": (f"/plots/{plot_id}/delete", {}),
    }


@pytest.fixture
def someone_elses_plot(web, app, make):
    owner = make.user("owner")
    rfp_id = make.rfp(owner)
    web.login("owner")
    upload(web, rfp_id, images.png())
    upload(
        web, rfp_id, images.png(color=(1, 2, 3)), caption="second"
    )  # 640×400: a separate thumbnail
    web.logout()
    first, _ = plots_in_db(app)
    return rfp_id, first.id


def unchanged(app):
    return [(p.caption, p.position) for p in plots_in_db(app)] == [
        ("What the plot shows", 0),
        ("second", 1),
    ]


@pytest.mark.parametrize("route", ["add", "edit", "move", "delete"])
def test_a_visitor_is_sent_to_log_in_and_nothing_changes(web, app, someone_elses_plot, route):
    url, data = plot_write_routes(*someone_elses_plot)[route]
    response = web.post(url, data, content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert unchanged(app) and len(stored_files(app)) == 4


@pytest.mark.parametrize("route", ["add", "edit", "move", "delete"])
def test_a_stranger_gets_403_and_nothing_changes(web, app, make, someone_elses_plot, route):
    make.user("stranger")
    web.login("stranger")
    url, data = plot_write_routes(*someone_elses_plot)[route]
    assert web.post(url, data, content_type="multipart/form-data").status_code == 403
    assert unchanged(app) and len(stored_files(app)) == 4
    for page in (f"/rfps/{someone_elses_plot[0]}/plots", f"/plots/{someone_elses_plot[1]}/edit"):
        assert web.get(page).status_code == 403


@pytest.mark.parametrize("route", ["add", "edit", "move", "delete"])
def test_plot_writes_need_a_csrf_token(web, app, someone_elses_plot, route):
    web.login("owner")
    url, data = plot_write_routes(*someone_elses_plot)[route]
    assert web.client.post(url, data=data, content_type="multipart/form-data").status_code == 400
    assert unchanged(app) and len(stored_files(app)) == 4


@pytest.mark.parametrize("route", ["edit", "move", "delete"])
def test_an_organiser_cannot_change_someone_elses_plots(web, app, make, someone_elses_plot, route):
    make.user("boss", role=Role.ORGANISER)
    web.login("boss")
    url, data = plot_write_routes(*someone_elses_plot)[route]
    assert web.post(url, data).status_code == 403
    assert unchanged(app)


def test_unknown_plots_are_404(web, owned_rfp):
    for url in (
        "/plots/999/image",
        "/plots/999/thumb",
        "/plots/999/edit",
        "/plots/99999999999/image",
    ):
        assert web.get(url).status_code == 404
    assert web.post("/plots/999/delete").status_code == 404
    assert web.post(f"/rfps/{owned_rfp}/plots", {"kind": "poster"}).status_code == 400


# -- serving -----------------------------------------------------------------------------------


@pytest.mark.engine_independent  # headers
def test_images_are_served_with_their_type_nosniff_a_long_cache_and_a_stable_etag(
    web, app, owned_rfp
):
    upload(web, owned_rfp, images.png())
    (plot,) = plots_in_db(app)
    page = web.get(f"/rfps/{owned_rfp}").get_data(as_text=True)
    versioned = f"/plots/{plot.id}/image?v={plot.version}"
    assert versioned in page
    first = web.get(versioned)
    assert first.headers["Content-Type"] == "image/png"
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    assert (
        "max-age=31536000" in first.headers["Cache-Control"]
        and "immutable" in first.headers["Cache-Control"]
    )
    etag = first.headers["ETag"]
    assert web.get(versioned).headers["ETag"] == etag
    assert web.get(versioned, headers={"If-None-Match": etag}).status_code == 304
    unversioned = web.get(f"/plots/{plot.id}/image")
    assert (
        "max-age=300" in unversioned.headers["Cache-Control"]
        and unversioned.headers["ETag"] == etag
    )


def test_listing_shows_each_rfps_first_plot_as_a_thumbnail_with_fixed_queries(
    web, app, make, count_queries
):
    owner = make.user("owner")
    web.login("owner")
    first = make.rfp(owner)
    upload(web, first, images.png(), caption="first one")
    upload(web, first, images.png(color=(9, 9, 9)), caption="second one")
    with count_queries() as one:
        html = web.get("/rfps").get_data(as_text=True)
    plot = plots_in_db(app)[0]
    assert f"/plots/{plot.id}/thumb?v={plot.version}" in html
    assert f"/plots/{plot.id + 1}/thumb" not in html
    for _ in range(4):
        rfp_id = make.rfp(owner)
        upload(web, rfp_id, images.png(64, 64, color=(rfp_id, 0, 0)))
    with count_queries() as five:
        web.get("/rfps")
    assert five.count == one.count


@pytest.mark.engine_independent  # imports
def test_pages_and_images_never_load_pillow_or_matplotlib(app, web, owned_rfp, tmp_path):
    """A fresh process serves an RFP page, the listing and images without importing either."""
    upload(web, owned_rfp, images.png())
    post_sketch(web, owned_rfp)
    plot_ids = [p.id for p in plots_in_db(app)]
    script = f"""
import sys
from rfp_portal import create_app
app = create_app({{"DATABASE_URL": {app.config["DATABASE_URL"]!r}, "SECRET_KEY": "x",
                  "INSTANCE_PATH": {str(tmp_path / "other")!r}, "UPLOAD_FOLDER": {app.config["UPLOAD_FOLDER"]!r}}})
client = app.test_client()
for url in ["/", "/rfps", "/rfps/{owned_rfp}", "/users/owner"] + [f"/plots/{{i}}/{{w}}" for i in {plot_ids} for w in ("image", "thumb")]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("PIL", "matplotlib"))
print("loaded:", loaded)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded: []"


def test_a_failed_commit_leaves_no_files_behind(web, app, owned_rfp, monkeypatch):
    """Files are written before the commit; if it fails, the files nobody refers to go."""
    from sqlalchemy.orm import Session

    def failing_commit(self):
        raise sa.exc.OperationalError("COMMIT", {}, Exception("database went away"))

    monkeypatch.setattr(Session, "commit", failing_commit)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = upload(web, owned_rfp, images.png())
    assert response.status_code == 500
    monkeypatch.undo()
    assert plots_in_db(app) == [] and stored_files(app) == []


@pytest.mark.demo_data
def test_demo_data_has_sketches_and_examples(app, web):
    kinds = {p.kind for p in plots_in_db(app)}
    assert kinds == {PlotKind.SKETCH, PlotKind.EXAMPLE, PlotKind.RESULT}
    html = web.get("/rfps?state=all").get_data(as_text=True)
    assert html.count('class="rfp-thumb"') >= 4
    for plot in plots_in_db(app):
        assert web.get(f"/plots/{plot.id}/thumb").status_code == 200


@pytest.mark.engine_independent  # drawing
@pytest.mark.production_bounds
def test_log_bars_hand_drawn_are_drawn_quickly_and_saved(web, app, owned_rfp):
    """Bars from 0 on a log axis once took minutes and gigabytes; they now start below the data."""
    response = post_sketch(
        web, owned_rfp, chart="bar", x_log="", y_log="y", **{"series-0-points": "a, 1\nb, 1.01"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


@pytest.mark.engine_independent  # image processing
def test_metadata_and_colour_profiles_are_stripped_and_16_bit_grey_kept(web, app, owned_rfp):
    upload(web, owned_rfp, images.png_with_icc_profile(), caption="with a profile")
    upload(web, owned_rfp, images.png_16_bit_grey(), caption="sixteen bits")
    profiled, grey = plots_in_db(app)
    with Image.open(io.BytesIO(web.get(f"/plots/{profiled.id}/image").data)) as stored:
        assert "icc_profile" not in stored.info
    with Image.open(io.BytesIO(web.get(f"/plots/{grey.id}/image").data)) as stored:
        value = stored.convert("L").getpixel((5, 5))
        assert 140 < value < 170  # 40,000 / 256 ≈ 156, not clipped to white


@pytest.mark.production_bounds
def test_work_that_runs_too_long_is_stopped_with_a_message():
    from rfp_portal.rendering.images import ImageRejected, process_upload
    from rfp_portal.rendering.sketch import SketchError, draw_sketch

    with pytest.raises(ImageRejected, match="too large or complex"):
        process_upload(images.png(2000, 2000), time_limit=0.001)
    spec = {"kind": "line", "series": [{"name": "", "x": [1, 2], "y": [1, 2]}]}
    with pytest.raises(SketchError, match="takes too long"):
        draw_sketch(spec, time_limit=0.001)


def test_removing_a_file_waits_for_a_request_about_to_reuse_it(app, make, web, owned_rfp):
    """Request A deletes the last plot using a file while request B uploads the same bytes.

    B's put() holds the file's shard until B commits; A's clean-up takes the shard exclusively,
    so it runs after B's commit, sees B's plot, and keeps the file.
    """
    import threading

    from rfp_portal.models import Rfp, User
    from rfp_portal.services.plots import add_example_plot, collect_unreferenced, delete_plot
    from rfp_portal.storage import get_store

    data = images.png(700, 500)
    upload(web, owned_rfp, data)
    (first,) = plots_in_db(app)
    b_has_put, a_is_collecting = threading.Event(), threading.Event()
    # On SQLite, A cannot even write its deletion while B's insert holds the database's one write
    # lock, so A reaches its clean-up only after B commits, and B waiting for it is in vain.
    wait_for_a = 1 if app.config["DATABASE_URL"].startswith("sqlite") else 10
    outcome = {}

    def request_b():
        with app.app_context():
            session, store = get_session(), get_store()
            rfp = session.get(Rfp, owned_rfp)
            owner = session.get(User, rfp.author_id)
            plot = add_example_plot(
                session, store, rfp=rfp, actor=owner, data=data, caption="again", alt_text="again"
            )
            b_has_put.set()
            a_is_collecting.wait(wait_for_a)
            threading.Event().wait(0.3)  # A is now blocked on the lock B holds
            session.commit()
            store.release()
            outcome["b"] = plot.id

    def request_a():
        with app.app_context():
            session, store = get_session(), get_store()
            b_has_put.wait(10)
            plot = session.get(Plot, first.id)
            released = delete_plot(session, plot=plot, actor=session.get(User, plot.rfp.author_id))
            session.commit()
            a_is_collecting.set()
            outcome["removed"] = collect_unreferenced(session, store, released)

    threads = [threading.Thread(target=request_b), threading.Thread(target=request_a)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcome["removed"] == []
    assert web.get(f"/plots/{outcome['b']}/image").status_code == 200


@pytest.mark.production_bounds
def test_the_processor_time_bound_ignores_waiting_and_stops_spinning():
    """A child that waits is not charged for it; one that computes is stopped by its CPU use."""
    import time as _time

    from rfp_portal.rendering.bounded import WorkTooCostly, run_bounded

    assert run_bounded(_time.sleep, 0.3, seconds=5, cpu_seconds=0.1) is None
    with pytest.raises(WorkTooCostly, match="processor time"):
        run_bounded(_spin, None, seconds=30, cpu_seconds=0.2)


def _spin(_argument):
    while True:
        pass
