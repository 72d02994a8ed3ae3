from flask_wtf.file import FileRequired
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from rfp_portal.forms import BaseForm, PlotTextMixin, UploadField, http_url
from rfp_portal.models.claim import URL_MAX, WRITE_UP_MAX


class DeliverForm(PlotTextMixin, BaseForm):
    refusal_field = "image"  # ImageRejected says what is wrong with the result plot
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
    image = UploadField(
        "Result plot",
        validators=[FileRequired("Upload the plot you made.")],
        description="PNG, JPEG or WebP, up to 5 MB.",
        render_kw={"accept": "image/png,image/jpeg,image/webp"},
    )
