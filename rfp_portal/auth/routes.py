"""Accounts: register, log in, log out."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_login import current_user, login_required, login_user, logout_user

from rfp_portal import limits
from rfp_portal.auth.forms import LoginForm, PasswordForm, RegisterForm
from rfp_portal.db import get_session
from rfp_portal.services.accounts import change_password, find_user_by_login, register_user
from rfp_portal.web.views import perform

bp = Blueprint("auth", __name__)


def safe_next(target: str | None, default: str) -> str:
    """Return ``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not target or len(target) > 2000:
        return default
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def start_session(user, *, remember: bool = False) -> None:
    """Log ``user`` in on a fresh session: nothing from before the log-in carries over."""
    flask_session.clear()
    login_user(user, remember=remember)


@bp.route("/register", methods=["GET", "POST"])
@limits.register_per_client
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        done = perform(
            lambda: register_user(
                get_session(),
                username=form.username.data,
                email=form.email.data,
                display_name=form.display_name.data,
                password=form.password.data,
            ),
            form=form,
        )
        if done:
            user = done.value
            start_session(user)
            flash(f"Welcome, {user.display_name}! Your account is ready.", "success")
            return redirect(safe_next(request.args.get("next"), url_for("main.index")))
    return render_template("auth/register.html", form=form), 422 if form.errors else 200


@bp.route("/login", methods=["GET", "POST"])
@limits.login_per_client
@limits.login_per_account
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("main.index")))
    form = LoginForm()
    if form.validate_on_submit():
        user = find_user_by_login(get_session(), form.login.data)
        if user is None or not user.check_password(form.password.data):
            form.password.errors = ["That username or e-mail and password do not match."]
        elif not user.is_active:
            form.login.errors = ["This account has been deactivated."]
        else:
            start_session(user, remember=form.remember.data)
            flash(f"Welcome back, {user.display_name}.", "success")
            return redirect(safe_next(request.args.get("next"), url_for("main.index")))
    return render_template("auth/login.html", form=form), 422 if form.errors else 200


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # CSRFProtect has already checked the token, so nobody can log a person out from elsewhere.
    logout_user()
    flash("You are logged out. See you at the next Research Jam!", "success")
    return redirect(url_for("main.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    """Change the password; every other session and remember-me cookie of the account ends."""
    form = PasswordForm()
    if form.validate_on_submit():
        done = perform(
            lambda: change_password(
                get_session(), user=current_user, current=form.current.data, new=form.password.data
            ),
            form=form,
        )
        if done:
            start_session(current_user._get_current_object())  # this device stays logged in
            flash("Your password is changed. You are logged out everywhere else.", "success")
            return redirect(url_for("users.show", username=current_user.username))
    return render_template("auth/password.html", form=form), 422 if form.errors else 200
