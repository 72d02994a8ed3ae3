"""What every form of the portal shares: the base form, its validators and shared fields.

Forms that only one blueprint posts live beside its routes (``rfps/forms.py`` …); forms that
several blueprints show live here (``rfp_page.py``: the forms on an RFP's page).
"""

from urllib.parse import urlsplit

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from flask_wtf.form import SUBMIT_METHODS, _Auto
from werkzeug.datastructures import CombinedMultiDict, FileStorage, ImmutableMultiDict
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.fields import FieldList, FormField
from wtforms.validators import DataRequired, Length, StopValidation, ValidationError

from rfp_portal.models.plot import ALT_TEXT_MAX, CAPTION_MAX
from rfp_portal.rendering.plain import clean_block, clean_line, has_visible_character
from rfp_portal.services import DomainError

FORBIDDEN_CHARACTERS = {"\x00"}


class BaseForm(FlaskForm):
    """A CSRF-protected form that refuses text with characters no database should hold.

    It reads only the posted form fields, and uploaded files only for its own file fields: a file
    sent in place of a text field, or a JSON body, never reaches a validator that expects text.
    """

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            if formdata is not _Auto:
                return formdata
            if request.method not in SUBMIT_METHODS:
                return None
            file_names = {f.name for f in _all_fields(form) if isinstance(f, FileField)}
            files = ImmutableMultiDict(
                [
                    (key, value)
                    for key, value in request.files.items(multi=True)
                    if key in file_names
                ]
            )
            return CombinedMultiDict((files, request.form)) if files else request.form

    def validate(self, extra_validators=None) -> bool:
        # What no reader should get: bidi controls and control characters (but a box's line
        # breaks and tabs) are taken out before any validator sees the text. Passwords are
        # the person's own business and are left exactly as typed.
        for field in _all_fields(self):
            if isinstance(field.data, str) and not isinstance(field, PasswordField):
                if isinstance(field, TextAreaField):
                    field.data = clean_block(field.data)
                elif isinstance(field, StringField):
                    field.data = clean_line(field.data)
        ok = super().validate(extra_validators)
        for field in _all_fields(self):
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

    #: Where a refusal that is not a DomainError goes (an upload form names its file field).
    refusal_field: str | None = None

    def add_refusal(self, error: Exception, default_field: str | None = None) -> None:
        """Show why the action was refused: a DomainError beside its field; any other refusal
        the view let through (an image the checks rejected …) beside ``refusal_field``."""
        if isinstance(error, DomainError):
            self.add_domain_error(error, default_field)
        elif self.refusal_field and self.refusal_field in self:
            field = self[self.refusal_field]
            field.errors = [*field.errors, str(error)]
        else:
            self.form_errors.append(str(error))


def visible_text(form, field) -> None:
    """A title or a name must show something: not only spaces, invisible characters, or
    letters that render blank."""
    if field.data and not has_visible_character(field.data):
        raise ValidationError("Use at least one visible character.")


def http_url(form, field) -> None:
    """Only http(s) links: no javascript:, data: or other schemes. Empty passes (use Optional)."""
    value = (field.data or "").strip()
    if not value:
        return
    try:
        parts = urlsplit(value)
    except ValueError:  # an unbalanced "[" in the host
        raise ValidationError("Enter a web address starting with https:// (or http://).") from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(ch.isspace() for ch in value)
    ):
        raise ValidationError("Enter a web address starting with https:// (or http://).")


def small_integer(form, field) -> None:
    """An integer the database can hold (NumberRange alone overflows on a 400-digit number)."""
    if field.data is not None and not -(10**9) < field.data < 10**9:
        raise StopValidation("Enter a number from 1 to 100, or leave it empty.")


def _all_fields(form):
    for field in form:
        if isinstance(field, FormField):
            yield from _all_fields(field.form)
        elif isinstance(field, FieldList):
            # entries exist once the form has processed its data (not yet in wrap_formdata)
            for entry in getattr(field, "entries", []):
                yield from _all_fields(entry.form) if isinstance(entry, FormField) else [entry]
        else:
            yield field


class UploadField(FileField):
    """A file input that knows when the file chosen in it was dropped.

    A page shown again with its form's errors cannot put a file back into a file input, so a
    file that was fine, sent with another field that was not, is lost: ``dropped_file`` is true
    then, and the field macro asks the person to choose it again.
    """

    def __init__(self, *args, _form=None, **kwargs) -> None:
        super().__init__(*args, _form=_form, **kwargs)
        self._owner = _form

    @property
    def dropped_file(self) -> bool:
        chose_one = isinstance(self.data, FileStorage) and bool(self.data.filename)
        owner = self._owner
        return (
            chose_one
            and not self.errors
            and isinstance(owner, BaseForm)
            and bool(owner.error_list())
        )


class ConfirmForm(BaseForm):
    """A form with nothing but its CSRF token: for buttons that change something."""


class PlotTextMixin:
    """The caption and alt text of a plot: uploads, sketches and delivered results."""

    caption = StringField(
        "Caption",
        validators=[
            DataRequired("Add a caption: what does this plot show?"),
            Length(max=CAPTION_MAX, message=f"A caption can be at most {CAPTION_MAX} characters."),
        ],
        description="Shown under the plot.",
    )
    alt_text = TextAreaField(
        "Alt text (for screen readers)",
        validators=[
            DataRequired("Describe the plot for people who cannot see it."),
            Length(max=ALT_TEXT_MAX, message=f"Alt text can be at most {ALT_TEXT_MAX} characters."),
        ],
        description="Say what the axes are and what the plot shows, e.g. “Loss falls with batch size until 512, then flattens.”",
    )
