from flask_wtf.file import FileField, FileRequired
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from rfp_portal.forms import BaseForm, http_url
from rfp_portal.models.claim import NOTE_MAX, UPDATE_MAX, URL_MAX, WRITE_UP_MAX
from rfp_portal.plots.forms import PlotTextMixin


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


class DeliverForm(PlotTextMixin, BaseForm):
    result_url = StringField(
        "Link to the result",
        validators=[
            DataRequired("Link to your notebook, repository or write-up."),
            Length(max=URL_MAX),
            http_url,
        ],
        description="A notebook, repository, report or post — anything others can open.",
        render_kw={"inputmode": "url"},
    )
    write_up = TextAreaField(
        "Short write-up",
        validators=[
            DataRequired("Say in a few sentences what you did and what the plot shows."),
            Length(
                max=WRITE_UP_MAX, message=f"Keep the write-up under {WRITE_UP_MAX:,} characters."
            ),
        ],
        description="What you did, what the plot shows, what surprised you. Markdown works.",
    )
    image = FileField(
        "Result plot",
        validators=[FileRequired("Upload the plot you made.")],
        description="PNG, JPEG or WebP, up to 5 MB.",
        render_kw={"accept": "image/png,image/jpeg,image/webp"},
    )
