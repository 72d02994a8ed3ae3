from wtforms import RadioField, SelectMultipleField, StringField, URLField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from rfp_portal.forms import BaseForm
from rfp_portal.models import WebhookEvent, WebhookFormat
from rfp_portal.models.webhook import NAME_MAX, URL_MAX


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class WebhookForm(BaseForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Give it a name, such as “Discord #announcements”."),
            Length(max=NAME_MAX),
        ],
    )
    format = RadioField(
        "Kind",
        choices=[
            SelectChoice(WebhookFormat.DISCORD.value, "Discord (embeds in a channel)"),
            SelectChoice(WebhookFormat.JSON.value, "JSON, signed with HMAC-SHA256 (anything else)"),
        ],
        default=WebhookFormat.DISCORD.value,
    )
    url = URLField(
        "URL",
        validators=[DataRequired("Paste the webhook's URL."), Length(max=URL_MAX)],
        description="From Discord: Server settings → Integrations → Webhooks → Copy webhook URL. Must start with https://.",
    )
    events = CheckboxesField(
        "Post",
        choices=[SelectChoice(e.value, e.label) for e in WebhookEvent],
        default=[e.value for e in WebhookEvent],
    )
