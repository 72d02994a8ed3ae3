"""The fields of anything on the calendar (a Research Jam, an event of another series): when it
starts, in which zone, for how long, and where to join. Each is made by a function so that a
form's fields keep the order they are written in (WTForms orders fields as they are created)."""

from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from rfp_portal.forms import http_url, small_integer
from rfp_portal.models.jam import URL_MAX
from rfp_portal.models.schedule import COMMUNITY_ZONE

# The time zones a Jam or an event is announced in (the community's, first).
ZONES = [
    "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York", "America/Sao_Paulo",
    "UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "Africa/Lagos", "Africa/Nairobi",
    "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland",
]  # fmt: skip


def starts_at_field(example: str) -> DateTimeLocalField:
    """``example``: a start as people type it, e.g. "2021-08-04 16:00"."""
    return DateTimeLocalField(
        "Starts at",
        format="%Y-%m-%dT%H:%M",
        validators=[InputRequired(f"Enter the date and time it starts, e.g. {example}.")],
        description="The wall-clock time in the time zone below.",
    )


def timezone_field() -> SelectField:
    return SelectField(
        "Time zone",
        choices=[SelectChoice(z, z.replace("_", " ")) for z in ZONES],
        default=COMMUNITY_ZONE,
    )


def duration_field(default: int) -> IntegerField:
    return IntegerField(
        "Duration in minutes",
        default=default,
        validators=[InputRequired("How long is it?"), small_integer, NumberRange(min=10, max=720)],
    )


def join_url_field() -> StringField:
    return StringField(
        "Where to join (link)",
        validators=[Optional(), Length(max=URL_MAX), http_url],
        description="The video call or event page, starting with https://.",
    )
