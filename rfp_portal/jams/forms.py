from wtforms import (
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from rfp_portal.forms import BaseForm, http_url, small_integer, visible_text
from rfp_portal.forms.schedule import (
    duration_field,
    join_url_field,
    starts_at_field,
    timezone_field,
)
from rfp_portal.models.jam import (
    DECLINE_REASON_MAX,
    JAM_DESCRIPTION_MAX,
    JAM_TITLE_MAX,
    SLOT_LINE_MAX,
    SLOT_TITLE_MAX,
    URL_MAX,
    SlotKind,
)


class JamForm(BaseForm):
    number = IntegerField(
        "Number",
        validators=[
            InputRequired("Give the Jam a number."),
            small_integer,
            NumberRange(min=1, max=100_000),
        ],
        description="Research Jams are numbered #1, #2, …; the next free number is suggested.",
    )
    title = StringField(
        "Title",
        validators=[
            DataRequired("Give the Jam a title."),
            Length(max=JAM_TITLE_MAX),
            visible_text,
        ],
        default="Open Collab Research Jam",
    )
    starts_at = starts_at_field("2021-08-04 16:00")
    timezone = timezone_field()
    duration_minutes = duration_field(default=90)
    offers_close = DateTimeLocalField(
        "Offers of agenda slots close at",
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
        description=(
            "Members offer to present an RFP or a small update until then (a wall-clock time "
            "in the Jam's time zone). Leave it empty to take offers until the Jam begins."
        ),
    )
    join_url = join_url_field()
    description = TextAreaField(
        "Description",
        validators=[Optional(), Length(max=JAM_DESCRIPTION_MAX)],
        description="Markdown works.",
    )


class SlotOfferForm(BaseForm):
    """A member offers a slot on a Jam's agenda."""

    kind = RadioField(
        "What will you bring?",
        choices=[
            SelectChoice(SlotKind.RFP.value, "Present an RFP of mine"),
            SelectChoice(SlotKind.UPDATE.value, "A small update on what I'm working on"),
        ],
        default=SlotKind.UPDATE.value,
        validators=[InputRequired("Choose an RFP or a small update.")],
    )
    rfp = SelectField(
        "RFP to present",
        coerce=int,
        validate_choice=False,  # the service says why another's RFP cannot be offered
        validators=[
            Optional(),
            NumberRange(min=1, max=2**31 - 1, message="Choose one of your RFPs."),
        ],
        description="One of your RFPs; a draft is fine (its title stays private until published).",
    )
    title = StringField(
        "Title of your update", validators=[Length(max=SLOT_TITLE_MAX), visible_text]
    )
    line = StringField(
        "In a line, what it is about", validators=[Length(max=SLOT_LINE_MAX), visible_text]
    )
    link_url = StringField(
        "Link (optional)",
        validators=[Optional(), Length(max=URL_MAX), http_url],
        description="A repository, a paper or a notebook, starting with https://.",
    )
    minutes = IntegerField(
        "Minutes you need",
        default=10,
        validators=[
            InputRequired("How many minutes do you need?"),
            small_integer,
            NumberRange(min=1, message="Ask for at least one minute."),
        ],
    )

    def rfp_choices(self, rfps) -> None:
        self.rfp.choices = [
            SelectChoice(rfp.id, f"{rfp.title} (draft)" if rfp.is_draft else rfp.title)
            for rfp in rfps
        ]


class SlotDeclineForm(BaseForm):
    reason = StringField(
        "Reason",
        validators=[
            DataRequired("Say why, so the person who offered it knows."),
            Length(max=DECLINE_REASON_MAX),
            visible_text,
        ],
        description="The person who offered it reads this.",
    )


class SlotTimeForm(BaseForm):
    start = TimeField(
        "Starts at",
        validators=[InputRequired("Enter the time it starts, e.g. 16:20.")],
        description="In the Jam's time zone.",
    )


class SlotMaterialsForm(BaseForm):
    slides_url = StringField(
        "Slides (link)", validators=[Optional(), Length(max=URL_MAX), http_url]
    )
    recording_url = StringField(
        "Recording (link)", validators=[Optional(), Length(max=URL_MAX), http_url]
    )
