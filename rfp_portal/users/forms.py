from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, Length

from rfp_portal.forms import BaseForm
from rfp_portal.models import Role
from rfp_portal.models.moderation import REASON_MAX


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
