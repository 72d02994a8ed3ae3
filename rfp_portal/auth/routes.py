"""Accounts: register, log in, log out; the address, the password, and what people hear of."""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    after_this_request,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as flask_session
from flask_login import current_user, login_required, login_user, logout_user

from rfp_portal import limits
from rfp_portal.auth.forms import (
    EmailForm,
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
    PasswordForm,
    RegisterForm,
    notification_settings_form,
)
from rfp_portal.db import get_session
from rfp_portal.forms import ConfirmForm
from rfp_portal.models import (
    DAILY_DIGEST,
    DEFAULT_DELIVERY,
    TAG_DIGEST,
    Delivery,
    LoginSession,
    NotificationKind,
)
from rfp_portal.services import tokens
from rfp_portal.services.accounts import (
    change_email,
    change_password,
    confirm_address,
    find_user_by_login,
    register_user,
    request_password_reset,
    reset_password,
    send_confirmation,
)
from rfp_portal.services.notifications import (
    can_unsubscribe_from,
    followed_tags,
    is_unsubscribed,
    set_deliveries,
    settings_of,
)
from rfp_portal.services.notifications import unsubscribe as unsubscribe_from
from rfp_portal.services.sessions import (
    active_login_sessions,
    end_login_session,
    end_login_sessions,
    start_login_session,
)
from rfp_portal.web.context import now
from rfp_portal.web.extensions import csrf, current_login_session
from rfp_portal.web.views import get_or_404, perform

bp = Blueprint("auth", __name__)


def safe_next(target: str | None, default: str) -> str:
    """Return ``target`` if it is a path on this site, else ``default`` (no open redirects).

    Any string at all gets an answer: one ``urlsplit`` cannot read (``https://[::1``) is not a
    path on this site.
    """
    if not target or len(target) > 2000:
        return default
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return default
    try:
        parts = urlsplit(target)
    except ValueError:
        return default
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def start_session(user, *, remember: bool = False) -> bool:
    """Log ``user`` in on a fresh session: nothing from before the log-in carries over, and a
    log-in session is recorded on the server (the cookies hold its token), so that logging out
    or ending it from the sessions page ends it for good. The browser gets a device cookie for
    the account (``limits.set_device_cookie``). False if the session could not be recorded.
    """
    done = perform(
        lambda: start_login_session(
            get_session(),
            user=user,
            user_agent=request.headers.get("User-Agent", ""),
            now=now(),
        )
    )
    if not done:
        return False
    flask_session.clear()
    login_user(user, remember=remember)
    flask_session["_fresh"] = True

    @after_this_request
    def mark_the_device(response):
        limits.set_device_cookie(response, user)
        return response

    return True


def _too_many_accounts(limit) -> Response:
    """The answer once this client has made its share of accounts: the form again, as typed."""
    message = (
        "Too many accounts have been created from your network recently, so this one was not. "
        "This keeps spam accounts out. Please try again "
        f"{limits.when_to_retry(limits.retry_after_seconds())}: what you typed is kept below "
        "(except the password)."
    )
    page = render_template("auth/register.html", form=RegisterForm(), refusal=message)
    return make_response(page, 429)


@bp.route("/register", methods=["GET", "POST"])
@limits.register_attempts_per_client
@limits.accounts_per_client(on_breach=_too_many_accounts)
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
            limits.account_created()
            start_session(user)
            flash(
                f"Welcome, {user.display_name}! Your account is ready. We sent a link to "
                f"{user.email} to confirm the address; the portal mails it nothing else until then.",
                "success",
            )
            return redirect(safe_next(request.args.get("next"), url_for("main.index")))
    return render_template("auth/register.html", form=form), 422 if form.errors else 200


@bp.route("/login", methods=["GET", "POST"])
@limits.login_per_client
@limits.login_per_account
@limits.login_per_device
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
    record = current_login_session()
    if record is not None:
        perform(
            lambda: end_login_session(
                get_session(), login_session=record, actor=current_user, now=now()
            )
        )
    logout_user()
    flask_session.clear()
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
                get_session(),
                user=current_user,
                current=form.current.data,
                new=form.password.data,
                now=now(),
                keep=current_login_session(),  # this browser stays logged in
            ),
            form=form,
        )
        if done:
            flash("Your password is changed. You are logged out everywhere else.", "success")
            return redirect(url_for("users.show", username=current_user.username))
    return render_template("auth/password.html", form=form), 422 if form.errors else 200


# -- where the person is logged in -------------------------------------------------------------


@bp.route("/account/sessions")
@login_required
def login_sessions():
    """Every browser the person is logged in on, and a button to end each."""
    return render_template(
        "auth/sessions.html",
        login_sessions=active_login_sessions(get_session(), user=current_user),
        current=current_login_session(),
        form=ConfirmForm(),
    )


@bp.route("/account/sessions/<id:session_id>/end", methods=["POST"])
@login_required
def end_login_session_page(session_id: int):
    """End one of the person's sessions: that browser is logged out at its next request.

    :raise 404: when there is no such session; 403 when it is someone else's.
    """
    record = get_or_404(LoginSession, session_id, "There is no such session.")
    if not record.can_be_ended_by(current_user):
        abort(403)
    form = ConfirmForm()
    if form.validate_on_submit() and perform(
        lambda: end_login_session(
            get_session(), login_session=record, actor=current_user, now=now()
        )
    ):
        if record.id == getattr(current_login_session(), "id", None):
            logout_user()
            flask_session.clear()
            flash("You are logged out on this browser.", "success")
            return redirect(url_for("main.index"))
        flash(f"That session ({record.device}) is ended.", "success")
    return redirect(url_for("auth.login_sessions"))


@bp.route("/account/sessions/end-others", methods=["POST"])
@login_required
def end_other_login_sessions():
    """Log out every other browser the person is logged in on."""
    form = ConfirmForm()
    if form.validate_on_submit() and perform(
        lambda: end_login_sessions(
            get_session(), user=current_user, now=now(), keep=current_login_session()
        )
    ):
        flash("You are logged out everywhere else.", "success")
    return redirect(url_for("auth.login_sessions"))


# -- a forgotten password ----------------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
@limits.reset_per_client
@limits.reset_per_address
def forgot_password():
    """Ask for a reset link. The answer is the same whether or not the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        done = perform(
            lambda: request_password_reset(get_session(), address=form.email.data, now=now()),
            form=form,
        )
        if done:
            return redirect(url_for("auth.forgot_password_sent"), 303)
    return render_template("auth/forgot.html", form=form), 422 if form.errors else 200


@bp.route("/password/forgot/sent")
def forgot_password_sent():
    return render_template("auth/forgot_sent.html")


def _token_problem(error: tokens.BadToken, *, title: str):
    return render_template("auth/token_problem.html", title=title, message=str(error)), 400


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limits.reset_per_client
def reset_password_page(token: str):
    """A link from a reset e-mail: choose a new password, and be logged in with it."""
    try:
        user = tokens.user_for_reset(
            get_session(), current_app.config["SECRET_KEY"], token, now=now()
        )
    except tokens.BadToken as error:
        return _token_problem(error, title="This reset link does not work")
    form = NewPasswordForm()
    if form.validate_on_submit():
        done = perform(
            lambda: reset_password(get_session(), user=user, new=form.password.data, now=now()),
            form=form,
        )
        if done:
            start_session(user)
            flash(
                "Your password is changed, and you are logged in. Every other session ended.",
                "success",
            )
            return redirect(url_for("main.index"))
    return render_template("auth/reset.html", form=form, user=user), 422 if form.errors else 200


# -- the address -------------------------------------------------------------------------------


@bp.route("/account/confirm/<token>")
def confirm_address_page(token: str):
    """A link from a confirmation e-mail; it works logged in or not."""
    try:
        user = tokens.user_for_confirmation(
            get_session(), current_app.config["SECRET_KEY"], token, now=now()
        )
    except tokens.BadToken as error:
        return _token_problem(error, title="This confirmation link does not work")
    done = perform(lambda: confirm_address(get_session(), user=user, now=now()))
    if done and done.value:
        flash(f"Thank you: {user.email} is confirmed.", "success")
    elif done:
        flash(f"{user.email} was confirmed already.", "info")
    if current_user.is_authenticated:
        return redirect(url_for("auth.notification_settings"))
    return redirect(url_for("main.index"))


@bp.route("/account/confirm", methods=["POST"])
@login_required
@limits.mail_per_account
def resend_confirmation():
    form = ConfirmForm()
    if form.validate_on_submit() and perform(
        lambda: send_confirmation(get_session(), user=current_user, now=now())
    ):
        flash(f"A new confirmation link is on its way to {current_user.email}.", "success")
    return redirect(url_for("auth.notification_settings"))


@bp.route("/account/email", methods=["GET", "POST"])
@login_required
@limits.mail_per_account
def email():
    """Move the account to a new address (confirmed by a link; the old address is told)."""
    form = EmailForm()
    if form.validate_on_submit():
        done = perform(
            lambda: change_email(
                get_session(),
                user=current_user,
                password=form.password.data,
                email=form.email.data,
                now=now(),
            ),
            form=form,
        )
        if done:
            flash(
                f"Your address is now {current_user.email}. Follow the link we sent there to "
                "confirm it; your old address was told of the change.",
                "success",
            )
            return redirect(url_for("auth.notification_settings"))
    return render_template("auth/email.html", form=form), 422 if form.errors else 200


# -- what people hear of -----------------------------------------------------------------------


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def notification_settings():
    session = get_session()
    form = notification_settings_form(settings_of(session, current_user))
    if form.validate_on_submit():
        choices = {key: Delivery(form[key].data) for key in DEFAULT_DELIVERY}
        if perform(lambda: set_deliveries(session, user=current_user, choices=choices), form=form):
            flash("Saved. You will hear of each thing as you chose.", "success")
            return redirect(url_for("auth.notification_settings"))
    return render_template(
        "auth/notifications.html",
        form=form,
        tags=followed_tags(session, current_user),
        confirm_form=ConfirmForm(),
    ), 422 if form.errors else 200


def _unsubscribe_label(key: str) -> str:
    if key == TAG_DIGEST:
        return "the weekly digest of new RFPs with tags you follow"
    if key == DAILY_DIGEST:
        return "the daily digest"
    return f"e-mails when: {NotificationKind(key).label.lower()}"


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the authority; mail clients post without a session (RFC 8058)
def unsubscribe(token: str):
    """One-click unsubscribe from one kind of e-mail, without logging in."""
    try:
        found = tokens.unsubscribe_for(get_session(), current_app.config["SECRET_KEY"], token)
    except tokens.BadToken as error:
        return _token_problem(error, title="This unsubscribe link does not work")
    if not can_unsubscribe_from(found.key):
        return _token_problem(
            tokens.BadToken("This link names no kind of e-mail the portal sends."),
            title="This unsubscribe link does not work",
        )
    label = _unsubscribe_label(found.key)
    session = get_session()
    if request.method == "GET":
        done = request.args.get("done") == "1" and is_unsubscribed(
            session, user=found.user, key=found.key
        )
        return render_template("auth/unsubscribe.html", label=label, done=done, token=token)
    perform(lambda: unsubscribe_from(session, user=found.user, key=found.key))
    return redirect(url_for("auth.unsubscribe", token=token, done=1), 303)
