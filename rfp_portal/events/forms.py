from wtforms import (
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from rfp_portal.forms import ZONES, BaseForm, http_url, small_integer, visible_text
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
from rfp_portal.models.schedule import COMMUNITY_ZONE


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
    starts_at = DateTimeLocalField(
        "Starts at",
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired("Enter the date and time it starts, e.g. 2021-08-01 10:00.")],
        description="The wall-clock time in the time zone below.",
    )
    timezone = SelectField(
        "Time zone",
        choices=[SelectChoice(z, z.replace("_", " ")) for z in ZONES],
        default=COMMUNITY_ZONE,
    )
    duration_minutes = IntegerField(
        "Duration in minutes",
        default=60,
        validators=[InputRequired("How long is it?"), small_integer, NumberRange(min=10, max=720)],
    )
    join_url = StringField(
        "Where to join (link)",
        validators=[Optional(), Length(max=URL_MAX), http_url],
        description="The video call or event page, starting with https://.",
    )
    description = TextAreaField(
        "Description",
        validators=[Optional(), Length(max=EVENT_DESCRIPTION_MAX)],
        description="Markdown works.",
    )
