"""The audit list's filters. Every value comes from the URL, so each is checked:
a value that is not understood is a field error, never a server error."""

import datetime as dt

from auditlog.registry import auditlog
from django import forms
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .chain import is_hash
from .models import AuditEntry, AuditEvent

# Large enough for any id a BigAutoField holds, small enough for every database.
MAX_ID = 2**63 - 1
# Dates outside these would overflow once turned into local midnight and back to UTC.
DATE_BOUNDS = [
    MinValueValidator(dt.date(1900, 1, 1)),
    MaxValueValidator(dt.date(9998, 12, 31)),
]


def _model_choices():
    """Models with entries: the audited ones, the user (logins), the log itself (commands)."""
    models = {*auditlog.get_models(), get_user_model(), AuditEntry}
    choices = [(m._meta.label_lower, capfirst(m._meta.verbose_name)) for m in models]
    return [("", _("Any"))] + sorted(choices, key=lambda choice: str(choice[1]))


class AuditFilterForm(forms.Form):
    actor = forms.CharField(
        label=_("Actor"),
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"placeholder": _("username or number")}),
    )
    event = forms.ChoiceField(
        label=_("Event"), required=False, choices=[("", _("Any")), *AuditEvent.choices]
    )
    action = forms.TypedChoiceField(
        label=_("Action"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Any")), *AuditEntry.Action.choices],
    )
    model = forms.ChoiceField(label=_("Record type"), required=False, choices=_model_choices)
    object_id = forms.IntegerField(
        label=_("Record number"), required=False, min_value=0, max_value=MAX_ID
    )
    date_from = forms.DateField(
        label=_("From"),
        required=False,
        validators=DATE_BOUNDS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=_("To"),
        required=False,
        validators=DATE_BOUNDS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    # Keyset pagination: entries older than this id. Not shown in the form.
    before = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, widget=forms.HiddenInput
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            small = "form-select form-select-sm" if isinstance(field.widget, forms.Select) else ""
            field.widget.attrs.setdefault("class", small or "form-control form-control-sm")

    def clean_actor(self):
        value = self.cleaned_data["actor"].strip()
        if not value:
            return None
        users = get_user_model().objects.values_list("pk", flat=True)
        # A username first: "1984" may be someone's name as well as a number.
        actor_id = users.filter(username=value).first()
        if actor_id is None and value.isdigit() and int(value) <= MAX_ID:
            actor_id = users.filter(pk=int(value)).first()
        if actor_id is None:
            raise forms.ValidationError(_("No user has this username or number."))
        return actor_id

    def clean_model(self):
        value = self.cleaned_data["model"]
        if not value:
            return None
        return ContentType.objects.get_for_model(apps.get_model(value))

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date comes before the start date."))
        return cleaned

    def filter(self, entries):
        """``entries`` narrowed to the cleaned filters; call only when the form is valid."""
        data = self.cleaned_data
        if data["actor"] is not None:
            entries = entries.filter(actor_id=data["actor"])
        if data["event"]:
            entries = entries.filter(event=data["event"])
        if data["action"] is not None:
            entries = entries.filter(action=data["action"])
        if data["model"] is not None:
            entries = entries.filter(content_type=data["model"])
        if data["object_id"] is not None:
            entries = entries.filter(object_id=data["object_id"])
        if data["date_from"]:
            entries = entries.filter(timestamp__gte=_local_midnight(data["date_from"]))
        if data["date_to"]:
            # The whole of the last day, in local time.
            next_day = data["date_to"] + dt.timedelta(days=1)
            entries = entries.filter(timestamp__lt=_local_midnight(next_day))
        if data["before"] is not None:
            entries = entries.filter(id__lt=data["before"])
        return entries

    @property
    def is_filtered(self) -> bool:
        return any(self.data.get(name) for name in self.fields if name != "before")


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class VerifyForm(forms.Form):
    expect_head = forms.CharField(
        label=_("Head hash kept outside the database"),
        required=False,
        max_length=64,
        help_text=_("Optional: a head hash printed earlier; it must still be in the chain."),
        widget=forms.TextInput(attrs={"class": "form-control font-monospace", "size": 66}),
    )

    def clean_expect_head(self):
        value = self.cleaned_data["expect_head"].strip().lower()
        if value and not is_hash(value):
            raise forms.ValidationError(
                _("A head hash is the 64 characters (0-9, a-f) printed by verify_audit.")
            )
        return value or None
