"""Forms that show what went wrong, and a completed RFP that reads its results first.

A form that fails on an RFP's page comes back (422) at its own address fragment, with the page's
title starting "Error:" and an error summary that can take focus; a file that was fine but sent
with another field that was not is named as dropped; one submit reports all its problems.
"""

import io
import re

import pytest
import sqlalchemy as sa

from rfp_portal.db import get_session
from rfp_portal.models import Jam, Plot, PlotKind, Role
from tests import images
from tests.conftest import Web
from tests.test_claims import claim, deliver, the_claim
from tests.test_jams import schedule
from tests.test_plots import post_sketch, upload

DROPPED = "Choose the file again: it was not kept because another field needs fixing."


def other_client(app) -> Web:
    return Web(app.test_client())


def title_of(html: str) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()


def form_with_id(html: str, form_id: str) -> str:
    """The opening tag and body of the form with ``id="form_id"``."""
    match = re.search(rf'<form [^>]*id="{re.escape(form_id)}"[^>]*>.*?</form>', html, re.S)
    assert match, f"no form with id {form_id}"
    return match.group(0)


def assert_comes_back_to(response, form_id: str, action_path: str) -> str:
    """The failed form is shown again (422) where it posts back to itself, with a focusable
    summary, and the page's title says there is an error."""
    html = response.get_data(as_text=True)
    assert response.status_code == 422, html[:500]
    assert title_of(html).startswith("Error: ")
    form = form_with_id(html, form_id)
    assert f'action="{action_path}#{form_id}"' in form
    summary = re.search(r'<div class="error-summary"[^>]*>', form)
    assert summary and 'tabindex="-1"' in summary.group(0)
    assert html.count('class="error-summary"') == 1
    return html


@pytest.fixture
def rfp_id(make, clock):
    return make.rfp(make.user("author"))


@pytest.mark.engine_independent  # form validation and templates
def test_a_failed_comment_comes_back_to_the_comment_form(web, make, rfp_id):
    make.user("ada")
    web.login("ada")
    page = web.get(f"/rfps/{rfp_id}").get_data(as_text=True)
    assert not title_of(page).startswith("Error")
    assert f'action="/rfps/{rfp_id}/comments#comment-form"' in form_with_id(page, "comment-form")
    response = web.post(f"/rfps/{rfp_id}/comments", {"body": ""}, form_url=f"/rfps/{rfp_id}")
    html = assert_comes_back_to(response, "comment-form", f"/rfps/{rfp_id}/comments")
    assert "Write something first." in html


@pytest.mark.engine_independent
def test_a_failed_claim_comes_back_to_the_claim_form(web, make, rfp_id):
    make.user("ada")
    web.login("ada")
    response = claim(web, rfp_id, note="x" * 10_001)
    html = assert_comes_back_to(response, "claim-form", f"/rfps/{rfp_id}/claims")
    assert 'id="note-error"' in html


@pytest.mark.engine_independent
def test_a_failed_progress_update_comes_back_to_its_form(web, app, make, rfp_id):
    make.user("ada")
    web.login("ada")
    claim(web, rfp_id)
    claim_id = the_claim(app).id
    response = web.post(
        f"/claims/{claim_id}/progress", {f"claim-{claim_id}-body": ""}, form_url=f"/rfps/{rfp_id}"
    )
    html = assert_comes_back_to(response, f"progress-{claim_id}", f"/claims/{claim_id}/progress")
    assert "Write a short update" in html


@pytest.mark.engine_independent
def test_a_failed_jam_link_comes_back_to_the_jam_form(app, web, make, rfp_id):
    make.user("host", role=Role.ORGANISER)
    web.login("host")
    schedule(web)
    with app.app_context():
        jam_id = get_session().scalar(sa.select(Jam.id))
    response = web.post(
        f"/rfps/{rfp_id}/presentations",
        {"jam": str(jam_id), "slides_url": "javascript:alert(1)", "recording_url": "ftp://x"},
        form_url=f"/rfps/{rfp_id}",
    )
    html = assert_comes_back_to(response, "jam-form", f"/rfps/{rfp_id}/presentations")
    # both bad links in one submit
    assert 'id="slides_url-error"' in html and 'id="recording_url-error"' in html


@pytest.mark.engine_independent
def test_the_other_forms_on_the_page_post_to_their_own_place(web, app, make, rfp_id):
    make.user("ada")
    web.login("ada")
    html = web.get(f"/rfps/{rfp_id}").get_data(as_text=True)
    assert f'action="/rfps/{rfp_id}/want#want"' in html and 'id="want"' in html
    assert f'action="/rfps/{rfp_id}/watch#watch"' in html and 'id="watch"' in html
    assert f'action="/rfps/{rfp_id}/claims#claim-form"' in html


@pytest.mark.engine_independent
def test_every_page_with_a_failed_form_has_an_error_title_and_a_focusable_summary(web, make):
    response = web.post("/login", {"login": "nobody", "password": "wrong"})
    html = response.get_data(as_text=True)
    assert title_of(html).startswith("Error: ")
    assert re.search(r'<div class="error-summary"[^>]*tabindex="-1"', html)
    assert 'src="/static/error-focus.js"' in html
    assert not title_of(web.get("/login").get_data(as_text=True)).startswith("Error")


# -- a chosen file that had to be dropped ----------------------------------------------------


@pytest.fixture
def working(web, make, rfp_id):
    make.user("ada")
    web.login("ada")
    claim(web, rfp_id)
    return rfp_id


@pytest.mark.engine_independent
def test_a_delivery_with_a_bad_link_says_the_plot_must_be_chosen_again(web, app, working):
    claim_id = the_claim(app).id
    response = deliver(web, claim_id, result_url="javascript:alert(1)", write_up="")
    html = assert_comes_back_to(response, "deliver-form", f"/claims/{claim_id}/deliver")
    # every problem of the submit at once, and the file that was fine is named as dropped
    assert 'id="result_url-error"' in html and 'id="write_up-error"' in html
    assert DROPPED in html and 'id="image-dropped"' in html
    image_input = re.search(r'<input [^>]*id="image"[^>]*>', html).group(0)
    assert "image-dropped" in image_input  # tied to the input with aria-describedby


@pytest.mark.engine_independent
def test_a_rejected_plot_is_not_called_dropped(web, app, working):
    claim_id = the_claim(app).id
    response = deliver(web, claim_id, image=lambda: (io.BytesIO(images.SVG_WITH_SCRIPT), "x.png"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="image-error"' in html
    assert DROPPED not in html  # the file itself is what needs fixing, and its error says so


@pytest.mark.engine_independent
def test_a_delivery_without_a_file_names_nothing_dropped(web, app, working):
    claim_id = the_claim(app).id
    response = web.post(
        f"/claims/{claim_id}/deliver",
        {"result_url": "https://example.org", "write_up": "", "caption": "c", "alt_text": "a"},
        form_url=f"/claims/{claim_id}/deliver",
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and DROPPED not in html


@pytest.mark.engine_independent
def test_an_example_upload_with_no_caption_says_the_image_must_be_chosen_again(web, make):
    owner = make.user("owner")
    rfp_id = make.rfp(owner)
    web.login("owner")
    response = upload(web, rfp_id, images.png(), caption="", alt_text="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and title_of(html).startswith("Error: ")
    assert 'id="caption-error"' in html and 'id="alt_text-error"' in html
    assert DROPPED in html and 'id="image-dropped"' in html


@pytest.mark.engine_independent  # sketch parsing
def test_a_sketch_reports_every_problem_of_one_submit(web, make):
    owner = make.user("owner")
    rfp_id = make.rfp(owner)
    web.login("owner")
    response = post_sketch(
        web,
        rfp_id,
        **{
            "x_label": "$\\frac{$",
            "title": "$" + "{" * 60 + "x" + "}" * 60 + "$",
            "series-0-points": "1, 2\nthree, 4",
            "series-1-points": "1, 2, 3",
            "caption": "",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and title_of(html).startswith("Error: ")
    for field in ("x_label", "title", "series-0-points", "series-1-points", "caption"):
        assert f'id="{field}-error"' in html, field


# -- a completed RFP reads its results first -----------------------------------------------------


def add_example(client: Web, rfp_id: int, caption: str) -> None:
    response = client.post(
        f"/rfps/{rfp_id}/plots",
        {
            "kind": "example",
            "caption": caption,
            "alt_text": f"alt of {caption}",
            "image": (io.BytesIO(images.png()), "r.png"),
        },
        form_url=f"/rfps/{rfp_id}/plots/new/example",
        content_type="multipart/form-data",
    )
    assert response.status_code == 302


@pytest.fixture
def completed(app, web, working):
    rfp_id = working
    author = other_client(app)
    author.login("author")
    add_example(author, rfp_id, "first requested")
    add_example(author, rfp_id, "second requested")
    claim_id = the_claim(app).id
    assert deliver(web, claim_id).status_code == 302
    assert author.post(f"/claims/{claim_id}/accept", form_url=f"/rfps/{rfp_id}").status_code == 302
    return rfp_id, author


def requested_caption(html: str) -> str:
    side = html[html.index('<p class="side-label">Requested</p>') :]
    return re.search(r"<figcaption>.*?</span>\s*(.*?)\s*</figcaption>", side, re.S).group(1)


def test_a_completed_rfp_shows_its_results_right_under_the_title(app, web, completed):
    rfp_id, author = completed
    for reader in (web, author, other_client(app)):  # the claimant, the author, a visitor
        html = reader.get(f"/rfps/{rfp_id}").get_data(as_text=True)
        header_end = html.index("</header>", html.index('class="rfp-head"'))
        after_header = html[header_end + len("</header>") :].lstrip()
        assert after_header.startswith('<section aria-labelledby="results"')
        assert '<a href="#results">See the results</a>' in html[:header_end]
        assert html.index('id="results"') < html.index('id="big-picture"')
        assert ">Write-up</h4>" in html and "Open the result" in html
        # the tools follow the discussion
        assert html.index('id="want"') > html.index('id="discussion"')
    html = author.get(f"/rfps/{rfp_id}").get_data(as_text=True)
    assert html.index("Look after this RFP") > html.index('id="discussion"')
    assert html.index(f'href="/rfps/{rfp_id}/edit"') > html.index('id="discussion"')


def test_the_requested_side_can_show_any_of_the_rfps_plots(app, web, completed):
    rfp_id, _ = completed
    visitor = other_client(app)
    html = visitor.get(f"/rfps/{rfp_id}").get_data(as_text=True)
    assert requested_caption(html) == "first requested"
    with app.app_context():
        first, second = get_session().scalars(
            sa.select(Plot.id)
            .where(Plot.rfp_id == rfp_id, Plot.kind != PlotKind.RESULT)
            .order_by(Plot.position, Plot.id)
        )
    chooser = html[html.index('class="requested-chooser"') :]
    assert f'href="/rfps/{rfp_id}?requested={second}#results"' in chooser
    assert re.search(
        rf'href="/rfps/{rfp_id}\?requested={first}#results" aria-current="true"', chooser
    )
    html = visitor.get(f"/rfps/{rfp_id}?requested={second}").get_data(as_text=True)
    assert requested_caption(html) == "second requested"
    assert re.search(rf'requested={second}#results" aria-current="true"', html)
    # a plot that is not this RFP's, or no number at all, falls back to the first
    for query in ("requested=999999", "requested=abc", "requested="):
        html = visitor.get(f"/rfps/{rfp_id}?{query}").get_data(as_text=True)
        assert requested_caption(html) == "first requested"


def test_an_open_rfp_keeps_its_order(web, app, working):
    rfp_id = working
    assert deliver(web, the_claim(app).id).status_code == 302
    html = web.get(f"/rfps/{rfp_id}").get_data(as_text=True)
    assert html.index('id="big-picture"') < html.index('id="results"') < html.index('id="claims"')
    assert html.index('id="want"') < html.index('id="big-picture"')
    assert "See the results" not in html


@pytest.mark.engine_independent
def test_registering_a_taken_username_and_a_taken_email_reports_both(web, make):
    make.user("taken")
    response = web.post(
        "/register",
        {
            "username": "Taken",
            "email": "taken@example.org",
            "display_name": "Someone",
            "password": "quiet harbour lanterns",
            "confirm": "quiet harbour lanterns",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and title_of(html).startswith("Error: ")
    assert "That username is taken" in html and "An account with that e-mail already exists" in html
