"""Forms of the data-quality admin: the import upload, check thresholds, subscriptions."""

from django import forms
from django.conf import settings
from django.core.validators import validate_email

from dataquality.checks import get_check
from dataquality.models import CheckConfig, ReportSubscription


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="CSV (UTF-8; commas, semicolons or tabs) or Excel (.xlsx), one row per line item."
    )
    validate_only = forms.BooleanField(
        required=False, help_text="Show the validation report without importing anything."
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.DATAQUALITY_IMPORT_MAX_MB
        if upload.size > limit * 1024 * 1024:
            raise forms.ValidationError(
                f"The file is {upload.size / 1048576:.1f} MB; the limit is {limit} MB."
            )
        return upload


class CheckConfigForm(forms.ModelForm):
    """The check's thresholds as form fields, stored in `params`."""

    class Meta:
        model = CheckConfig
        fields = ["enabled", "severity"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.check_obj = get_check(self.instance.check_key)
        params = {**self.check_obj.defaults(), **(self.instance.params or {})}
        for param in self.check_obj.params:
            self.fields[param.name] = self._field(param, params.get(param.name))

    @staticmethod
    def _field(param, initial):
        if param.kind == "list":
            return forms.CharField(
                label=param.label, help_text=param.help, initial=", ".join(initial or [])
            )
        field_class = forms.IntegerField if param.kind == "int" else forms.FloatField
        return field_class(
            label=param.label, help_text=param.help, initial=initial, min_value=param.minimum
        )

    def clean(self):
        cleaned = super().clean()
        for param in self.check_obj.params:
            if param.kind == "list" and param.name in cleaned:
                words = [w.strip().lower() for w in cleaned[param.name].split(",") if w.strip()]
                cleaned[param.name] = words
        if self.check_obj.key == "missing_data":
            high, critical = cleaned.get("high_percent"), cleaned.get("critical_percent")
            if high is not None and critical is not None and critical < high:
                self.add_error("critical_percent", "Must be at least the high threshold.")
        return cleaned

    def save(self, commit=True):
        self.instance.params = {p.name: self.cleaned_data[p.name] for p in self.check_obj.params}
        return super().save(commit)


class SubscriptionForm(forms.ModelForm):
    class Meta:
        model = ReportSubscription
        fields = ["name", "recipients", "frequency", "entities", "active"]

    def clean_recipients(self):
        from dataquality.email_reports import parse_recipients

        addresses = parse_recipients(self.cleaned_data["recipients"])
        if not addresses:
            raise forms.ValidationError("Give at least one email address.")
        bad = []
        for address in addresses:
            try:
                validate_email(address)
            except forms.ValidationError:
                bad.append(address)
        if bad:
            raise forms.ValidationError(f"Not an email address: {', '.join(bad)}")
        return ", ".join(addresses)
