from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from rfp_portal.forms import BaseForm
from rfp_portal.models.comment import COMMENT_MAX


class CommentForm(BaseForm):
    body = TextAreaField(
        "Your comment",
        validators=[
            DataRequired("Write something first."),
            Length(max=COMMENT_MAX, message=f"Keep a comment under {COMMENT_MAX:,} characters."),
        ],
        description="Be kind: people here are learning in public. Markdown and $math$ work.",
    )
