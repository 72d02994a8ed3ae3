from wtforms import BooleanField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from rfp_portal.forms import BaseForm, small_integer, visible_text
from rfp_portal.models import Compute, Difficulty
from rfp_portal.models.rfp import BODY_MAX, SUMMARY_MAX, TITLE_MAX
from rfp_portal.services.rfps import NEEDS_A_PLOT, RfpDraft, parse_tags

MARKDOWN_HINT = "Markdown: **bold**, [links](https://…), lists, `code`, and math as $x^2$ or $$…$$."


class RfpForm(BaseForm):
    title = StringField(
        "Title",
        validators=[
            DataRequired("Give your RFP a title."),
            Length(max=TITLE_MAX, message=f"A title can be at most {TITLE_MAX} characters."),
            visible_text,
        ],
        description="The question in a few words.",
    )
    summary = StringField(
        "One-line summary",
        validators=[
            Length(
                max=SUMMARY_MAX, message=f"The summary can be at most {SUMMARY_MAX} characters."
            ),
        ],
        description="What the plot would tell us, in one sentence.",
    )
    big_picture = TextAreaField(
        "The big picture",
        validators=[
            Length(max=BODY_MAX, message=f"This can be at most {BODY_MAX:,} characters."),
        ],
        description="The question, why it matters, pointers to papers. " + MARKDOWN_HINT,
    )
    first_plot = TextAreaField(
        "The first plot",
        validators=[
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

    no_plot_yet = BooleanField(
        "No plot yet",
        description="Publish without an example or a sketch; you can add one later.",
    )
    # Which button was pressed: an Enter in a text box presses the first, "Save as draft".
    save_draft = SubmitField("Save as draft")
    preview = SubmitField("Preview")
    publish = SubmitField("Publish RFP")

    # What a published RFP must say; a draft may leave these empty until it is published.
    NEEDED_TO_PUBLISH = {
        "summary": "Add a one-line summary.",
        "big_picture": "Describe the big picture: the question and why it matters.",
        "first_plot": "Describe the first plot you wish existed.",
    }

    @property
    def keeps_a_draft(self) -> bool:
        """The person saves (or previews) without publishing: text may still be missing."""
        return bool(self.save_draft.data or self.preview.data)

    def validate(
        self, extra_validators=None, *, published: bool = False, has_plots: bool = False
    ) -> bool:
        """Check every field at once, so one submit reports every problem: to publish, the
        text a published RFP needs and a plot (``has_plots``) or the author's “No plot yet”.

        :param published: the RFP is already published, so its text must stay complete.
        """
        ok = super().validate(extra_validators)
        publishing = not published and not self.keeps_a_draft and bool(self.publish.data)
        if publishing and not has_plots and not self.no_plot_yet.data:
            self.no_plot_yet.errors = [
                *self.no_plot_yet.errors,
                f"Before it is published, this RFP needs {NEEDS_A_PLOT}. Save it as a draft "
                "to add one first.",
            ]
            ok = False
        if published or not self.keeps_a_draft:
            for name, message in self.NEEDED_TO_PUBLISH.items():
                field = self[name]
                if not (field.data or "").strip() and not field.errors:
                    field.errors = [*field.errors, message]
                    ok = False
        together = len(self.big_picture.data or "") + len(self.first_plot.data or "")
        if together > BODY_MAX:
            self.first_plot.errors = [
                *self.first_plot.errors,
                f"The big picture and the first plot can be at most {BODY_MAX:,} characters "
                f"together; you have {together:,}.",
            ]
            ok = False
        return ok

    def to_draft(self) -> RfpDraft:
        """The typed draft for the services.

        :raise DomainError: when the tags are not valid.
        """
        return RfpDraft(
            title=self.title.data,
            summary=self.summary.data or "",
            big_picture=self.big_picture.data or "",
            first_plot=self.first_plot.data or "",
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
