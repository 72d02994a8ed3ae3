"""The forms an RFP's page shows, posted to the claims, comments and Jams blueprints.

They live here, not beside one blueprint's routes, because the RFP page (``rfps/pages.py``)
renders them all, and each blueprint re-renders that page with its own form's errors.
"""

from collections.abc import Iterable

from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from rfp_portal.forms import BaseForm, http_url
from rfp_portal.models import Jam
from rfp_portal.models.claim import NOTE_MAX, UPDATE_MAX
from rfp_portal.models.comment import COMMENT_MAX
from rfp_portal.models.jam import URL_MAX


class ClaimForm(BaseForm):
    note = TextAreaField(
        "What do you plan to try? (optional)",
        validators=[
            Optional(),
            Length(max=NOTE_MAX, message=f"Keep the note under {NOTE_MAX:,} characters."),
        ],
        description="A sentence or two helps the author help you. Markdown works.",
    )


class ProgressForm(BaseForm):
    body = TextAreaField(
        "Progress update",
        validators=[
            DataRequired("Write a short update: what you tried, what you saw, what is next."),
            Length(max=UPDATE_MAX, message=f"Keep an update under {UPDATE_MAX:,} characters."),
        ],
        description="Each update resets the check-in clock. Markdown works.",
    )


class CommentForm(BaseForm):
    body = TextAreaField(
        "Your comment",
        validators=[
            DataRequired("Write something first."),
            Length(max=COMMENT_MAX, message=f"Keep a comment under {COMMENT_MAX:,} characters."),
        ],
        description="Be kind: people here are learning in public. Markdown and $math$ work.",
    )


class PresentationForm(BaseForm):
    jam = SelectField("Research Jam", coerce=int, validate_choice=True)
    slides_url = StringField(
        "Slides (link, optional)", validators=[Optional(), Length(max=URL_MAX), http_url]
    )
    recording_url = StringField(
        "Recording (link, optional)", validators=[Optional(), Length(max=URL_MAX), http_url]
    )

    @classmethod
    def for_jams(cls, jams: Iterable[Jam], **kwargs) -> "PresentationForm":
        """The form, offering ``jams`` (newest first) to link the RFP to."""
        form = cls(**kwargs)
        form.jam.choices = [(j.id, f"{j.name} — {j.local_start:%a %-d %b %Y}") for j in jams]
        return form


class PublishForm(BaseForm):
    """Publish a draft from its page."""

    no_plot_yet = BooleanField(
        "No plot yet",
        description="Publish without an example or a sketch; you can add one later.",
    )
