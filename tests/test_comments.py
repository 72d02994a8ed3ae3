"""Comments, moderation, and the cost of an RFP page with a long thread."""

import pytest
import sqlalchemy as sa

from rfp_portal.db import get_session
from rfp_portal.models import Comment, Notification, Role, User
from rfp_portal.models.notification import DEFAULT_DELIVERY
from tests.conftest import Web
from tests.test_claims import claim


def other_client(app) -> Web:
    return Web(app.test_client())


def comment(web, rfp_id, body):
    return web.post(f"/rfps/{rfp_id}/comments", {"body": body}, form_url=f"/rfps/{rfp_id}")


def comments_in_db(app):
    with app.app_context():
        session = get_session()
        rows = session.scalars(sa.select(Comment).order_by(Comment.id)).all()
        for row in rows:
            session.expunge(row)
        return rows


@pytest.fixture
def thread(web, make, clock):
    rfp_id = make.rfp(make.user("author"))
    make.user("ada")
    web.login("ada")
    response = comment(web, rfp_id, "Which **optimizer**? $\\eta$ matters.")
    assert response.status_code == 302
    return rfp_id


def test_a_comment_is_rendered_sanitised_anchored_and_tells_the_author(web, app, thread):
    (c,) = comments_in_db(app)
    html = web.get(f"/rfps/{thread}").get_data(as_text=True)
    assert f'id="comment-{c.id}"' in html and f'href="#comment-{c.id}"' in html
    assert "<strong>optimizer</strong>" in html and "<math" in html
    author = other_client(app)
    author.login("author")
    assert "commented on" in author.get("/notifications").get_data(as_text=True)


def test_claimants_hear_of_comments_but_nobody_hears_of_their_own(web, app, make, thread):
    make.user("jun")
    jun = other_client(app)
    jun.login("jun")
    claim(jun, thread)
    author = other_client(app)
    author.login("author")
    comment(author, thread, "Try Adam first.")
    with app.app_context():
        session = get_session()
        rows = session.execute(
            sa.select(User.username, Notification.kind).join(
                User, User.id == Notification.recipient_id
            )
        ).all()
    received = sorted((name, kind.value) for name, kind in rows)
    # ada wrote the thread's first comment: the author's is a reply after it
    assert received == [
        ("ada", "replied"),
        ("author", "claimed"),
        ("author", "commented"),
        ("jun", "commented"),
    ]


def test_the_author_edits_and_the_thread_says_edited(web, app, thread):
    (c,) = comments_in_db(app)
    form = web.get(f"/comments/{c.id}/edit").get_data(as_text=True)
    assert "Which **optimizer**?" in form
    response = web.post(
        f"/comments/{c.id}/edit", {"body": "Which *optimizer*?"}, form_url=f"/comments/{c.id}/edit"
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(f"#comment-{c.id}")
    html = web.get(f"/rfps/{thread}").get_data(as_text=True)
    assert "<em>optimizer</em>" in html and "(edited)" in html


def test_the_author_deletes_and_the_thread_keeps_the_place(web, app, thread):
    (c,) = comments_in_db(app)
    assert (
        web.post(f"/comments/{c.id}/delete", form_url=f"/comments/{c.id}/delete").status_code == 302
    )
    html = web.get(f"/rfps/{thread}").get_data(as_text=True)
    assert (
        f'id="comment-{c.id}"' in html
        and "deleted by its author" in html
        and "optimizer" not in html
    )
    (c,) = comments_in_db(app)
    assert c.body_md == "" and c.deleted_at is not None


@pytest.mark.parametrize("role", [Role.ORGANISER, Role.ADMIN])
def test_organisers_hide_and_show_a_comment(web, app, make, thread, role):
    (c,) = comments_in_db(app)
    make.user("mod", role=role)
    mod = other_client(app)
    mod.login("mod")
    assert (
        mod.post(f"/comments/{c.id}/hide", {"hidden": "1"}, form_url=f"/rfps/{thread}").status_code
        == 302
    )
    html = web.get(f"/rfps/{thread}").get_data(as_text=True)
    assert "hidden by a moderator" in html and "optimizer" not in html
    (c,) = comments_in_db(app)
    assert (
        c.hidden_at is not None and c.hidden_by_id is not None and c.body_md
    )  # kept for the record
    assert web.get(f"/comments/{c.id}/edit").status_code == 403  # its author cannot edit it back
    assert (
        mod.post(f"/comments/{c.id}/hide", {"hidden": "0"}, form_url=f"/rfps/{thread}").status_code
        == 302
    )
    assert "optimizer" in web.get(f"/rfps/{thread}").get_data(as_text=True)


def comment_write_routes(comment_id):
    return {
        "edit": (f"/comments/{comment_id}/edit", {"body": "hijacked"}),
        "delete": (f"/comments/{comment_id}/delete", {}),
        "hide": (f"/comments/{comment_id}/hide", {"hidden": "1"}),
    }


@pytest.mark.parametrize("route", ["edit", "delete", "hide"])
def test_a_stranger_cannot_edit_delete_or_hide_someone_elses_comment(app, make, thread, route):
    (c,) = comments_in_db(app)
    make.user("stranger")
    stranger = other_client(app)
    stranger.login("stranger")
    url, data = comment_write_routes(c.id)[route]
    assert stranger.post(url, data).status_code == 403
    (after,) = comments_in_db(app)
    assert (after.body_md, after.deleted_at, after.hidden_at) == (c.body_md, None, None)


@pytest.mark.parametrize("route", ["edit", "delete", "hide"])
def test_a_visitor_is_sent_to_log_in(app, thread, route):
    (c,) = comments_in_db(app)
    url, data = comment_write_routes(c.id)[route]
    response = other_client(app).post(url, data)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert other_client(app).post(f"/rfps/{thread}/comments", {"body": "hi"}).status_code == 302
    assert len(comments_in_db(app)) == 1


@pytest.mark.parametrize("route", ["edit", "delete", "hide"])
def test_comment_writes_need_csrf(web, app, thread, route):
    (c,) = comments_in_db(app)
    url, data = comment_write_routes(c.id)[route]
    assert web.client.post(url, data=data).status_code == 400
    assert web.client.post(f"/rfps/{thread}/comments", data={"body": "x"}).status_code == 400
    assert len(comments_in_db(app)) == 1


@pytest.mark.engine_independent  # form validation
def test_bad_comments_get_a_message_and_keep_the_text(web, app, thread):
    response = comment(web, thread, "x" * 10_001)
    assert response.status_code == 422 and "under 10,000 characters" in response.get_data(
        as_text=True
    )
    response = comment(web, thread, "")
    assert response.status_code == 422 and "Write something first" in response.get_data(
        as_text=True
    )
    response = comment(web, thread, "<script>alert(1)</script> nul\x00")
    assert response.status_code == 422 and "not allowed" in response.get_data(as_text=True)
    assert len(comments_in_db(app)) == 1


def test_a_comment_sent_after_the_rfp_was_withdrawn_says_why_and_gives_the_text_back(
    web, app, make, thread
):
    """The member opened the page while comments were open; the author withdrew the RFP before
    they pressed "Post": the page no longer has a comment form, so the refusal and the text
    must show without one."""
    token = web.session_csrf_token(f"/rfps/{thread}")
    author = Web(app.test_client())
    author.login("author")
    withdrawn = author.post(
        f"/rfps/{thread}/withdraw", {"reason": ""}, form_url=f"/rfps/{thread}/withdraw"
    )
    assert withdrawn.status_code == 302
    response = web.client.post(
        f"/rfps/{thread}/comments",
        data={"csrf_token": token, "body": "My long thoughts on <the> *plot*"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Your comment was not posted" in page
    assert "This RFP was withdrawn; it takes no new comments." in page
    assert "My long thoughts on &lt;the&gt; *plot*" in page
    assert len(comments_in_db(app)) == 1


@pytest.mark.engine_independent  # rendering
def test_comment_attacks_never_reach_the_page(web, app, thread):
    from tests.test_rfps import ATTACKS, assert_safe

    for attack in ATTACKS:
        comment(web, thread, attack)
    assert_safe(web.get(f"/rfps/{thread}").get_data(as_text=True))


def test_unknown_comments_are_404(web, thread):
    assert web.get("/comments/999/edit").status_code == 404
    assert web.post("/comments/999/hide", {"hidden": "1"}).status_code == 404


def test_an_rfp_page_costs_the_same_queries_with_50_comments_and_10_claims(
    web, app, make, clock, count_queries
):
    author = make.user("author")
    rfp_id = make.rfp(author)
    make.user("reader")
    web.login("reader")

    def cost():
        with count_queries() as q:
            assert web.get(f"/rfps/{rfp_id}").status_code == 200
        return q.count

    comment(web, rfp_id, "first")
    app.config["MAX_ACTIVE_CLAIMS"] = 10

    def add_worker(n):
        make.user(f"worker{n}")
        worker = other_client(app)
        worker.login(f"worker{n}")
        claim(worker, rfp_id, note=f"plan {n}")
        c_id = max(c.id for c in _claims(app))
        worker.post(
            f"/claims/{c_id}/progress", {f"claim-{c_id}-body": "update"}, form_url=f"/rfps/{rfp_id}"
        )

    add_worker(0)
    baseline = cost()
    for n in range(49):
        comment(web, rfp_id, f"comment {n} with **markdown**")
    for n in range(1, 10):
        add_worker(n)
    assert cost() == baseline
    listing = count_queries
    with listing() as q:
        web.get("/rfps")
    with listing() as q2:
        web.get("/rfps?claimed=yes")
    assert q.count == q2.count


def _claims(app):
    from rfp_portal.models import Claim

    with app.app_context():
        return get_session().scalars(sa.select(Claim)).all()


def test_the_stored_comment_count_follows_every_change_of_a_comment(app, web, make):
    """rfps.comment_count (the "most discussed" sort, the cards' counts) is recounted after
    every flush that touches a comment: posting, deleting, hiding, showing, and rows made
    directly through the ORM."""
    import sqlalchemy as sa

    from rfp_portal.db import get_session
    from rfp_portal.models import Comment, Rfp, Role

    author = make.user("ada")
    rfp_id = make.rfp(author)
    make.user("mod", role=Role.ORGANISER)

    def stored() -> int:
        with app.app_context():
            return get_session().scalar(sa.select(Rfp.comment_count).where(Rfp.id == rfp_id))

    web.login("ada")
    for text in ("First", "Second", "Third"):
        web.post(f"/rfps/{rfp_id}/comments", {"body": text}, form_url=f"/rfps/{rfp_id}")
    assert stored() == 3
    with app.app_context():
        session = get_session()
        first, second, third = session.scalars(sa.select(Comment).order_by(Comment.id)).all()
        ids = first.id, second.id, third.id
    web.post(f"/comments/{ids[0]}/delete", form_url=f"/comments/{ids[0]}/delete")
    assert stored() == 2
    moderator = type(web)(app.test_client())
    moderator.login("mod")
    moderator.post(f"/comments/{ids[1]}/hide", {"hidden": "1"}, form_url=f"/rfps/{rfp_id}")
    assert stored() == 1
    moderator.post(f"/comments/{ids[1]}/hide", {"hidden": "0"}, form_url=f"/rfps/{rfp_id}")
    assert stored() == 2
    with app.app_context():
        session = get_session()
        session.add(Comment(rfp_id=rfp_id, author_id=author.id, body_md="x", body_html="x"))
        session.commit()
        assert session.get(Rfp, rfp_id).comment_count == 3


def test_one_query_tells_who_hears_of_a_comment_how_and_whether_mail_reaches_them(
    app, make, count_queries
):
    """``audiences`` reads everyone's choices for several kinds and whether mail reaches them
    in one query: each kind keeps its own choices and defaults, the actor and repeats are
    dropped, and an unconfirmed or deactivated address gets no mail."""
    from rfp_portal.models import Delivery, NotificationKind, NotificationSetting
    from rfp_portal.services.notifications import audiences

    actor, chose, unconfirmed, gone = (
        make.user("actor"),
        make.user("chose"),
        make.user("unconfirmed", confirmed=False),
        make.user("gone"),
    )
    with app.app_context():
        session = get_session()
        session.get(User, gone.id).active = False
        session.add(
            NotificationSetting(
                user_id=chose.id, kind=NotificationKind.REPLIED, delivery=Delivery.SITE
            )
        )
        session.commit()
        acting = session.get(User, actor.id)
        with count_queries() as queries:
            commented, replied = audiences(
                session,
                actor=acting,
                groups=[
                    (NotificationKind.COMMENTED, [chose.id, actor.id, unconfirmed.id, chose.id]),
                    (NotificationKind.REPLIED, [chose.id, gone.id]),
                ],
            )
        assert queries.count == 1
    assert commented.recipients == [chose.id, unconfirmed.id]
    assert commented.chosen[chose.id] == DEFAULT_DELIVERY[NotificationKind.COMMENTED]
    assert commented.can_mail == {chose.id}
    assert replied.recipients == [chose.id, gone.id]
    assert replied.chosen == {chose.id: Delivery.SITE, gone.id: DEFAULT_DELIVERY["replied"]}
    assert replied.can_mail == {chose.id}
