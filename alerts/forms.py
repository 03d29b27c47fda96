"""Admin forms: every field checked against the metric source and the other fields."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.template import TemplateSyntaxError
from django.utils import timezone

from alerts import sources
from alerts.messages import validate_template
from alerts.models import Channel, MaintenanceWindow, NoData, Rule, Silence
from alerts.models.channels import masked, new_secret
from alerts.models.silences import WEEKDAYS
from alerts.transports import transport_class


def parse_pairs(text: str) -> dict[str, str]:
    """`name=value, name=value` (commas or new lines) → dict; ValidationError when malformed."""
    pairs = {}
    for chunk in text.replace("\n", ",").split(","):
        chunk = chunk.strip()
        if not chunk:
            continue
        name, sep, value = chunk.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise ValidationError(f"“{chunk}” is not name=value.")
        if name in pairs:
            raise ValidationError(f"{name} is given twice.")
        pairs[name] = value
    return pairs


def format_pairs(pairs: dict | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (pairs or {}).items())


class PairsField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return format_pairs(value) if isinstance(value, dict) else value

    def to_python(self, value):
        return parse_pairs(super().to_python(value) or "")


class NamesField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        names = [n.strip() for n in (super().to_python(value) or "").split(",") if n.strip()]
        if len(set(names)) != len(names):
            raise ValidationError("A label is given twice.")
        return names


def source_choices(current: str | None = None) -> list[tuple[str, str]]:
    choices = [(s.key, f"{s.label} ({s.key})") for s in sources.all_sources()]
    if current and current not in dict(choices):
        choices.append((current, f"{current} (source unavailable)"))
    return [("", "---------"), *choices]


def aggregation_choices(current: str | None = None) -> list[tuple[str, str]]:
    names = sorted({a for s in sources.all_sources() for a in s.aggregations} | {current or ""})
    return [(n, n) for n in names if n]


def no_data_choices(source_key: str | None = None) -> list[tuple[str, str]]:
    """The no-data policies; the source default names what it is for a saved rule's source."""
    choices = list(NoData.choices)
    try:
        default = sources.get_source(source_key or "").no_data
    except sources.SourceError:
        return choices
    choices[0] = ("", f"{NoData.SOURCE_DEFAULT.label}: {NoData(default).label.lower()}")
    return choices


def no_data_help() -> str:
    defaults = "; ".join(
        f"{s.label}: {NoData(s.no_data).label.lower()}" for s in sources.all_sources()
    )
    return (
        "What the rule does when its source answers nothing for a label set (a route "
        "without traffic, a host that stopped reporting). Source defaults: "
        f"{defaults}."
    )


class RuleForm(forms.ModelForm):
    runbook_url = forms.URLField(
        label="Runbook link", required=False, max_length=500, assume_scheme="https"
    )
    filters = PairsField(
        label="Filters and parameters",
        help_text="name=value, separated by commas: e.g. vital=LCP, route=/api/orders/",
    )
    group_by = NamesField(
        label="Split by",
        help_text="Labels, separated by commas: one alert per value, e.g. route, method. "
        "Empty: one alert for the whole metric.",
    )

    class Meta:
        model = Rule
        fields = [
            "name",
            "enabled",
            "severity",
            "description",
            "runbook_url",
            "source",
            "aggregation",
            "filters",
            "group_by",
            "window_minutes",
            "operator",
            "threshold",
            "resolve_threshold",
            "for_minutes",
            "no_data",
            "channels",
            "repeat_minutes",
            "escalate_after_minutes",
            "escalation_channels",
            "message",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "message": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A saved rule keeps its source even while no app provides it.
        saved = self.instance if self.instance.pk else Rule()
        self.fields["source"] = forms.ChoiceField(
            choices=source_choices(saved.source),
            help_text="What the rule watches; see the sources below.",
        )
        self.fields["aggregation"] = forms.ChoiceField(
            choices=aggregation_choices(saved.aggregation)
        )
        if "no_data" in self.fields:  # not on a view-only page, where it is read-only
            self.fields["no_data"].choices = no_data_choices(saved.source)
            self.fields["no_data"].help_text = no_data_help()

    def clean(self):
        data = super().clean()
        self._check_source(data)
        self._check_thresholds(data)
        if data.get("enabled") and not data.get("channels"):
            self.add_error(
                "channels", "An enabled rule needs a channel: pick one or leave it disabled."
            )
        if data.get("escalate_after_minutes") and not data.get("escalation_channels"):
            self.add_error("escalation_channels", "Escalation needs channels to escalate to.")
        if data.get("message"):
            try:
                validate_template(data["message"])
            except TemplateSyntaxError as exc:
                self.add_error("message", f"The template does not parse: {exc}")
        return data

    def _check_source(self, data) -> None:
        needed = ("source", "aggregation", "window_minutes")
        if any(data.get(name) in (None, "") for name in needed):
            return
        try:
            source = sources.get_source(data["source"])
        except sources.SourceError:
            # Kept (the app providing it may come later) but never evaluated.
            self.source_unavailable = True
            return
        rule = Rule(**{k: data.get(k) for k in ("aggregation", "window_minutes")})
        rule.filters, rule.group_by = data.get("filters") or {}, data.get("group_by") or []
        try:
            source.validate(rule.query())
        except sources.SourceError as exc:
            field = _field_for(str(exc))
            self.add_error(field, str(exc))

    def _check_thresholds(self, data) -> None:
        operator, threshold = data.get("operator"), data.get("threshold")
        resolve = data.get("resolve_threshold")
        if resolve is None or threshold is None or not operator:
            return
        if operator in ("gt", "ge") and resolve > threshold:
            self.add_error(
                "resolve_threshold",
                "For > and ≥ the resolve threshold must not exceed the threshold.",
            )
        if operator in ("lt", "le") and resolve < threshold:
            self.add_error(
                "resolve_threshold",
                "For < and ≤ the resolve threshold must not be below the threshold.",
            )


def _field_for(message: str) -> str:
    if "aggregation" in message:
        return "aggregation"
    if "split" in message:
        return "group_by"
    if "window" in message:
        return "window_minutes"
    return "filters"


class ChannelForm(forms.ModelForm):
    """Secrets are write-only: typed or rotated here, never shown again (only their end).

    A webhook's signing secret and a Slack URL (which is the Slack credential) left
    empty on edit keep their current value.
    """

    new_secret = forms.CharField(
        label="Signing secret",
        required=False,
        min_length=16,
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Webhook: type a secret to set it (at least 16 characters), or leave empty "
        "to generate one. The admin never shows it again.",
    )
    rotate_secret = forms.BooleanField(
        label="Rotate the secret",
        required=False,
        help_text="Replace the secret with a new random one (never shown: for receivers "
        "that read it from here, like the built-in one; otherwise type the new secret).",
    )

    class Meta:
        model = Channel
        fields = ["name", "kind", "target", "payload_format", "enabled"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        saved = self.instance
        # A view-only user's form has neither field: the admin shows them masked.
        if saved.pk and saved.target_is_secret and "target" in self.fields:
            self.initial["target"] = ""
            target = self.fields["target"]
            target.required = False
            target.help_text = (
                f"Set: {saved.target_shown}. Leave empty to keep it, or enter a new one."
            )
        if saved.pk and saved.secret and "new_secret" in self.fields:
            self.fields["new_secret"].help_text = (
                f"Set: {masked(saved.secret)}. Leave empty to keep it, or type a new one "
                "(at least 16 characters)."
            )

    def clean(self):
        data = super().clean()
        kind, target = data.get("kind"), data.get("target")
        saved = self.instance
        if kind and not target and "target" not in self.errors:
            if saved.pk and saved.target_is_secret and kind == saved.kind:
                data["target"] = saved.target  # kept as it is
            else:
                self.add_error("target", "This field is required.")
        elif kind and target:
            try:
                data["target"] = transport_class(kind).clean_target(target)
            except ValidationError as exc:
                self.add_error("target", exc)
        if data.get("new_secret") and data.get("rotate_secret"):
            self.add_error("rotate_secret", "Either type a new secret or rotate, not both.")
        return data

    def save(self, commit=True):
        channel = super().save(commit=False)
        if self.cleaned_data.get("new_secret"):
            channel.secret = self.cleaned_data["new_secret"]
        elif self.cleaned_data.get("rotate_secret"):
            channel.secret = new_secret()
        if commit:
            channel.save()
            self.save_m2m()
        return channel


class SilenceForm(forms.ModelForm):
    labels = PairsField(help_text="name=value, separated by commas (empty: any labels).")

    class Meta:
        model = Silence
        fields = ["rule", "severity", "labels", "starts_at", "ends_at", "comment"]
        widgets = {"comment": forms.Textarea(attrs={"rows": 2})}

    def clean(self):
        data = super().clean()
        if data.get("ends_at") and data["ends_at"] <= timezone.now() and not self.instance.pk:
            self.add_error("ends_at", "This silence would already be over.")
        return data


class MaintenanceWindowForm(forms.ModelForm):
    labels = PairsField(help_text="name=value, separated by commas (empty: any labels).")
    weekdays = forms.TypedMultipleChoiceField(
        choices=list(enumerate(WEEKDAYS)), coerce=int, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = MaintenanceWindow
        fields = [
            "name",
            "rule",
            "severity",
            "labels",
            "weekdays",
            "start_time",
            "end_time",
            "time_zone",
            "enabled",
            "comment",
        ]
        widgets = {"comment": forms.Textarea(attrs={"rows": 2})}
