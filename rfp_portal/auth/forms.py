from wtforms import BooleanField, EmailField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    Regexp,
    ValidationError,
)

from rfp_portal.db import get_session
from rfp_portal.forms import BaseForm, visible_text
from rfp_portal.models import DEFAULT_DELIVERY, TAG_DIGEST, Delivery, NotificationKind
from rfp_portal.models.notification import choices_for
from rfp_portal.services.accounts import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    RESERVED_MESSAGE,
    USERNAME_PATTERN,
    email_taken,
    password_problem,
    username_reserved,
    username_taken,
)

DELIVERY_LABELS = {
    Delivery.EMAIL: "E-mail at once",
    Delivery.DAILY: "Daily digest",
    Delivery.WEEKLY: "Weekly digest",
    Delivery.SITE: "On the site only",
}
TAG_DIGEST_LABEL = "New RFPs with tags I follow"


class RegisterForm(BaseForm):
    username = StringField(
        "Username",
        validators=[
            DataRequired("Choose a username."),
            Length(min=3, max=30, message="A username has 3 to 30 characters."),
            Regexp(
                USERNAME_PATTERN,
                message="Use only letters, digits, '-' and '_' (it becomes part of your page's address).",
            ),
        ],
        description="3–30 letters, digits, '-' or '_'. Your page will be /users/<username>.",
        render_kw={"autocomplete": "username"},
    )
    email = EmailField(
        "E-mail",
        validators=[
            DataRequired("Enter your e-mail address."),
            Length(max=254),
            Email("Enter a valid e-mail address.", check_deliverability=False),
        ],
        render_kw={"autocomplete": "email"},
    )
    display_name = StringField(
        "Display name",
        validators=[DataRequired("Enter the name people will see."), Length(max=80), visible_text],
        render_kw={"autocomplete": "name"},
    )
    password = PasswordField(
        "Password",
        validators=[
            DataRequired("Choose a password."),
            Length(
                min=PASSWORD_MIN,
                max=PASSWORD_MAX,
                message=f"Use {PASSWORD_MIN} to {PASSWORD_MAX} characters.",
            ),
        ],
        description=f"At least {PASSWORD_MIN} characters, not a common password. "
        "A few unrelated words together are long and easy to remember.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            DataRequired("Repeat the password."),
            EqualTo("password", "The passwords differ."),
        ],
        render_kw={"autocomplete": "new-password"},
    )

    # The service checks these too (another person may register the same name meanwhile); here
    # they are asked with every other field, so one submit reports every problem at once.
    def validate_username(self, field):
        if username_reserved(field.data or ""):
            raise ValidationError(RESERVED_MESSAGE)
        if username_taken(get_session(), field.data or ""):
            raise ValidationError("That username is taken. Please choose another.")

    def validate_email(self, field):
        if email_taken(get_session(), field.data or ""):
            raise ValidationError("An account with that e-mail already exists.")

    def validate_password(self, field):
        if not PASSWORD_MIN <= len(field.data or "") <= PASSWORD_MAX:
            return  # the Length validator has said so
        problem = password_problem(
            field.data, username=self.username.data or "", email=self.email.data or ""
        )
        if problem:
            raise ValidationError(problem)


class LoginForm(BaseForm):
    login = StringField(
        "Username or e-mail",
        validators=[DataRequired("Enter your username or e-mail."), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField("Keep me logged in on this device")


class NewPasswordForm(BaseForm):
    """A new password, typed twice (reset links; the change form adds the current one)."""

    password = PasswordField(
        "New password",
        validators=[
            DataRequired("Choose a new password."),
            Length(
                min=PASSWORD_MIN,
                max=PASSWORD_MAX,
                message=f"Use {PASSWORD_MIN} to {PASSWORD_MAX} characters.",
            ),
        ],
        description=f"At least {PASSWORD_MIN} characters, not a common password.",
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[
            DataRequired("Repeat the new password."),
            EqualTo("password", "The passwords differ."),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class PasswordForm(NewPasswordForm):
    current = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."), Length(max=PASSWORD_MAX)],
        render_kw={"autocomplete": "current-password"},
    )


def _email_field(label: str) -> EmailField:
    return EmailField(
        label,
        validators=[
            DataRequired("Enter an e-mail address."),
            Length(max=254),
            Email("Enter a valid e-mail address.", check_deliverability=False),
        ],
        render_kw={"autocomplete": "email"},
    )


class ForgotPasswordForm(BaseForm):
    email = _email_field("Your account's e-mail address")


class EmailForm(BaseForm):
    email = _email_field("New e-mail address")
    password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."), Length(max=PASSWORD_MAX)],
        description="To be sure it is you who moves the account.",
        render_kw={"autocomplete": "current-password"},
    )


def notification_settings_form(current: dict[str, Delivery]) -> BaseForm:
    """One choice per kind of notification (and the tag digest), showing ``current``."""

    class NotificationSettingsForm(BaseForm):
        pass

    for key in DEFAULT_DELIVERY:
        label = TAG_DIGEST_LABEL if key == TAG_DIGEST else NotificationKind(key).label
        setattr(
            NotificationSettingsForm,
            key,
            RadioField(
                label,
                choices=[SelectChoice(d.value, DELIVERY_LABELS[d]) for d in choices_for(key)],
                default=current[key].value,
                validators=[InputRequired("Choose how to hear of it.")],
            ),
        )
    return NotificationSettingsForm()
