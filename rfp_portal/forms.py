"""What every form of the portal shares."""

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from rfp_portal.services import DomainError

FORBIDDEN_CHARACTERS = {"\x00"}


class BaseForm(FlaskForm):
    """A CSRF-protected form that refuses text with characters no database should hold."""

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for field in self:
            text = field.data if isinstance(field, StringField | TextAreaField) else None
            if isinstance(text, str) and any(ch in text for ch in FORBIDDEN_CHARACTERS):
                field.errors = [*field.errors, "This contains a character that is not allowed."]
                ok = False
        return ok

    def add_domain_error(self, error: DomainError, default_field: str | None = None) -> None:
        """Show a service's refusal beside the field it is about (or as a form-wide error)."""
        name = error.field or default_field
        if name and name in self:
            self[name].errors = [*self[name].errors, error.message]
        else:
            self.form_errors.append(error.message)


class ConfirmForm(BaseForm):
    """A form with nothing but its CSRF token: for buttons that change something."""
