"""RFPs through the HTTP surface: submit, read, edit, withdraw, list; bad input; who may do what."""

import re

import pytest
import sqlalchemy as sa

from rfp_portal.db import get_session
from rfp_portal.models import Rfp, RfpState, Role

GOOD = {
    "title": "Does warmup length matter for small transformers?",
    "summary": "Validation loss against warmup steps for three model sizes.",
    "big_picture": "## Why\n\nWarmup is *folklore*. See [the paper](https://arxiv.org/abs/2002.04745).",
    "first_plot": "Loss (y) against warmup steps (x); math: $\\eta_t = \\eta \\cdot t/T$.",
    "tags": "Optimization, transformers,  optimization , warm up",
    "difficulty": "intermediate",
    "compute": "one GPU",
    "claim_cap": "2",
    "no_plot_yet": "y",
}


def submit(web, **changes):
    return web.post("/rfps/new", {**GOOD, **changes}, form_url="/rfps/new")


def rfp_in_db(app, rfp_id):
    with app.app_context():
        rfp = get_session().get(Rfp, rfp_id)
        return {
            c: getattr(rfp, c) for c in ("title", "state", "big_picture_md", "big_picture_html")
        }


@pytest.fixture
def author(web, make):
    user = make.user("author")
    web.login("author")
    return user


def test_submit_renders_markdown_once_and_shows_it(web, app, author):
    response = submit(web)
    assert response.status_code == 302
    rfp_id = int(response.headers["Location"].rsplit("/", 1)[1])
    html = web.get(f"/rfps/{rfp_id}").get_data(as_text=True)
    assert "<h1>Does warmup length matter for small transformers?</h1>" in html
    assert "<h4>Why</h4>" in html  # people's headings sit below the page's own
    assert (
        '<a href="https://arxiv.org/abs/2002.04745" rel="nofollow ugc noopener">the paper</a>'
        in html
    )
    assert "<math" in html and "<msub>" in html
    assert "Updated" not in html  # a new RFP has not been updated
    for tag in ("optimization", "transformers", "warm up"):
        assert f'<a class="tag" href="/rfps?tag={tag.replace(" ", "+")}">{tag}</a>' in html
    assert html.count(">optimization</a>") == 1
    with app.app_context():
        rfp = get_session().get(Rfp, rfp_id)
        assert rfp.author_id == author.id and rfp.state is RfpState.OPEN and rfp.claim_cap == 2
        assert "<em>folklore</em>" in rfp.big_picture_html  # stored, not rendered per view


def test_pages_show_stored_html_without_rendering_again(web, app, make, monkeypatch):
    rfp_id = make.rfp(make.user(), big_picture="**bold**")
    import rfp_portal.rendering.markdown as md

    def refuse(*args, **kwargs):
        raise AssertionError("Markdown rendered on a page view")

    monkeypatch.setattr(md, "render_markdown", refuse)
    monkeypatch.setattr("rfp_portal.services.text.render_markdown", refuse)
    for url in (f"/rfps/{rfp_id}", "/rfps", "/"):
        assert web.get(url).status_code == 200
    assert "<strong>bold</strong>" in web.get(f"/rfps/{rfp_id}").get_data(as_text=True)


def test_listing_shows_newest_first_with_title_summary_tags_author_state(web, make):
    person = make.user("maria")
    first = make.rfp(person, title="Older question", tags=["vision"])
    second = make.rfp(person, title="Newer question", summary="A fresh summary")
    html = web.get("/rfps").get_data(as_text=True)
    assert html.index("Newer question") < html.index("Older question")
    assert "A fresh summary" in html and '<a class="tag" href="/rfps?tag=vision">vision</a>' in html
    assert "Person maria" in html and "Open" in html
    assert f"/rfps/{first}" in html and f"/rfps/{second}" in html


def test_listing_paginates(web, make):
    person = make.user()
    ids = [make.rfp(person, title=f"Question {n}") for n in range(7)]  # 5 per page in tests
    page1 = web.get("/rfps").get_data(as_text=True)
    page2 = web.get("/rfps?page=2").get_data(as_text=True)
    assert "7 RFPs, page 1 of 2" in page1 and 'rel="next"' in page1
    assert "Question 6" in page1 and "Question 1" not in page1
    assert "Question 1" in page2 and "Question 0" in page2 and 'rel="prev"' in page2
    assert len(ids) == 7
    for odd in (
        "?page=0",
        "?page=-3",
        "?page=abc",
        "?page=99999999999999999999",
        "?state=nonsense",
    ):
        assert web.get("/rfps" + odd, follow_redirects=True).status_code == 200


def test_listing_costs_a_fixed_number_of_queries(web, make, count_queries):
    person = make.user()

    def queries_for_listing():
        with count_queries() as q:
            assert web.get("/rfps").status_code == 200
        return q.count

    make.rfp(person, tags=["a"])
    one = queries_for_listing()
    for n in range(4):
        make.rfp(person, tags=[f"t{n}", "shared"])
    assert queries_for_listing() == one


def test_withdrawn_rfps_leave_the_default_listing_but_stay_readable(web, app, make):
    person = make.user("owner")
    rfp_id = make.rfp(person, title="Going away soon")
    web.login("owner")
    assert "Withdraw this RFP?" in web.get(f"/rfps/{rfp_id}/withdraw").get_data(as_text=True)
    response = web.post(f"/rfps/{rfp_id}/withdraw", form_url=f"/rfps/{rfp_id}/withdraw")
    assert response.status_code == 302
    assert rfp_in_db(app, rfp_id)["state"] is RfpState.WITHDRAWN
    assert "Going away soon" not in web.get("/rfps").get_data(as_text=True)
    assert "Going away soon" in web.get("/rfps?state=withdrawn").get_data(as_text=True)
    page = web.get(f"/rfps/{rfp_id}").get_data(as_text=True)
    assert "was withdrawn" in page and "Edit</a>" not in page
    # nobody edits it; withdrawing again only says it is withdrawn
    assert web.get(f"/rfps/{rfp_id}/edit").status_code == 403
    assert web.post(f"/rfps/{rfp_id}/withdraw").status_code == 302
    assert rfp_in_db(app, rfp_id)["state"] is RfpState.WITHDRAWN


def test_author_edits_and_sees_the_change(web, app, make):
    person = make.user("owner")
    rfp_id = make.rfp(person, title="Before")
    web.login("owner")
    form = web.get(f"/rfps/{rfp_id}/edit").get_data(as_text=True)
    assert 'value="Before"' in form and "Big picture" in form
    response = web.post(
        f"/rfps/{rfp_id}/edit", {**GOOD, "title": "After"}, form_url=f"/rfps/{rfp_id}/edit"
    )
    assert response.status_code == 302
    assert "<h1>After</h1>" in web.get(f"/rfps/{rfp_id}").get_data(as_text=True)
    assert "Updated" in web.get(f"/rfps/{rfp_id}").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.ORGANISER, Role.ADMIN])
def test_organisers_withdraw_any_rfp_but_do_not_rewrite_it(web, app, make, role):
    rfp_id = make.rfp(make.user("owner"))
    make.user("boss", role=role)
    web.login("boss")
    response = web.post(
        f"/rfps/{rfp_id}/edit", {**GOOD, "title": "Tidied"}, form_url=f"/rfps/{rfp_id}"
    )
    assert response.status_code == 403
    assert rfp_in_db(app, rfp_id)["title"] != "Tidied"
    assert web.post(f"/rfps/{rfp_id}/withdraw").status_code == 302
    assert rfp_in_db(app, rfp_id)["state"] is RfpState.WITHDRAWN


# -- who may write: every route that writes, for a visitor, a stranger and without CSRF --------


def write_routes(rfp_id):
    return [
        ("/rfps/new", GOOD),
        (f"/rfps/{rfp_id}/edit", {**GOOD, "title": "Hijacked"}),
        (f"/rfps/{rfp_id}/withdraw", {}),
        ("/logout", {}),
    ]


ROUTE_NAMES = ["new", "edit", "withdraw", "logout"]


@pytest.mark.parametrize("index", range(len(ROUTE_NAMES)), ids=ROUTE_NAMES)
def test_a_logged_out_visitor_is_sent_to_log_in_and_nothing_changes(web, app, make, index):
    rfp_id = make.rfp(make.user("owner"), title="Untouched")
    url, data = write_routes(rfp_id)[index]
    response = web.post(url, data)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert rfp_in_db(app, rfp_id)["title"] == "Untouched"
    assert rfp_in_db(app, rfp_id)["state"] is RfpState.OPEN
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(Rfp)) == 1


@pytest.mark.parametrize("url", ["/rfps/{id}/edit", "/rfps/{id}/withdraw"])
def test_a_logged_in_stranger_gets_403_and_nothing_changes(web, app, make, url):
    rfp_id = make.rfp(make.user("owner"), title="Untouched")
    make.user("stranger")
    web.login("stranger")
    target = url.format(id=rfp_id)
    assert web.get(target).status_code == 403
    assert web.post(target, {**GOOD, "title": "Hijacked"}).status_code == 403
    after = rfp_in_db(app, rfp_id)
    assert after["title"] == "Untouched" and after["state"] is RfpState.OPEN


@pytest.mark.parametrize("index", range(len(ROUTE_NAMES)), ids=ROUTE_NAMES)
@pytest.mark.engine_independent  # CSRF, before any query
def test_every_write_is_refused_without_a_csrf_token(web, app, make, index):
    rfp_id = make.rfp(make.user("owner"), title="Untouched")
    web.login("owner")
    url, data = write_routes(rfp_id)[index]
    for token in (None, "forged-token"):
        payload = dict(data) if token is None else {**data, "csrf_token": token}
        response = web.client.post(url, data=payload)
        assert response.status_code == 400
        assert "did not come from this site" in response.get_data(as_text=True)
    assert rfp_in_db(app, rfp_id)["title"] == "Untouched"
    assert rfp_in_db(app, rfp_id)["state"] is RfpState.OPEN
    assert "Log out" in web.get("/").get_data(as_text=True)  # still logged in


# -- bad input: clear messages, the person's text kept, never a 500 ----------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "T" * 10_000}, "title", "at most 140 characters"),
        ({"title": "Nul\x00byte"}, "title", "not allowed"),
        ({"summary": "S" * 281}, "summary", "at most 280"),
        ({"big_picture": "B" * 25_000}, "big_picture", "at most 20,000"),
        ({"big_picture": "B" * 12_000, "first_plot": "F" * 12_000}, "first_plot", "together"),
        ({"first_plot": "has \x00 nul"}, "first_plot", "not allowed"),
        ({"tags": "ok, <script>"}, "tags", "not a valid tag"),
        ({"tags": "x" * 31}, "tags", "at most 30"),
        ({"tags": ",".join(f"t{n}" for n in range(9))}, "tags", "at most 8"),
        ({"difficulty": "impossible"}, "difficulty", "Not a valid choice"),
        ({"compute": "quantum"}, "compute", "Not a valid choice"),
        ({"claim_cap": "0"}, "claim_cap", "1 to 100"),
        ({"claim_cap": "many"}, "claim_cap", "Not a valid integer"),
    ],
)
@pytest.mark.engine_independent  # form validation
def test_bad_input_gives_a_message_beside_the_field_and_keeps_the_rest(
    web, app, author, changes, field, message
):
    response = submit(web, **changes)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in html
    assert message in html
    assert 'role="alert"' in html  # the summary is announced
    if field != "summary":
        assert GOOD["summary"] in html  # what the person typed is still there
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(Rfp)) == 0


@pytest.mark.engine_independent  # form validation
def test_an_empty_form_lists_every_missing_field(web, author):
    response = web.post("/rfps/new", {}, form_url="/rfps/new")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in (
        "Give your RFP a title",
        "Add a one-line summary",
        "Describe the big picture",
        "Describe the first plot",
    ):
        assert message in html


def test_a_failed_edit_keeps_the_saved_rfp(web, app, make):
    rfp_id = make.rfp(make.user("owner"), title="Saved title")
    web.login("owner")
    response = web.post(
        f"/rfps/{rfp_id}/edit",
        {**GOOD, "title": "", "summary": "new text"},
        form_url=f"/rfps/{rfp_id}/edit",
    )
    assert response.status_code == 422
    assert 'value="new text"' in response.get_data(as_text=True)
    assert rfp_in_db(app, rfp_id)["title"] == "Saved title"


@pytest.mark.parametrize(
    "url",
    [
        "/rfps/999",
        "/rfps/0",
        "/rfps/-1",
        "/rfps/abc",
        "/rfps/99999999999999999999",
        "/users/nobody",
        "/users/" + "x" * 500,
    ],
)
def test_unknown_things_are_404(web, url):
    response = web.get(url)
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)


def test_unknown_rfp_writes_are_404_for_members(web, make):
    make.user("ada")
    web.login("ada")
    assert web.post("/rfps/999/edit", GOOD).status_code == 404
    assert web.post("/rfps/99999999999999999999/withdraw").status_code == 404


# -- what people write never runs in someone else's browser -------------------------------------

ATTACKS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](  javascript:alert(1))",
    "<a href='javascript:alert(1)'>x</a>",
    "<img src=x onerror=alert(1)>",
    '<p onclick="alert(1)">hi</p>',
    "<svg onload=alert(1)>",
    "<iframe src='https://evil.example'></iframe>",
    "![x](javascript:alert(1))",
    '[x](https://ok.example "title" onmouseover=alert(1))',
    "<math><mtext><script>alert(1)</script></mtext></math>",
    "$\\text{<script>alert(1)</script>}$",
    "$\\href{javascript:alert(1)}{x}$",
    "$$\\text{<img src=x onerror=alert(1)>}$$",
    "<style>body{display:none}</style>",
    "<form action=https://evil.example><input name=x></form>",
    "```\n</code></pre><script>alert(1)</script>\n```",
    "<div style='background:url(javascript:alert(1))'>x</div>",
    "<a href='data:text/html,<script>alert(1)</script>'>x</a>",
]


def assert_safe(html: str) -> None:
    """Parse the page as a browser would and look for anything that could run script."""
    import html5lib

    document = html5lib.parse(html, namespaceHTMLElements=False)
    for element in document.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        local = tag.rsplit("}", 1)[-1].lower()
        if local == "script" and element.get("src", "").startswith("/static/") and not element.text:
            continue  # the portal's own script file (CSP allows only 'self')
        assert local not in {
            "script",
            "iframe",
            "object",
            "embed",
            "style",
            "form",
            "svg",
            "img",
        } or (local == "form" and element.get("action", "").startswith("/")), (
            f"<{local}> reached the page"
        )
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), f"{name}= reached the page"
            assert name.lower() != "style", "a style attribute reached the page"
            if name.lower() in {"href", "src", "action", "xlink:href"}:
                cleaned = re.sub(r"[\s\x00-\x1f]", "", value).lower()
                assert not cleaned.startswith(("javascript:", "data:", "vbscript:")), (
                    f"{name}={value}"
                )


@pytest.mark.parametrize("attack", ATTACKS)
@pytest.mark.engine_independent  # rendering
def test_markdown_attacks_never_reach_a_page(web, author, attack):
    response = submit(web, big_picture=attack, first_plot=attack, summary="safe summary")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    page = web.get(response.headers["Location"])
    assert_safe(page.get_data(as_text=True))
    assert_safe(web.get("/rfps").get_data(as_text=True))


@pytest.mark.engine_independent  # rendering
def test_titles_and_tags_are_escaped_everywhere(web, author):
    response = submit(
        web, title="<script>alert(1)</script>", summary="<img src=x onerror=alert(1)>"
    )
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for url in (response.headers["Location"], "/rfps", "/", "/users/author"):
        assert_safe(web.get(url).get_data(as_text=True))


@pytest.mark.engine_independent  # rendering
def test_math_renders_as_mathml_and_bad_math_shows_its_source(web, author):
    response = submit(
        web, first_plot="Inline $\\frac{a}{b}$, display $$\\sum_i x_i$$ and broken $\\frac{$."
    )
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert (
        '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"><semantics><mrow><mfrac>'
        in page
    )
    assert '<annotation encoding="application/x-tex">\\frac{a}{b}</annotation>' in page
    assert 'display="block"' in page and "<msub>" in page
    assert '<code class="language-math-error">$\\frac{$</code>' in page


def test_the_write_route_lists_cover_every_post_route(app):
    """A new route that writes must join the lists above (and so the refusal tests)."""
    posted = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and rule.endpoint != "static"
    }
    covered = {"/rfps/new", "/rfps/<id:rfp_id>/edit", "/rfps/<id:rfp_id>/withdraw", "/logout"}
    # proven in test_claims.py (claim_write_routes, claiming) and test_comments.py
    covered |= {
        "/rfps/<id:rfp_id>/claims",
        "/claims/<id:claim_id>/progress",
        "/claims/<id:claim_id>/drop",
        "/claims/<id:claim_id>/deliver",
        "/claims/<id:claim_id>/accept",
        "/rfps/<id:rfp_id>/comments",
        "/comments/<id:comment_id>/edit",
        "/comments/<id:comment_id>/delete",
        "/comments/<id:comment_id>/hide",
        "/notifications/read",
    }
    # proven in test_discovery.py
    covered |= {"/rfps/<id:rfp_id>/want"}
    # proven in test_mail.py and the authorisation matrix
    covered |= {
        "/password/forgot",
        "/password/reset/<token>",
        "/account/confirm",
        "/account/email",
        "/account/notifications",
        "/unsubscribe/<token>",
        "/admin/outbox/<id:message_id>/retry",
        "/admin/webhooks",
        "/admin/webhooks/<id:hook_id>/delete",
        "/rfps/<id:rfp_id>/watch",
        "/tags/<name>/follow",
    }
    # proven in test_drafts.py, test_profiles.py and the authorisation matrix
    covered |= {
        "/rfps/<id:rfp_id>/publish",
        "/rfps/<id:rfp_id>/share",
        "/rfps/<id:rfp_id>/delete",
        "/preview",
        "/account/profile",
    }
    # proven in test_moderation.py
    covered |= {"/users/<username>/role", "/users/<username>/active", "/account/password"}
    # proven in test_login_sessions.py and the authorisation matrix
    covered |= {"/account/sessions/<id:session_id>/end", "/account/sessions/end-others"}
    # proven in test_jams.py
    covered |= {
        "/jams/new",
        "/jams/<int:number>/edit",
        "/rfps/<id:rfp_id>/presentations",
        "/presentations/<id:presentation_id>/delete",
    }
    # proven in test_agenda.py, test_events.py and the authorisation matrix
    covered |= {
        "/jams/<int:number>/slots",
        "/slots/<id:slot_id>/withdraw",
        "/slots/<id:slot_id>/accept",
        "/slots/<id:slot_id>/decline",
        "/slots/<id:slot_id>/move",
        "/slots/<id:slot_id>/time",
        "/slots/<id:slot_id>/materials",
        "/events/new-series",
        "/events/<series>/new",
        "/events/<series>/<key>/edit",
    }
    # proven in test_plots.py (plot_write_routes)
    covered |= {
        "/rfps/<id:rfp_id>/plots",
        "/plots/<id:plot_id>/edit",
        "/plots/<id:plot_id>/move",
        "/plots/<id:plot_id>/delete",
    }
    public_forms = {"/register", "/login"}  # anyone may post these; CSRF is checked below
    assert posted == covered | public_forms


@pytest.mark.parametrize("url", ["/register", "/login"])
@pytest.mark.engine_independent  # CSRF, before any query
def test_public_forms_are_refused_without_a_csrf_token(web, app, url):
    from rfp_portal.models import User

    data = {
        "username": "ada",
        "email": "ada@example.org",
        "display_name": "Ada",
        "password": "quiet harbour lanterns",
        "confirm": "quiet harbour lanterns",
        "login": "ada",
    }
    response = web.client.post(url, data=data)
    assert response.status_code == 400
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(User)) == 0


# -- found in review: inputs that once gave a 500 or misbehaved ---------------------------------


@pytest.mark.engine_independent  # rendering bound
@pytest.mark.production_bounds
def test_markdown_that_would_take_minutes_is_refused_in_seconds(web, app, author):
    # Unclosed links are quadratic in Python-Markdown (a lone "[" no longer is, since 3.11).
    response = submit(web, big_picture="[a](b" * 3_999, first_plot="x")
    assert response.status_code == 422
    assert 'id="big_picture-error"' in response.get_data(as_text=True)
    assert "too intricate" in response.get_data(as_text=True)
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(Rfp)) == 0


@pytest.mark.engine_independent  # rendering bound
@pytest.mark.production_bounds
def test_long_ordinary_markdown_still_renders(web, author):
    text = "A paragraph with a [link](https://example.org) and $x_i^2$.\n\n" * 150
    response = submit(web, big_picture=text)
    assert response.status_code == 302
    html = web.get(response.headers["Location"]).get_data(as_text=True)
    big_picture = html[html.index('id="big-picture"') : html.index('id="first-plot"')]
    assert big_picture.count("<math") == 150


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/login", "login"),
        ("/register", "username"),
        ("/register", "email"),
        ("/rfps/new", "title"),
    ],
)
@pytest.mark.engine_independent  # form parsing
def test_a_file_sent_in_place_of_text_is_not_a_500(web, make, url, field):
    import io

    make.user("ada")
    if url == "/rfps/new":
        web.login("ada")
    data = {**GOOD, **NEW_PERSON_FIELDS, "login": "ada", "password": "quiet harbour lanterns"}
    data[field] = (io.BytesIO(b"not text"), "f.txt")
    response = web.post(url, data, form_url=url, content_type="multipart/form-data")
    assert response.status_code in (302, 422), response.status_code


NEW_PERSON_FIELDS = {
    "email": "someone@example.org",
    "display_name": "Someone",
    "confirm": "quiet harbour lanterns",
}


@pytest.mark.engine_independent  # form validation
def test_a_400_digit_claim_cap_is_a_form_error(web, author):
    response = submit(web, claim_cap="9" * 400)
    assert response.status_code == 422
    assert 'id="claim_cap-error"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "url", ["/users/%00", "/users/a%00b", "/rfps?state=%00", "/rfps?x%00=1", "/rfps/1%00"]
)
def test_a_nul_byte_in_the_address_is_a_400_or_404_on_every_database(web, url):
    assert web.get(url).status_code in (400, 404)


def test_usernames_with_a_trailing_newline_are_refused_and_not_found(web, make):
    make.user("alice")
    response = web.post(
        "/register",
        {
            "username": "alice\n",
            "email": "a2@example.org",
            "display_name": "Fake",
            "password": "quiet harbour lanterns",
            "confirm": "quiet harbour lanterns",
        },
        form_url="/register",
    )
    assert response.status_code == 422
    assert web.get("/users/alice%0A").status_code == 404
    assert web.get("/users/" + "alice" + "x" * 40).status_code == 404


@pytest.mark.parametrize(
    ("markdown", "forbidden"),
    [
        ("$\\text{<b>bold</b>}$", "<b>"),
        ("$\\text{</math><em>x</em>}$", "<em>"),
        ("$`code`$", "klzzwxh"),
    ],
)
@pytest.mark.engine_independent  # rendering
def test_math_cannot_carry_markup_of_its_own(web, author, markdown, forbidden):
    response = submit(web, first_plot=markdown)
    html = web.get(response.headers["Location"]).get_data(as_text=True)
    section = html[html.index('id="first-plot"') :]
    assert forbidden not in section


def test_withdrawing_twice_says_it_is_already_withdrawn(web, app, make):
    rfp_id = make.rfp(make.user("owner"))
    web.login("owner")
    web.post(f"/rfps/{rfp_id}/withdraw")
    response = web.post(f"/rfps/{rfp_id}/withdraw", follow_redirects=True)
    assert response.status_code == 200 and "already withdrawn" in response.get_data(as_text=True)


def test_behind_a_proxy_https_is_seen_as_https(database_url, tmp_path):
    from rfp_portal import create_app

    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "x",
            "INSTANCE_PATH": str(tmp_path),
            "PROXY_COUNT": 1,
        }
    )
    response = app.test_client().get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in response.headers
    plain = app.test_client().get("/")
    assert "Strict-Transport-Security" not in plain.headers


def test_is_author_is_true_only_for_the_person_who_wrote_the_rfp():
    from flask_login import AnonymousUserMixin

    from rfp_portal.models import User

    rfp = Rfp(author_id=1, state=RfpState.OPEN)
    author = User(id=1, active=True, role=Role.MEMBER)
    stranger = User(id=2, active=True, role=Role.MEMBER)
    organiser = User(id=3, active=True, role=Role.ORGANISER)
    assert rfp.is_author(author) is True
    assert rfp.is_author(stranger) is False
    assert rfp.is_author(organiser) is False  # organisers manage an RFP; they did not write it
    assert rfp.is_author(AnonymousUserMixin()) is False
    assert rfp.is_author(None) is False


def test_only_an_organiser_withdrawing_another_s_rfp_is_asked_why(web, make):
    rfp_id = make.rfp(make.user("owner"))
    make.user("boss", role=Role.ORGANISER)
    web.login("owner")
    assert 'name="reason"' not in web.get(f"/rfps/{rfp_id}/withdraw").get_data(as_text=True)
    web.logout()
    web.login("boss")
    assert 'name="reason"' in web.get(f"/rfps/{rfp_id}/withdraw").get_data(as_text=True)
