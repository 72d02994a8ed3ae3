from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from rfp_portal.forms import BaseForm, http_url, small_integer, visible_text
from rfp_portal.models.jam import COMMUNITY_ZONE, JAM_DESCRIPTION_MAX, JAM_TITLE_MAX, URL_MAX

ZONES = [
    "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York", "America/Sao_Paulo",
    "UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "Africa/Lagos", "Africa/Nairobi",
    "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland",
]  # fmt: skip


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
    starts_at = DateTimeLocalField(
        "Starts at",
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired("Enter the date and time it starts, e.g. 2021-08-04 16:00.")],
        description="The wall-clock time in the time zone below.",
    )
    timezone = SelectField(
        "Time zone",
        choices=[SelectChoice(z, z.replace("_", " ")) for z in ZONES],
        default=COMMUNITY_ZONE,
    )
    duration_minutes = IntegerField(
        "Duration in minutes",
        default=90,
        validators=[InputRequired("How long is it?"), small_integer, NumberRange(min=10, max=720)],
    )
    join_url = StringField(
        "Where to join (link)",
        validators=[Optional(), Length(max=URL_MAX), http_url],
        description="The video call or event page, starting with https://.",
    )
    description = TextAreaField(
        "Description",
        validators=[Optional(), Length(max=JAM_DESCRIPTION_MAX)],
        description="Markdown works.",
    )
