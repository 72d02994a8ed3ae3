"""The forms of people's pages: an admin's role and account forms, and one's own profile."""

from __future__ import annotations

from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, ValidationError

from rfp_portal.forms import BaseForm
from rfp_portal.models import Role
from rfp_portal.models.moderation import REASON_MAX
from rfp_portal.models.user import BIO_MAX, DISPLAY_NAME_MAX
from rfp_portal.services import DomainError, profiles


class RoleForm(BaseForm):
    role = SelectField(
        "Role",
        choices=[SelectChoice(r.value, r.value.capitalize()) for r in Role],
        validate_choice=True,
    )


class AccountStateForm(BaseForm):
    # "yes" reactivates, "no" deactivates: the button says which.
    active = HiddenField(validators=[AnyOf(["yes", "no"], message="Choose what to do.")])
    reason = TextAreaField(
        "Reason, for the moderation log",
        validators=[Length(max=REASON_MAX, message=f"At most {REASON_MAX} characters.")],
    )


def _rule(read):
    """A WTForms validator from a ``services.profiles.read_*`` rule: one rule, one message."""

    def validate(form, field) -> None:
        try:
            read(field.data or "")
        except DomainError as error:
            raise ValidationError(error.message) from None

    return validate


class ProfileForm(BaseForm):
    display_name = StringField(
        "Display name",
        validators=[
            DataRequired("Enter the name people will see."),
            Length(max=DISPLAY_NAME_MAX, message=f"At most {DISPLAY_NAME_MAX} characters."),
            _rule(profiles.read_display_name),
        ],
        render_kw={"autocomplete": "name", "maxlength": DISPLAY_NAME_MAX},
    )
    bio = TextAreaField(
        "About you",
        validators=[
            Length(max=BIO_MAX, message=f"A bio can be at most {BIO_MAX:,} characters."),
        ],
        description=f"A few lines on what you work on and what you would like to learn. "
        f"Markdown works; at most {BIO_MAX:,} characters.",
        render_kw={"rows": 6},
    )
    website = StringField(
        "Website",
        validators=[_rule(profiles.read_website)],
        description="Starting with https:// (or http://).",
        render_kw={"autocomplete": "url", "inputmode": "url"},
    )
    github = StringField(
        "GitHub username",
        validators=[_rule(profiles.read_github)],
        description="e.g. octocat (the address of your GitHub page works too).",
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )
    scholar = StringField(
        "Google Scholar profile",
        validators=[_rule(profiles.read_scholar)],
        description="The address of your profile, https://scholar.google.com/citations?user=…, "
        "or its 12-character user id.",
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )
    discord = StringField(
        "Discord username",
        validators=[_rule(profiles.read_discord)],
        description="So people from the Open Collab server can find you.",
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )
    open_to_mentoring = BooleanField("I am open to mentoring someone on an RFP")
    looking_for_mentor = BooleanField("I am looking for a mentor")

    @classmethod
    def for_user(cls, user) -> ProfileForm:
        """The form filled in with ``user``'s profile (on a GET; a POST shows what was sent)."""
        return cls(
            display_name=user.display_name,
            bio=user.bio_md,
            website=user.website_url or "",
            github=user.github_username or "",
            scholar=user.scholar_url or "",
            discord=user.discord_handle or "",
            open_to_mentoring=user.open_to_mentoring,
            looking_for_mentor=user.looking_for_mentor,
        )

    def to_draft(self) -> profiles.ProfileDraft:
        return profiles.ProfileDraft(
            display_name=self.display_name.data or "",
            bio=self.bio.data or "",
            website=self.website.data or "",
            github=self.github.data or "",
            scholar=self.scholar.data or "",
            discord=self.discord.data or "",
            open_to_mentoring=bool(self.open_to_mentoring.data),
            looking_for_mentor=bool(self.looking_for_mentor.data),
        )
