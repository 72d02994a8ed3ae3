from flask_wtf.file import FileRequired
from wtforms import BooleanField, Form, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields import FieldList, FormField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from rfp_portal.forms import BaseForm, PlotTextMixin, UploadField
from rfp_portal.rendering.sketch import (
    KINDS,
    LABEL_MAX,
    MAX_POINTS,
    MAX_SERIES,
    NAME_MAX,
    SketchError,
    check_label,
    parse_csv,
    parse_points,
    spec_to_text,
    validate_spec,
)

POINTS_TEXT_MAX = 60_000
TOO_MUCH_DATA = f"That is too much data: a sketch can have at most {MAX_POINTS:,} points."


class ExampleForm(PlotTextMixin, BaseForm):
    refusal_field = "image"  # ImageRejected says what is wrong with the file
    image = UploadField(
        "Image file",
        validators=[FileRequired("Choose an image to upload.")],
        description="PNG, JPEG or WebP, up to 5 MB and 25 megapixels.",
        render_kw={"accept": "image/png,image/jpeg,image/webp"},
    )


class CaptionForm(PlotTextMixin, BaseForm):
    """Re-caption an uploaded plot."""


class SeriesForm(Form):
    """One named series; plain Form, since it lives inside a CSRF-protected form."""

    name = StringField("Name", validators=[Optional(), Length(max=NAME_MAX)])
    points = TextAreaField(
        "Points",
        validators=[
            Optional(),
            Length(max=POINTS_TEXT_MAX, message=TOO_MUCH_DATA),
        ],
        description="One “x, y” pair a line. For bars, x is a category name.",
    )


class SketchForm(PlotTextMixin, BaseForm):
    chart = SelectField(
        "Chart kind",
        choices=[SelectChoice(k, k.capitalize()) for k in KINDS],
        default="line",
    )
    title = StringField(
        "Title",
        validators=[
            Optional(),
            Length(max=LABEL_MAX, message=f"Keep this under {LABEL_MAX} characters."),
        ],
    )
    x_label = StringField(
        "x-axis label",
        validators=[
            Optional(),
            Length(max=LABEL_MAX, message=f"Keep this under {LABEL_MAX} characters."),
        ],
        description="Math works: $\\eta$, $10^{-3}$.",
    )
    y_label = StringField(
        "y-axis label",
        validators=[
            Optional(),
            Length(max=LABEL_MAX, message=f"Keep this under {LABEL_MAX} characters."),
        ],
    )
    x_log = BooleanField("Logarithmic x axis")
    y_log = BooleanField("Logarithmic y axis")
    hand_drawn = BooleanField("Hand-drawn look: mark this as a hypothesis", default=True)
    series = FieldList(FormField(SeriesForm), min_entries=MAX_SERIES, max_entries=MAX_SERIES)
    csv = TextAreaField(
        "…or paste CSV with a header row",
        validators=[
            Optional(),
            Length(max=POINTS_TEXT_MAX, message=TOO_MUCH_DATA),
        ],
        description="First column x, then one column per series, e.g. “epoch, train, validation”. "
        "When given, it replaces the series above.",
    )
    preview = SubmitField("Preview")
    save = SubmitField("Save the sketch")

    def validate(self, extra_validators=None) -> bool:
        """Check the fields, then what drawing needs (math that parses, points that read) in
        each label and series at once, so that one submit reports every problem, not the first.
        """
        ok = super().validate(extra_validators)
        found: list[SketchError] = []

        def check(step) -> None:
            try:
                step()
            except SketchError as error:
                found.append(error)

        for name in ("title", "x_label", "y_label"):
            if not self[name].errors:
                check(lambda name=name: check_label(self[name].data or "", name))
        kind = self.chart.data
        if (self.csv.data or "").strip():
            if not self.csv.errors:
                check(lambda: parse_csv(self.csv.data, kind=kind))
        else:
            for index, entry in enumerate(self.series.entries):
                name, points = entry.form.name, entry.form.points
                if not name.errors:
                    check(lambda n=name, i=index: check_label(n.data or "", f"series-{i}-name"))
                if (points.data or "").strip() and not points.errors:
                    check(
                        lambda p=points, i=index: parse_points(
                            p.data, kind=kind, field=f"series-{i}-points"
                        )
                    )
        if ok and not found:
            # What only the whole spec can say: a series at all, log axes above zero, …
            check(lambda: validate_spec(self.to_spec()))
        for error in found:
            self.add_sketch_error(error)
        return ok and not found

    def to_spec(self) -> dict:
        """The spec the form describes.

        :raise SketchError: when the points cannot be read.
        """
        kind = self.chart.data
        if (self.csv.data or "").strip():
            series = parse_csv(self.csv.data, kind=kind)
        else:
            series = []
            for index, entry in enumerate(self.series.entries):
                text = entry.form.points.data or ""
                if not text.strip():
                    continue
                xs, ys = parse_points(text, kind=kind, field=f"series-{index}-points")
                series.append({"name": (entry.form.name.data or "").strip(), "x": xs, "y": ys})
        return {
            "kind": kind,
            "title": (self.title.data or "").strip(),
            "x_label": (self.x_label.data or "").strip(),
            "y_label": (self.y_label.data or "").strip(),
            "x_log": self.x_log.data,
            "y_log": self.y_log.data,
            "hand_drawn": self.hand_drawn.data,
            "series": series,
        }

    def add_refusal(self, error: Exception, default_field: str | None = None) -> None:
        if isinstance(error, SketchError):
            self.add_sketch_error(error)
        else:
            super().add_refusal(error, default_field)

    def add_sketch_error(self, error: SketchError) -> None:
        """Put a SketchError beside the field it is about."""
        name = {"kind": "chart"}.get(error.field or "", error.field or "")
        if name == "series" and (self.csv.data or "").strip():
            name = "csv"  # the series came from the pasted CSV
        if name.startswith("series-"):
            _, index, sub = name.split("-")
            field = self.series.entries[int(index)].form[sub]
            field.errors = [*field.errors, error.message]
        elif name in ("series",):
            self.series.entries[0].form.points.errors = [
                *self.series.entries[0].form.points.errors,
                error.message,
            ]
        elif name and name in self:
            self[name].errors = [*self[name].errors, error.message]
        else:
            self.form_errors.append(error.message)

    def fill_from(self, plot) -> None:
        """Put a stored sketch back into the form (on GET)."""
        spec = plot.spec or {}
        self.caption.data = plot.caption
        self.alt_text.data = plot.alt_text
        self.chart.data = spec.get("kind", "line")
        for name in ("title", "x_label", "y_label"):
            self[name].data = spec.get(name, "")
        for name in ("x_log", "y_log", "hand_drawn"):
            self[name].data = bool(spec.get(name))
        for entry, (name, points) in zip(self.series.entries, spec_to_text(spec), strict=False):
            entry.form.name.data = name
            entry.form.points.data = points
