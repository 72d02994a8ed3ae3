"""Accounts: register, log in by username or e-mail, remember me, log out, safe redirects, roles."""

import pytest
import sqlalchemy as sa

from rfp_portal.db import get_session
from rfp_portal.models import Role, User
from tests.conftest import PASSWORD

NEW_PERSON = {
    "username": "Newcomer_1",
    "email": "New.Comer@Example.org",
    "display_name": "New Comer",
    "password": "a long enough password",
    "confirm": "a long enough password",
}


def test_register_logs_in_and_stores_a_slow_hash(web, app):
    response = web.post("/register", NEW_PERSON, form_url="/register")
    assert response.status_code == 302
    page = web.get("/").get_data(as_text=True)
    assert "New Comer" in page and "Log out" in page
    with app.app_context():
        user = get_session().scalar(sa.select(User))
        assert user.username == "newcomer_1" and user.email == "new.comer@example.org"
        assert user.password_hash.startswith("scrypt:")
        assert user.role is Role.MEMBER


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"username": "a"}, "username", "3 to 30 characters"),
        ({"username": "has space"}, "username", "Use only letters"),
        ({"email": "not-an-email"}, "email", "valid e-mail"),
        ({"password": "short", "confirm": "short"}, "password", "Use 10 to 200 characters"),
        ({"confirm": "something else entirely"}, "confirm", "passwords differ"),
        (
            {"password": "newcomer_1", "confirm": "newcomer_1"},
            "password",
            "cannot be your username",
        ),
        ({"display_name": ""}, "display_name", "Enter the name"),
    ],
)
@pytest.mark.engine_independent  # form validation
def test_register_errors_sit_beside_the_field_and_keep_input(web, change, field, message):
    response = web.post("/register", {**NEW_PERSON, **change}, form_url="/register")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert f'id="{field}-error"' in html
    assert 'aria-invalid="true"' in html
    assert 'value="New.Comer@Example.org"' in html or field == "email"
    assert "a long enough password" not in html  # passwords are never echoed back


def test_register_refuses_taken_username_and_email(web, make):
    make.user("taken")
    response = web.post("/register", {**NEW_PERSON, "username": "TAKEN"}, form_url="/register")
    assert "That username is taken" in response.get_data(as_text=True)
    response = web.post(
        "/register", {**NEW_PERSON, "email": "TAKEN@example.org"}, form_url="/register"
    )
    assert "already exists" in response.get_data(as_text=True)


@pytest.mark.parametrize("login", ["ada", "ADA", "ada@example.org", " Ada@Example.org "])
def test_log_in_by_username_or_email(web, make, login):
    make.user("ada")
    response = web.login(login)
    assert response.status_code == 302
    assert "Log out" in web.get("/").get_data(as_text=True)


def test_wrong_password_gives_one_message_for_both_cases(web, make):
    make.user("ada")
    wrong = web.login("ada", "not the password").get_data(as_text=True)
    nobody = web.login("nobody", "not the password").get_data(as_text=True)
    message = "That username or e-mail and password do not match."
    assert message in wrong and message in nobody
    assert 'value="ada"' in wrong  # the login is kept


@pytest.mark.engine_independent  # cookies
def test_remember_me_sets_a_long_lived_cookie(web, make):
    make.user("ada")
    web.login("ada", remember="y")
    assert web.client.get_cookie("remember_token") is not None


@pytest.mark.engine_independent  # cookies
def test_without_remember_me_there_is_no_remember_cookie(web, make):
    make.user("ada")
    web.login("ada")
    assert web.client.get_cookie("remember_token") is None


@pytest.mark.engine_independent  # cookies
def test_session_cookie_is_httponly_and_lax(web, make):
    make.user("ada")
    response = web.login("ada")
    cookie = response.headers.get("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_deactivated_account_cannot_log_in(web, make, app):
    user = make.user("ada")
    with app.app_context():
        session = get_session()
        session.get(User, user.id).active = False
        session.commit()
    response = web.login("ada")
    assert response.status_code == 422
    assert "deactivated" in response.get_data(as_text=True)


def test_deactivating_an_account_ends_its_sessions(web, make, app):
    user = make.user("ada")
    web.login("ada")
    with app.app_context():
        session = get_session()
        session.get(User, user.id).active = False
        session.commit()
    assert "Log in" in web.get("/").get_data(as_text=True)
    assert web.get("/rfps/new").status_code == 302


@pytest.mark.engine_independent  # CSRF
def test_logout_is_a_post_with_csrf(web, make):
    make.user("ada")
    web.login("ada")
    assert web.client.get("/logout").status_code == 405
    assert web.post("/logout", csrf=False).status_code == 400
    assert "Log out" in web.get("/").get_data(as_text=True)
    assert web.logout().status_code == 302
    assert "Log in" in web.get("/").get_data(as_text=True)


@pytest.mark.parametrize("target", ["/rfps", "/rfps?page=2", "/users/ada"])
@pytest.mark.engine_independent  # parsing ?next=
def test_next_redirects_to_a_path_on_this_site(web, make, target):
    make.user("ada")
    response = web.post(f"/login?next={target}", {"login": "ada", "password": PASSWORD})
    assert response.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/\r\nSet-Cookie:x=1",
        "/\tevil",
        " //evil.example",
        "rfps",
        "x" * 3000,  # longer than any target kept (2,000), within the longest address read
    ],
)
@pytest.mark.engine_independent  # parsing ?next=
def test_malformed_next_goes_home(web, make, target):
    make.user("ada")
    response = web.client.post(
        "/login",
        query_string={"next": target},
        data={"login": "ada", "password": PASSWORD, "csrf_token": web.csrf_token()},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_page_redirects_a_logged_in_person_safely(web, make):
    make.user("ada")
    web.login("ada")
    response = web.get("/login?next=//evil.example")
    assert response.headers["Location"] == "/"


def test_create_admin_command_makes_an_admin(app):
    result = app.test_cli_runner().invoke(
        args=[
            "create-admin",
            "--username",
            "root",
            "--email",
            "root@example.org",
            "--display-name",
            "The Admin",
            "--password",
            "a very long password",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = get_session().scalar(sa.select(User).where(User.username == "root"))
        assert user.role is Role.ADMIN and user.check_password("a very long password")


def test_create_admin_refuses_a_short_password(app):
    result = app.test_cli_runner().invoke(
        args=[
            "create-admin",
            "--username",
            "r",
            "--email",
            "r@x.org",
            "--display-name",
            "R",
            "--password",
            "short",
        ]
    )
    assert result.exit_code != 0 and "at least 10" in result.output


def test_create_admin_promotes_an_existing_account_and_set_role_changes_roles(app, make):
    make.user("ada")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-admin",
            "--username",
            "ada",
            "--email",
            "x@y.org",
            "--display-name",
            "A",
            "--password",
            "irrelevant!!",
        ]
    )
    assert "now an admin" in result.output
    assert runner.invoke(args=["set-role", "ada", "organiser"]).exit_code == 0
    with app.app_context():
        assert (
            get_session().scalar(sa.select(User.role).where(User.username == "ada"))
            is Role.ORGANISER
        )
    assert runner.invoke(args=["set-role", "nobody", "admin"]).exit_code != 0
