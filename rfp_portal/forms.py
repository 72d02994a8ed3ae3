"""What every form of the portal shares."""

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.fields import FieldList, FormField

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

    def error_list(self) -> list[tuple[str | None, str, str]]:
        """Every error as (field id, field label, message), nested fields included, in order."""
        found: list[tuple[str | None, str, str]] = [
            (None, "", message) for message in self.form_errors
        ]

        def walk(fields, prefix: str = "") -> None:
            for field in fields:
                if isinstance(field, FieldList):
                    for number, entry in enumerate(field.entries, start=1):
                        inner = entry.form if isinstance(entry, FormField) else [entry]
                        walk(inner, f"{field.label.text} {number}: ")
                elif isinstance(field, FormField):
                    walk(field.form, prefix)
                else:
                    for message in field.errors if isinstance(field.errors, list | tuple) else []:
                        if isinstance(message, str):
                            found.append((field.id, f"{prefix}{field.label.text}", message))

        walk(self)
        return found

    def add_domain_error(self, error: DomainError, default_field: str | None = None) -> None:
        """Show a service's refusal beside the field it is about (or as a form-wide error)."""
        name = error.field or default_field
        if name and name in self:
            self[name].errors = [*self[name].errors, error.message]
        else:
            self.form_errors.append(error.message)


class ConfirmForm(BaseForm):
    """A form with nothing but its CSRF token: for buttons that change something."""
