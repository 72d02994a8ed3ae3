"""Drafts: saved by their author, seen by nobody else until published (bar admins and a share
link), checked before publishing; and the Markdown preview."""

from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
import sqlalchemy as sa

from rfp_portal.db import get_session
from rfp_portal.models import ClaimPolicy, OutboxMessage, Rfp, RfpState, Role, User, rfp_watches
from rfp_portal.rendering.markdown import render_markdown
from rfp_portal.services import DomainError
from rfp_portal.services.claims import claim_refusal
from rfp_portal.services.jams import JamDraft, create_jam, link_to_jam
from rfp_portal.services.notifications import is_watching
from rfp_portal.services.rfps import publish_rfp
from tests.conftest import Web
from tests.images import png

MARK = "Zanzibarish"  # a word only the draft holds, to look for in every response

DRAFT = {
    "title": f"{MARK} curvature of the loss",
    "summary": f"Does {MARK} curvature predict the final loss?",
    "big_picture": f"The **{MARK}** question: why it matters.",
    "first_plot": "Sharpness (x) against final loss (y).",
    "tags": f"optimization, {MARK.lower()}",
    "difficulty": "beginner",
    "compute": "laptop",
    "claim_cap": "",
}


def save_draft(web: Web, **changes) -> int:
    response = web.post(
        "/rfps/new", {**DRAFT, **changes, "save_draft": "Save as draft"}, form_url="/rfps/new"
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def state_of(app, rfp_id: int) -> Rfp:
    with app.app_context():
        rfp = get_session().get(Rfp, rfp_id)
        get_session().expunge(rfp)
        return rfp


def public_responses(web: Web, rfp_id: int) -> dict[str, str]:
    """Everything the portal shows the world that could list an RFP."""
    paths = [
        "/",
        "/rfps",
        "/rfps?state=all",
        "/rfps?sort=updated",
        "/rfps?q=curvature",  # a word of the draft's title (the query itself is echoed)
        "/rfps?tag=optimization",
        "/tags",
        "/rfps.atom",
        "/rfps.atom?state=all",
        "/api/v1/rfps",
        "/api/v1/rfps?state=all",
        "/api/v1/rfps?q=curvature",
        f"/api/v1/rfps/{rfp_id}",
        f"/rfps/{rfp_id}",
        "/users/ada",
        "/jams",
    ]
    return {path: web.get(path).get_data(as_text=True) for path in paths}


@pytest.fixture
def ada(make, web):
    user = make.user("ada")
    web.login("ada")
    return user


def test_a_draft_is_seen_by_its_author_and_nobody_else(app, web, make, ada):
    rfp_id = save_draft(web)
    assert state_of(app, rfp_id).state is RfpState.DRAFT
    page = web.get(f"/rfps/{rfp_id}").get_data(as_text=True)
    assert "Draft: only you can see this" in page and MARK in page
    assert MARK in web.get("/users/ada").get_data(as_text=True)  # "Your drafts"

    # Warm the page cache for visitors, then look as a visitor and as another member.
    visitor = Web(app.test_client())
    public_responses(visitor, rfp_id)
    for who in ("visitor", "member"):
        if who == "member":
            make.user("bea")
            reader = Web(app.test_client())
            reader.login("bea")
        else:
            reader = visitor
        for path, body in public_responses(reader, rfp_id).items():
            assert MARK.lower() not in body.lower(), (who, path)
        assert reader.get(f"/rfps/{rfp_id}").status_code == 404
        assert reader.get(f"/api/v1/rfps/{rfp_id}").status_code == 404

    # Nothing was announced: no digest, no webhook post, no notification.
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_an_admin_can_read_a_draft(app, web, make, ada):
    rfp_id = save_draft(web)
    make.user("root", role=Role.ADMIN)
    admin = Web(app.test_client())
    admin.login("root")
    page = admin.get(f"/rfps/{rfp_id}")
    assert page.status_code == 200 and "you can see it as an admin" in page.get_data(as_text=True)
    assert admin.get(f"/rfps/{rfp_id}/edit").status_code == 403  # nobody writes in ada's name


def test_a_draft_may_be_incomplete_but_publishing_says_everything_missing(app, web, ada):
    rfp_id = save_draft(web, summary="", big_picture="", first_plot="")
    response = web.post(f"/rfps/{rfp_id}/publish", {}, form_url=f"/rfps/{rfp_id}")
    assert response.status_code == 302 and response.headers["Location"].endswith("#publish")
    page = web.get(f"/rfps/{rfp_id}").get_data(as_text=True)
    for missing in (
        "a one-line summary",
        "the big picture",
        "a description of the first plot",
        "a plot (upload an example or draw a sketch)",
    ):
        assert missing in page
    assert state_of(app, rfp_id).state is RfpState.DRAFT


def test_publishing_from_the_form_reports_every_missing_field_at_once(app, web, ada):
    response = web.post(
        "/rfps/new",
        {**DRAFT, "summary": "", "first_plot": "", "publish": "Publish"},
        form_url="/rfps/new",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Add a one-line summary." in page and "Describe the first plot" in page
    assert f'value="{DRAFT["title"]}"' in page  # what was typed is kept
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(Rfp)) == 0


def test_publishing_without_a_plot_needs_the_authors_word(app, web, ada):
    response = web.post("/rfps/new", {**DRAFT, "publish": "Publish"}, form_url="/rfps/new")
    assert response.status_code == 422
    assert "No plot yet" in response.get_data(as_text=True)
    response = web.post(
        "/rfps/new", {**DRAFT, "publish": "Publish", "no_plot_yet": "y"}, form_url="/rfps/new"
    )
    assert response.status_code == 302


def test_publishing_a_draft_with_a_plot_shows_it_everywhere(app, web, make, clock, ada):
    rfp_id = save_draft(web)
    started = state_of(app, rfp_id).created_at
    upload = web.post(
        f"/rfps/{rfp_id}/plots",
        {
            "kind": "example",
            "caption": "What it might look like",
            "alt_text": "A falling curve",
            "image": (io.BytesIO(png()), "plot.png"),
        },
        form_url=f"/rfps/{rfp_id}/plots/new/example",
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302
    with app.app_context():
        plot_id = get_session().get(Rfp, rfp_id).plots[0].id

    visitor = Web(app.test_client())
    public_responses(visitor, rfp_id)  # warm the cache
    assert visitor.get(f"/plots/{plot_id}/image").status_code == 404
    mine = web.get(f"/plots/{plot_id}/image")
    assert mine.status_code == 200 and "no-store" in mine.headers["Cache-Control"]

    clock.advance(days=2)
    response = web.post(f"/rfps/{rfp_id}/publish", {}, form_url=f"/rfps/{rfp_id}")
    assert response.status_code == 302
    rfp = state_of(app, rfp_id)
    assert rfp.state is RfpState.OPEN and rfp.share_token is None
    assert rfp.created_at > started  # the published time is the moment of publishing

    seen = public_responses(visitor, rfp_id)
    for path in ("/", "/rfps", "/rfps?q=curvature", "/rfps.atom", "/api/v1/rfps", "/users/ada"):
        assert MARK in seen[path], path
    assert visitor.get(f"/plots/{plot_id}/image").status_code == 200
    with app.app_context():  # announced: its author now watches it
        assert is_watching(get_session(), user=get_session().get(User, ada.id), rfp_id=rfp_id)


def test_a_share_link_reads_but_never_writes_and_can_be_revoked(app, web, make, ada):
    rfp_id = save_draft(web)
    web.post(f"/rfps/{rfp_id}/share", {"share": "yes"}, form_url=f"/rfps/{rfp_id}")
    page = web.get(f"/rfps/{rfp_id}").get_data(as_text=True)
    link = re.search(r'value="(http://localhost/rfps/\d+/shared/[^"]+)"', page).group(1)
    path = link.removeprefix("http://localhost")

    mentor = Web(app.test_client())
    shared = mentor.get(path)
    assert shared.status_code == 200
    body = shared.get_data(as_text=True)
    assert MARK in body and "shared with you" in body
    assert shared.headers["Cache-Control"] == "private, no-store"
    assert shared.headers["Referrer-Policy"] == "no-referrer"
    assert "/edit" not in body and "csrf_token" not in body  # nothing to change it with
    assert mentor.get(f"/rfps/{rfp_id}").status_code == 404  # the link, not the number
    assert mentor.get(f"/rfps/{rfp_id}/shared/{'x' * 32}").status_code == 404
    make.user("bea")
    mentor.login("bea")
    assert mentor.get(f"/rfps/{rfp_id}/edit").status_code == 404
    assert mentor.post(f"/rfps/{rfp_id}/publish", {}).status_code == 404

    web.post(f"/rfps/{rfp_id}/share", {"share": "no"}, form_url=f"/rfps/{rfp_id}")
    assert mentor.get(path).status_code == 404
    assert state_of(app, rfp_id).share_token is None


def test_only_the_author_publishes_shares_or_deletes_a_draft(app, web, make, ada):
    rfp_id = save_draft(web)
    make.user("bea")
    make.user("root", role=Role.ADMIN)
    for name in ("bea", "root", None):
        other = Web(app.test_client())
        if name:
            other.login(name)
        for path, data in (
            (f"/rfps/{rfp_id}/publish", {"no_plot_yet": "y"}),
            (f"/rfps/{rfp_id}/share", {"share": "yes"}),
            (f"/rfps/{rfp_id}/delete", {}),
            (f"/rfps/{rfp_id}/edit", DRAFT),
        ):
            response = other.post(path, data, form_url="/login")
            if name is None:
                assert response.status_code == 302 and "/login" in response.headers["Location"]
            else:
                assert response.status_code in (403, 404), (name, path)
    rfp = state_of(app, rfp_id)
    assert rfp.state is RfpState.DRAFT and rfp.share_token is None


def test_deleting_a_draft_removes_it_and_its_files(app, web, ada):
    rfp_id = save_draft(web)
    web.post(
        f"/rfps/{rfp_id}/plots",
        {
            "kind": "example",
            "caption": "c",
            "alt_text": "a",
            "image": (io.BytesIO(png(color=(1, 2, 3))), "p.png"),
        },
        form_url=f"/rfps/{rfp_id}/plots/new/example",
        content_type="multipart/form-data",
    )
    response = web.post(f"/rfps/{rfp_id}/delete", {}, form_url=f"/rfps/{rfp_id}/delete")
    assert response.status_code == 302
    with app.app_context():
        assert get_session().get(Rfp, rfp_id) is None
    assert web.get(f"/rfps/{rfp_id}").status_code == 404


def test_a_published_rfp_cannot_be_deleted_or_lose_its_text(app, web, make, ada):
    rfp_id = make.rfp(ada)
    assert web.post(f"/rfps/{rfp_id}/delete", {}, form_url="/").status_code == 403
    response = web.post(
        f"/rfps/{rfp_id}/edit",
        {**DRAFT, "big_picture": "", "save_draft": "y"},
        form_url=f"/rfps/{rfp_id}/edit",
    )
    assert response.status_code == 422
    assert state_of(app, rfp_id).state is RfpState.OPEN


def test_a_draft_takes_no_claims_comments_wants_or_jam_links(app, web, make, clock, ada):
    rfp_id = save_draft(web)
    host = make.user("host", role=Role.ORGANISER)
    with app.app_context():
        session = get_session()
        jam = create_jam(
            session,
            organiser=session.get(User, host.id),
            draft=JamDraft(
                number=9,
                title="Research Jam",
                local_start=datetime(2030, 6, 1, 16, 0),
                timezone="UTC",
                duration_minutes=90,
                join_url=None,
                description="",
            ),
            now=clock.now,
        )
        rfp, author = session.get(Rfp, rfp_id), session.get(User, ada.id)
        with pytest.raises(DomainError, match="Publish this draft"):
            link_to_jam(
                session,
                rfp=rfp,
                jam=jam,
                person=author,
                slides_url=None,
                recording_url=None,
                now=clock.now,
            )
        assert not rfp.accepts_comments
        assert not rfp.can_be_wanted_by(session.get(User, host.id))
        assert claim_refusal(
            session, rfp, session.get(User, host.id), now=clock.now, policy=app_policy(app)
        )


def app_policy(app) -> ClaimPolicy:
    return ClaimPolicy.from_config(app.config)


# -- preview ---------------------------------------------------------------------------------


def test_the_preview_is_the_html_a_reader_will_see(app, web, ada):
    text = "Hello *world*, $x^2$ <script>alert(1)</script>"
    response = web.post("/preview", {"field": "comment", "text": text}, form_url="/rfps/new")
    assert response.status_code == 200
    with app.app_context():
        assert response.get_data(as_text=True) == render_markdown(text)
    assert "<script" not in response.get_data(as_text=True)


def test_the_preview_keeps_the_bounds_of_its_box(app, web, ada):
    response = web.post(
        "/preview", {"field": "comment", "text": "x" * 10_001}, form_url="/rfps/new"
    )
    assert response.status_code == 413 and "at most 10,000" in response.get_data(as_text=True)
    assert web.post("/preview", {"field": "nope", "text": "x"}).status_code == 400
    assert web.post("/preview", {"field": "comment", "text": "x"}, csrf=False).status_code == 400
    assert Web(app.test_client()).post("/preview", {"field": "comment"}).status_code in (400, 401)


def test_the_rfp_form_previews_without_javascript_and_keeps_every_field(app, web, ada):
    response = web.post("/rfps/new", {**DRAFT, "preview": "Preview"}, form_url="/rfps/new")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"The <strong>{MARK}</strong> question" in page  # rendered
    assert f"The **{MARK}** question" in page  # and the box keeps the Markdown
    assert f'value="{DRAFT["summary"]}"' in page
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(Rfp)) == 0


@pytest.mark.parametrize(
    ("path", "field", "template_marker"),
    [
        ("/rfps/{rfp}/comments", "body", "Post the comment"),
        ("/rfps/{rfp}/claims", "note", "working on this"),
        ("/account/profile", "bio", "profile"),
    ],
)
def test_markdown_boxes_preview_without_javascript_and_save_nothing(
    app, web, make, path, field, template_marker
):
    author = make.user("author")
    rfp_id = make.rfp(author)
    make.user("kim")
    web.login("kim")
    url = path.format(rfp=rfp_id)
    text = "I would **love** to try $x^2$ <script>alert(1)</script>"
    before = _rows(app)
    response = web.post(
        url, {field: text, "preview": "1", "display_name": "Kim"}, form_url=f"/rfps/{rfp_id}"
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "I would <strong>love</strong> to try" in page  # the preview, rendered
    assert "I would **love** to try" in page  # and the box, as typed
    assert "<script>alert(1)" not in page
    assert template_marker in page
    assert _rows(app) == before  # nothing saved


def test_progress_and_delivery_write_ups_preview_too(app, web, make, clock):
    author = make.user("author")
    make.user("kim")
    rfp_id = make.rfp(author)
    web.login("kim")
    web.post(f"/rfps/{rfp_id}/claims", {"note": ""}, form_url=f"/rfps/{rfp_id}")
    with app.app_context():
        claim_id = get_session().get(Rfp, rfp_id).claims[0].id
    before = _rows(app)
    progress = web.post(
        f"/claims/{claim_id}/progress",
        {f"claim-{claim_id}-body": "Half *done*", "preview": "1"},
        form_url=f"/rfps/{rfp_id}",
    )
    assert progress.status_code == 200 and "Half <em>done</em>" in progress.get_data(as_text=True)
    deliver = web.post(
        f"/claims/{claim_id}/deliver",
        {"write_up": "It **worked**", "preview": "1"},
        form_url=f"/claims/{claim_id}/deliver",
    )
    page = deliver.get_data(as_text=True)
    assert deliver.status_code == 200 and "It <strong>worked</strong>" in page
    assert "Choose an image" not in page  # what the preview does not need is not asked yet
    assert _rows(app) == before


def _rows(app) -> dict[str, int]:
    from rfp_portal.models import Claim, Comment, ProgressUpdate

    with app.app_context():
        session = get_session()
        return {
            model.__name__: session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Comment, Claim, ProgressUpdate, User)
        } | {"bios": session.scalar(sa.select(sa.func.count()).where(User.bio_md != ""))}


def test_a_draft_published_twice_at_once_is_announced_once(app, web, make, clock, ada):
    """Two tabs publish the same draft: the second finds nothing left to publish."""
    rfp_id = save_draft(web)
    with app.app_context():
        sessions = [app.extensions["rfp_db"]["sessionmaker"]() for _ in range(2)]
        drafts = [s.get(Rfp, rfp_id) for s in sessions]  # both read it as a draft
        authors = [s.get(User, ada.id) for s in sessions]
        publish_rfp(sessions[0], rfp=drafts[0], actor=authors[0], no_plot_yet=True, now=clock.now)
        sessions[0].commit()
        assert drafts[1].state is RfpState.DRAFT  # stale, as the second tab is
        with pytest.raises(DomainError, match="already published"):
            publish_rfp(
                sessions[1], rfp=drafts[1], actor=authors[1], no_plot_yet=True, now=clock.now
            )
        sessions[1].rollback()
        watches = sessions[1].scalar(
            sa.select(sa.func.count())
            .select_from(rfp_watches)
            .where(rfp_watches.c.rfp_id == rfp_id)
        )
        assert watches == 1
        for session in sessions:
            session.close()


def test_odd_rfp_forms_get_a_message_never_a_500(app, web, ada):
    response = web.post(
        "/rfps/new",
        {"title": "T", "first_plot": "x" * 20_001, "publish": "Publish RFP"},
        form_url="/rfps/new",
    )
    assert response.status_code == 422
    assert "at most 20,000 characters together" in response.get_data(as_text=True)


def test_a_tag_only_a_draft_carries_cannot_be_followed_or_probed(app, web, make, ada):
    save_draft(web, tags="secretproject")
    make.user("bea")
    other = Web(app.test_client())
    other.login("bea")
    assert other.post("/tags/secretproject/follow", {}, form_url="/").status_code == 404
    assert other.post("/tags/optimization/follow", {}, form_url="/").status_code == 404
