from wtforms import (
    IntegerField,
    RadioField,
    StringField,
    TextAreaField,
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
from rfp_portal.models.event import (
    CONFERENCE_MAX,
    EVENT_DESCRIPTION_MAX,
    EVENT_TITLE_MAX,
    SERIES_DESCRIPTION_MAX,
    SERIES_NAME_MAX,
    SERIES_SLUG_MAX,
    URL_MAX,
    SeriesKind,
)


class SeriesForm(BaseForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Name the series."),
            Length(max=SERIES_NAME_MAX),
            visible_text,
        ],
        description="As the community says it, e.g. “MLC OpenClubHouse”.",
    )
    slug = StringField(
        "Address",
        validators=[Optional(), Length(max=SERIES_SLUG_MAX)],
        description="The last part of /events/…, e.g. “openclubhouse”; made from the name if empty.",
    )
    kind = RadioField(
        "Its events are",
        choices=[
            SelectChoice(SeriesKind.NUMBERED.value, "Numbered: #1, #2, …"),
            SelectChoice(SeriesKind.NAMED.value, "Named, each at a conference (like the socials)"),
        ],
        default=SeriesKind.NUMBERED.value,
        validators=[InputRequired("Choose numbered or named.")],
    )
    description = TextAreaField(
        "Description",
        validators=[Optional(), Length(max=SERIES_DESCRIPTION_MAX)],
        description="Markdown works.",
    )


class EventForm(BaseForm):
    number = IntegerField(
        "Number",
        validators=[Optional(), small_integer, NumberRange(min=1, max=100_000)],
        description="Numbered series only; the next free number is suggested.",
    )
    title = StringField(
        "Title",
        validators=[
            DataRequired("Give the event a title."),
            Length(max=EVENT_TITLE_MAX),
            visible_text,
        ],
    )
    conference = StringField(
        "Conference",
        validators=[Optional(), Length(max=CONFERENCE_MAX), visible_text],
        description="For a conference social, e.g. “ICLR 2021”.",
    )
    link_url = StringField(
        "Conference or event page (link)",
        validators=[Optional(), Length(max=URL_MAX), http_url],
    )
    starts_at = starts_at_field("2021-08-01 10:00")
    timezone = timezone_field()
    duration_minutes = duration_field(default=60)
    join_url = join_url_field()
    description = TextAreaField(
        "Description",
        validators=[Optional(), Length(max=EVENT_DESCRIPTION_MAX)],
        description="Markdown works.",
    )
