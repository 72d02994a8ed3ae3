from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from rfp_portal.forms import BaseForm, small_integer
from rfp_portal.models import Compute, Difficulty
from rfp_portal.models.rfp import BODY_MAX, SUMMARY_MAX, TITLE_MAX
from rfp_portal.services.rfps import RfpDraft, parse_tags

MARKDOWN_HINT = "Markdown: **bold**, [links](https://…), lists, `code`, and math as $x^2$ or $$…$$."


class RfpForm(BaseForm):
    title = StringField(
        "Title",
        validators=[
            DataRequired("Give your RFP a title."),
            Length(max=TITLE_MAX, message=f"A title can be at most {TITLE_MAX} characters."),
        ],
        description="The question in a few words.",
    )
    summary = StringField(
        "One-line summary",
        validators=[
            DataRequired("Add a one-line summary."),
            Length(
                max=SUMMARY_MAX, message=f"The summary can be at most {SUMMARY_MAX} characters."
            ),
        ],
        description="What the plot would tell us, in one sentence.",
    )
    big_picture = TextAreaField(
        "The big picture",
        validators=[
            DataRequired("Describe the big picture: the question and why it matters."),
            Length(max=BODY_MAX, message=f"This can be at most {BODY_MAX:,} characters."),
        ],
        description="The question, why it matters, pointers to papers. " + MARKDOWN_HINT,
    )
    first_plot = TextAreaField(
        "The first plot",
        validators=[
            DataRequired("Describe the first plot you wish existed."),
            Length(max=BODY_MAX, message=f"This can be at most {BODY_MAX:,} characters."),
        ],
        description="What goes on each axis, what is compared, what result would surprise you.",
    )
    tags = StringField(
        "Tags",
        validators=[Optional(), Length(max=300)],
        description="Separated by commas, e.g. optimization, vision, scaling laws.",
    )
    difficulty = SelectField(
        "Difficulty",
        choices=[SelectChoice(d.value, d.value.capitalize()) for d in Difficulty],
        default=Difficulty.BEGINNER.value,
    )
    compute = SelectField(
        "Compute needed",
        choices=[SelectChoice(c.value, c.value[0].upper() + c.value[1:]) for c in Compute],
        default=Compute.LAPTOP.value,
    )
    claim_cap = IntegerField(
        "At most this many people working on it at once",
        validators=[
            Optional(),
            # compared as integers: NumberRange alone overflows on a 400-digit number
            small_integer,
            NumberRange(min=1, max=100, message="Enter a number from 1 to 100, or leave it empty."),
        ],
        description="Leave empty for no limit.",
    )

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if ok and len(self.big_picture.data) + len(self.first_plot.data) > BODY_MAX:
            self.first_plot.errors.append(
                f"The big picture and the first plot can be at most {BODY_MAX:,} characters "
                f"together; you have {len(self.big_picture.data) + len(self.first_plot.data):,}."
            )
            ok = False
        return ok

    def to_draft(self) -> RfpDraft:
        """The typed draft for the services.

        :raise DomainError: when the tags are not valid.
        """
        return RfpDraft(
            title=self.title.data,
            summary=self.summary.data,
            big_picture=self.big_picture.data,
            first_plot=self.first_plot.data,
            tags=parse_tags(self.tags.data or ""),
            difficulty=Difficulty(self.difficulty.data),
            compute=Compute(self.compute.data),
            claim_cap=self.claim_cap.data,
        )

    @classmethod
    def for_rfp(cls, rfp):
        form = cls()
        if not form.is_submitted():
            form.title.data = rfp.title
            form.summary.data = rfp.summary
            form.claim_cap.data = rfp.claim_cap
            form.big_picture.data = rfp.big_picture_md
            form.first_plot.data = rfp.first_plot_md
            form.tags.data = ", ".join(tag.name for tag in rfp.tags)
            form.difficulty.data = rfp.difficulty.value
            form.compute.data = rfp.compute.value
        return form
