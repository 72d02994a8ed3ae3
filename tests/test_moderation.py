"""Accounts and moderation: passwords, sessions, roles, deactivation and the moderation log."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from rfp_portal.db import get_session
from rfp_portal.models import ModerationAction, ModerationKind, Rfp, RfpState, Role, User
from rfp_portal.services.accounts import password_problem
from tests.conftest import PASSWORD, Web

NEW_PASSWORD = "lanterns over quiet harbours"


def moderation_log(app) -> list[tuple]:
    with app.app_context():
        rows = get_session().scalars(sa.select(ModerationAction).order_by(ModerationAction.id))
        return [(a.kind, a.actor_id, a.subject_id, a.rfp_id, a.comment_id, a.reason) for a in rows]


# -- passwords ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password, problem",
    [
        ("short", "at least 10"),
        ("password123", "most common"),
        ("1234567890", "most common"),
        ("qwertyuiop", "most common"),
        ("aaaaaaaaaaaa", "most common"),
        ("abababababab", "most common"),
        ("NewComer_01", "username"),
        ("newcomer@example.org", "e-mail"),
        ("newcomer_01", "username"),
        ("quiet harbour lanterns", None),
        ("x" * 201, "at most 200"),
    ],
)
def test_the_password_rule(password, problem):
    found = password_problem(password, username="newcomer_01", email="newcomer@example.org")
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@pytest.mark.engine_independent  # form validation
def test_registration_refuses_a_common_password_with_a_clear_message(app, web):
    response = web.post(
        "/register",
        {
            "username": "newcomer",
            "email": "newcomer@example.org",
            "display_name": "New Comer",
            "password": "password1234",
            "confirm": "password1234",
        },
        form_url="/register",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "one of the most common ones" in page
    assert 'value="newcomer"' in page  # the input is kept
    with app.app_context():
        assert get_session().scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_changing_the_password_ends_every_other_session(app, make):
    person = make.user("ada")
    laptop, phone = Web(app.test_client()), Web(app.test_client())
    laptop.login("ada")
    phone.login("ada", remember="y")
    assert phone.get("/rfps/new").status_code == 200
    response = laptop.post(
        "/account/password",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        form_url="/account/password",
    )
    assert response.status_code == 302
    # This device stays logged in; the other one (remember-me cookie included) is logged out.
    assert laptop.get("/rfps/new").status_code == 200
    assert phone.get("/rfps/new").status_code == 302
    assert phone.login("ada").status_code == 422  # the old password no longer works
    assert phone.login("ada", NEW_PASSWORD).status_code == 302
    with app.app_context():
        assert get_session().get(User, person.id).check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"current": "not my password", "password": NEW_PASSWORD}, "not your current password"),
        ({"current": PASSWORD, "password": "1234567890"}, "most common"),
        ({"current": PASSWORD, "password": PASSWORD}, "same as the current"),
        ({"current": PASSWORD, "password": "ada"}, "Use 10 to 200"),
    ],
)
@pytest.mark.engine_independent  # form validation
def test_a_refused_password_change_keeps_the_old_password(app, web, make, fields, message):
    make.user("ada")
    web.login("ada")
    data = {**fields, "confirm": fields["password"]}
    response = web.post("/account/password", data, form_url="/account/password")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert web.get("/rfps/new").status_code == 200  # still logged in
    web.logout()
    assert web.login("ada").status_code == 302  # the old password still works


def test_logging_in_starts_a_new_session(app, web, make):
    make.user("ada")
    with web.client.session_transaction() as session:
        session["planted"] = "by someone else"
    web.login("ada")
    with web.client.session_transaction() as session:
        assert "planted" not in session


def test_a_session_from_before_the_upgrade_is_not_accepted(app, web, make):
    person = make.user("ada")
    with web.client.session_transaction() as session:
        session["_user_id"] = str(person.id)  # a bare id, as before session tokens
        session["_fresh"] = True
    assert web.get("/rfps/new").status_code == 302


# -- deactivation, roles, the log ---------------------------------------------------------------


def test_an_admin_deactivates_an_account_its_sessions_end_and_its_content_stays(app, web, make):
    admin = make.user("root", role=Role.ADMIN)
    spammer = make.user("spammer")
    rfp = make.rfp(spammer, title="Still here after deactivation")
    theirs = Web(app.test_client())
    theirs.login("spammer")
    web.login("root")
    response = web.post(
        "/users/spammer/active",
        {"active": "no", "reason": "Posting adverts"},
        form_url="/users/spammer",
    )
    assert response.status_code == 302
    assert theirs.get("/rfps/new").status_code == 302  # logged out at once
    assert theirs.login("spammer").status_code == 422
    assert "deactivated" in theirs.login("spammer").get_data(as_text=True)
    page = web.get(f"/rfps/{rfp}").get_data(as_text=True)
    assert "Still here after deactivation" in page and "(deactivated)" in page
    assert "This account was deactivated" in web.get("/users/spammer").get_data(as_text=True)
    assert moderation_log(app) == [
        (ModerationKind.DEACTIVATE_ACCOUNT, admin.id, spammer.id, None, None, "Posting adverts")
    ]
    web.post("/users/spammer/active", {"active": "yes", "reason": ""}, form_url="/users/spammer")
    assert theirs.login("spammer").status_code == 302
    assert moderation_log(app)[-1][0] is ModerationKind.REACTIVATE_ACCOUNT


def test_deactivation_needs_a_reason_and_an_admin_cannot_deactivate_themselves(app, web, make):
    make.user("root", role=Role.ADMIN)
    make.user("someone")
    web.login("root")
    response = web.post(
        "/users/someone/active", {"active": "no", "reason": " "}, form_url="/users/someone"
    )
    assert response.status_code == 302
    assert "Say why" in web.get("/users/someone").get_data(as_text=True)
    assert web.post("/users/root/active", {"active": "no", "reason": "x"}).status_code == 403
    assert moderation_log(app) == []


def test_an_admin_changes_a_role_and_it_is_logged(app, web, make):
    admin = make.user("root", role=Role.ADMIN)
    person = make.user("helper")
    web.login("root")
    response = web.post("/users/helper/role", {"role": "organiser"}, form_url="/users/helper")
    assert response.status_code == 302
    with app.app_context():
        assert get_session().get(User, person.id).role is Role.ORGANISER
    assert moderation_log(app) == [
        (ModerationKind.CHANGE_ROLE, admin.id, person.id, None, None, "")
    ]
    assert web.post("/users/helper/role", {"role": "emperor"}).status_code == 302
    with app.app_context():
        assert get_session().get(User, person.id).role is Role.ORGANISER


def test_hiding_a_comment_and_withdrawing_anothers_rfp_are_logged(app, web, make):
    organiser = make.user("host", role=Role.ORGANISER)
    author = make.user("author")
    rfp = make.rfp(author)
    author_web = Web(app.test_client())
    author_web.login("author")
    author_web.post(f"/rfps/{rfp}/comments", {"body": "Buy cheap watches"}, form_url=f"/rfps/{rfp}")
    with app.app_context():
        comment_id = get_session().scalar(sa.text("SELECT id FROM comments"))
    web.login("host")
    web.post(
        f"/comments/{comment_id}/hide",
        {"hidden": "1", "reason": "Spam"},
        form_url=f"/rfps/{rfp}",
    )
    web.post(f"/comments/{comment_id}/hide", {"hidden": "1"}, form_url=f"/rfps/{rfp}")  # again
    web.post(
        f"/rfps/{rfp}/withdraw", {"reason": "Duplicate of #1"}, form_url=f"/rfps/{rfp}/withdraw"
    )
    with app.app_context():
        assert get_session().get(Rfp, rfp).state is RfpState.WITHDRAWN
    assert moderation_log(app) == [
        (ModerationKind.HIDE_COMMENT, organiser.id, author.id, rfp, comment_id, "Spam"),
        (ModerationKind.WITHDRAW_RFP, organiser.id, author.id, rfp, None, "Duplicate of #1"),
    ]
    page = web.get("/moderation").get_data(as_text=True)
    assert "Hide comment" in page and "Withdraw RFP" in page
    assert "Spam" in page and "Duplicate of #1" in page


def test_an_author_withdrawing_their_own_rfp_is_not_moderation(app, web, make):
    author = make.user("author")
    rfp = make.rfp(author)
    web.login("author")
    web.post(f"/rfps/{rfp}/withdraw", {}, form_url=f"/rfps/{rfp}/withdraw")
    assert moderation_log(app) == []


def test_set_role_from_the_command_line_is_logged_without_an_actor(app, make):
    person = make.user("helper")
    result = app.test_cli_runner().invoke(args=["set-role", "helper", "organiser"])
    assert result.exit_code == 0, result.output
    assert moderation_log(app) == [(ModerationKind.CHANGE_ROLE, None, person.id, None, None, "")]


# -- who may do it ------------------------------------------------------------------------------

ADMIN_ROUTES = [
    ("/users/target/role", {"role": "admin"}),
    ("/users/target/active", {"active": "no", "reason": "because"}),
]


@pytest.mark.parametrize("url, data", ADMIN_ROUTES)
def test_admin_routes_refuse_visitors_members_organisers_and_forged_forms(
    app, web, make, url, data
):
    make.user("target")
    make.user("member")
    make.user("host", role=Role.ORGANISER)
    make.user("root", role=Role.ADMIN)
    response = web.post(url, data)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    for who in ("member", "host"):
        web.login(who)
        assert web.post(url, data).status_code == 403
        web.logout()
    web.login("root")
    assert web.post(url, data, csrf=False).status_code == 400
    with app.app_context():
        target = get_session().scalar(sa.select(User).where(User.username == "target"))
        assert target.role is Role.MEMBER and target.active
    assert moderation_log(app) == []
    assert web.post("/users/nobody-here/role", data).status_code == 404


def test_the_moderation_log_is_for_organisers_and_admins(app, web, make):
    make.user("member")
    make.user("host", role=Role.ORGANISER)
    assert web.get("/moderation").status_code == 302
    web.login("member")
    assert web.get("/moderation").status_code == 403
    web.logout()
    web.login("host")
    assert web.get("/moderation").status_code == 200


def test_password_change_refuses_visitors_and_forged_forms(app, web, make):
    make.user("ada")
    data = {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    response = web.post("/account/password", data)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    web.login("ada")
    assert web.post("/account/password", data, csrf=False).status_code == 400
    web.logout()
    assert web.login("ada").status_code == 302  # unchanged
