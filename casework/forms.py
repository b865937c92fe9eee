"""Forms validate; services write. Every choice list is scoped to the user."""

import json

from django import forms
from django.db import connection, models
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from . import editing
from .filters import caseworkers_visible_to
from .models import (
    NO_DERIVABLE_LIMIT,
    AccusedCharge,
    BailRequest,
    Case,
    CaseStatus,
    Charge,
    Court,
    CustodyStatus,
    Detainee,
    DetentionLimit,
    Event,
    Hearing,
    Lawyer,
    Province,
    Representation,
    Sex,
)
from .services import (
    STATUS_SUGGESTED_BY_EVENT,
    STATUS_SUGGESTED_BY_HEARING,
    merge_problem,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


CONFLICT_MESSAGE = _(
    "Someone else changed this record while you were editing it: nothing was saved yet. "
    "Choose, for each field you both changed, which value to keep, then save."
)


class MergingForm(forms.ModelForm):
    """An edit form that never overwrites what its editor did not change.

    It carries the values it was opened with (``base``, signed); the service merges
    three ways (casework/editing.py). When someone else changed a field this edit
    changes too, the form is shown again with their value beside the user's, and the
    user chooses which to keep; fields only they changed are shown as stored. It needs
    no version column: the base is what the comparison starts from. The admin gives it
    to every record it edits (``admin.ServiceAdmin``); ``VersionedForm`` adds the
    version of the records that have one.
    """

    base = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.conflict = None
        if self.instance.pk and not self.is_bound:
            self.initial["base"] = editing.sign_base(
                editing.snapshot(self.instance, self.merge_fields)
            )

    @property
    def merge_fields(self) -> list[str]:
        names = {f.name for f in self.instance._meta.get_fields() if f.concrete} - {"version"}
        return [name for name in self.fields if name in names]

    def clean(self):
        data = super().clean()
        if not self.instance.pk:
            return data
        self.base = editing.unsign_base(data.get("base"))
        if self.base is None:
            # Without what the form started from we cannot tell whose change is whose.
            self.add_error(
                None,
                _(
                    "This form is out of date or incomplete. Reload the page and make your "
                    "change again."
                ),
            )
            return data
        for name in self.data.getlist(self.add_prefix("conflict")):
            if name not in self.fields:
                continue
            choice = self.data.get(self.add_prefix(f"keep-{name}"))
            if choice == "theirs":
                # Their value as stored: the record was read afresh for this request.
                field = self.instance._meta.get_field(name)
                stored = getattr(self.instance, name)
                data[name] = list(stored.all()) if field.many_to_many else stored
            elif choice != "mine":
                self.add_error(name, _("Choose which value to keep: theirs or yours."))
        return data

    def _post_clean(self):
        super()._post_clean()
        if not self.instance.pk or getattr(self, "base", None) is None or self.errors:
            return
        # The same comparison the service makes under its lock, made here so a conflict
        # is shown with the form (in the admin too, whose save runs in this transaction).
        rows = type(self.instance)._default_manager
        if connection.in_atomic_block:
            rows = rows.select_for_update()
        fields = [f for f in self.merge_fields if f not in self.m2m_values()]
        try:
            current = rows.get(pk=self.instance.pk)
            editing.check(self.instance, current, self.base, fields, self.m2m_values())
        except editing.ConflictError as exc:
            self.show_conflict(exc)
            self.add_error(None, CONFLICT_MESSAGE)

    def m2m_values(self) -> dict:
        return {
            name: list(self.cleaned_data[name])
            for name in self.merge_fields
            if self.instance._meta.get_field(name).many_to_many and name in self.cleaned_data
        }

    def show_conflict(self, exc: editing.ConflictError):
        """Show the form again, based on what is stored now: fields only someone else
        changed show their value (so saving again keeps it), fields both changed keep
        what the user typed, with theirs beside it to choose from."""
        self.conflict = exc
        current = exc.current
        data = self.data.copy()
        for name in exc.merge.theirs - exc.merge.conflicts:
            if name in self.fields:
                self._put(data, name, current)
        data[self.add_prefix("base")] = editing.sign_base(
            editing.snapshot(current, self.merge_fields)
        )
        if "version" in self.fields:
            data[self.add_prefix("version")] = str(current.version)
        for key in [k for k in data if k.startswith(self.add_prefix("keep-"))]:
            del data[key]
        data.setlist(self.add_prefix("conflict"), sorted(exc.merge.conflicts))
        self.data = data
        self.conflict_rows = [
            {
                "name": change.name,
                "label": change.label,
                "theirs": change.theirs,
                "yours": self._typed(change.name),
                "input_name": self.add_prefix(f"keep-{change.name}"),
                "conflict_name": self.add_prefix("conflict"),
            }
            for change in exc.changes
            if change.conflict
        ]
        self.other_changes = [change for change in exc.changes if not change.conflict]

    def _put(self, data, name, instance):
        field, key = self.fields[name], self.add_prefix(name)
        value = forms.model_to_dict(instance, fields=[name]).get(name)
        if isinstance(field.widget, forms.CheckboxInput):
            if value:
                data[key] = "on"
            else:
                data.pop(key, None)
            return
        prepared = field.prepare_value(value)
        if isinstance(field, forms.ModelMultipleChoiceField | forms.MultipleChoiceField):
            data.setlist(key, [str(v) for v in prepared or []])
            return
        shown = field.widget.format_value(prepared)
        if isinstance(shown, list):
            shown = shown[0] if shown else ""
        data[key] = "" if shown is None else str(shown)

    def _typed(self, name) -> str:
        value = self.cleaned_data.get(name) if hasattr(self, "cleaned_data") else None
        if value is None or value == "":
            return "—"
        if isinstance(value, models.QuerySet | list):
            return ", ".join(str(v) for v in value) or "—"
        field = self.fields[name]
        if getattr(field, "choices", None) and not isinstance(field, forms.ModelChoiceField):
            return str(dict(field.choices).get(value, value))
        return str(value)


class VersionedForm(MergingForm):
    """The edit form of a record with a version (case, person, hearing, bail request):
    the version travels with the base, and the service counts the save."""

    # As the model's PositiveIntegerField holds on every database: a bigger number sent
    # by hand is a form error, not an overflow in the version check.
    version = forms.IntegerField(
        widget=forms.HiddenInput, required=False, min_value=0, max_value=2**31 - 1
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["version"] = self.instance.version

    @property
    def expected_version(self) -> int | None:
        return self.cleaned_data.get("version")


class CaseForm(VersionedForm):
    class Meta:
        model = Case
        fields = [
            "reference",
            "court_case_number",
            "title",
            "province",
            "court",
            "status",
            "charges",
            "opened_on",
            "summary",
            "sources",
        ]
        widgets = {"opened_on": DATE, "charges": forms.CheckboxSelectMultiple}
        labels = {"charges": _("Charges (everyone in the case)")}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if self.instance.pk:
            # A case's status changes with a dated entry on its timeline (the status form).
            del self.fields["status"]
        else:
            self.fields["status"].required = False
            self.fields["charges"].help_text = _(
                "Everyone accused in the case is charged with these."
            )
        provinces = Province.objects.all()
        if not user.is_admin:
            provinces = provinces.filter(pk__in=user.provinces.values("pk"))
            if self.instance.pk:
                provinces = provinces | Province.objects.filter(pk=self.instance.province_id)
        self.fields["province"].queryset = provinces
        self.fields["court"].queryset = Court.objects.select_related("province")
        self.fields["charges"].queryset = Charge.objects.all()
        self.fields["charges"].required = False

    def clean_status(self):
        return self.cleaned_data.get("status") or CaseStatus.SUMMONED


class NewPersonForm(forms.ModelForm):
    """The person accused, when they are not on file yet."""

    prefix = "person"

    class Meta:
        model = Detainee
        fields = [
            "name_latin",
            "name_khmer",
            "aliases",
            "sex",
            "birth_year",
            "home_province",
            "affiliation",
            "former_role",
            "occupation",
        ]
        widgets = {"aliases": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Every field is optional here: the case may concern only people already on file.
        for field in self.fields.values():
            field.required = False

    def clean_sex(self):
        return self.cleaned_data.get("sex") or Sex.UNKNOWN

    def has_person(self) -> bool:
        return bool(self.cleaned_data.get("name_latin") or self.cleaned_data.get("name_khmer"))


class OpenCaseExtrasForm(forms.Form):
    existing = forms.ModelMultipleChoiceField(
        queryset=Detainee.objects.none(),
        required=False,
        label=_("People already on file"),
        help_text=_("Choose people your cases already follow, or enter a new person below."),
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )
    custody_status = forms.ChoiceField(
        choices=CustodyStatus.choices,
        initial=CustodyStatus.AT_LIBERTY,
        label=_("Custody status now"),
    )
    confirm_new = forms.BooleanField(
        required=False,
        label=_("This is a different person: create a new record anyway"),
    )
    # Set once the form has said that a possible match is on file elsewhere: the next
    # save goes on (the pair goes to the admins' review queue).
    seen_elsewhere = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["existing"].queryset = Detainee.objects.visible_to(user)


def likely_duplicates(user, person: Detainee, limit: int = 5):
    """People in the user's scope who may be the same as ``person``
    (``DetaineeQuerySet.likely_same_as``: either script, aliases, spellings)."""
    return (
        Detainee.objects.visible_to(user)
        .likely_same_as(person)
        .select_related("home_province")[:limit]
    )


def has_match_elsewhere(user, person: Detainee) -> bool:
    """Whether a likely match is on file outside the user's scope. Only that is ever
    said to the user (POSSIBLE_MATCH_ELSEWHERE): no name, no province, no number."""
    return Detainee.objects.elsewhere_for(user).likely_same_as(person).exists()


POSSIBLE_MATCH_ELSEWHERE = _(
    "A possible match for this person is on file elsewhere. A coordinator or admin will review it."
)


class DetaineeForm(VersionedForm):
    class Meta:
        model = Detainee
        fields = [
            "name_latin",
            "name_khmer",
            "aliases",
            "sex",
            "birth_year",
            "birth_date",
            "home_province",
            "affiliation",
            "former_role",
            "occupation",
            "place_held",
            "family_contact",
            "whereabouts",
            "notes",
        ]
        widgets = {
            "birth_date": DATE,
            "aliases": forms.Textarea(attrs={"rows": 2}),
            "family_contact": forms.Textarea(attrs={"rows": 2}),
            "whereabouts": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, show_sensitive: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not show_sensitive:
            for name in Detainee.SENSITIVE_FIELDS:
                del self.fields[name]


def case_status_field(case: Case, suggestions: dict) -> forms.ChoiceField:
    """"What is the case's status now?", offered with an entry: the status the entry's kind
    suggests is pre-selected (static/js/status-suggest.js); keeping it is one choice."""
    keep = _("Keep: %(status)s") % {"status": case.get_status_display()}
    field = forms.ChoiceField(
        choices=[("", keep), *CaseStatus.choices],
        required=False,
        label=_("Case status now"),
        help_text=_("Suggested from what you record; choose “Keep” to leave it as it is."),
    )
    field.widget.attrs["data-status-suggestions"] = json.dumps(
        {str(kind): str(status) for kind, status in suggestions.items()}
    )
    field.widget.attrs["data-current-status"] = case.status
    return field


def suggested_status(case: Case, kind, suggestions: dict) -> str:
    status = suggestions.get(kind)
    return "" if status is None or status == case.status else str(status)


class HearingForm(VersionedForm):
    class Meta:
        model = Hearing
        fields = [
            "kind",
            "scheduled_at",
            "court",
            "accused",
            "status",
            "lawyer",
            "monitor",
            "outcome",
            "notes",
        ]
        widgets = {
            "accused": forms.CheckboxSelectMultiple,
            "scheduled_at": DATETIME,
            "outcome": forms.Textarea(attrs={"rows": 3}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, user, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["court"].queryset = Court.objects.all()
        self.fields["lawyer"].queryset = Lawyer.objects.visible_to(user)
        from accounts.models import User

        self.fields["monitor"].queryset = User.objects.filter(is_active=True).filter(
            pk__in=caseworkers_visible_to(user).values("pk")
        ) | User.objects.filter(pk=user.pk)
        self.fields["scheduled_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        self.fields["accused"].queryset = case.accused.select_related("detainee")
        self.fields["accused"].label_from_instance = lambda a: str(a.detainee)
        self.fields["case_status"] = case_status_field(case, STATUS_SUGGESTED_BY_HEARING)
        if not self.instance.pk:
            self.initial.setdefault("court", case.court_id)
            self.initial.setdefault("monitor", user.pk)


class BailRequestForm(forms.ModelForm):
    class Meta:
        model = BailRequest
        fields = ["accused", "filed_on", "court", "filed_by", "appeal_of", "grounds"]
        widgets = {"filed_on": DATE, "grounds": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, user, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accused"].queryset = case.accused.select_related("detainee")
        self.fields["accused"].label_from_instance = lambda a: str(a.detainee)
        self.fields["court"].queryset = Court.objects.all()
        self.fields["filed_by"].queryset = Lawyer.objects.visible_to(user)
        self.fields["appeal_of"].queryset = (
            BailRequest.objects.filter(case=case)
            .exclude(decision=BailRequest.Decision.PENDING)
            .select_related("accused__detainee")
        )
        self.fields["appeal_of"].label_from_instance = lambda b: (
            f"{b.accused.detainee.name_latin}: {b.filed_on} {b.get_decision_display()}"
        )
        self.initial.setdefault("court", case.court_id)
        self.initial.setdefault("filed_on", timezone.localdate())


class BailDecisionForm(VersionedForm):
    class Meta:
        model = BailRequest
        fields = ["decision", "decided_on", "reasons", "conditions"]
        widgets = {
            "decided_on": DATE,
            "reasons": forms.Textarea(attrs={"rows": 3}),
            "conditions": forms.Textarea(attrs={"rows": 2}),
        }

    def clean(self):
        data = super().clean()
        if data.get("decision") == BailRequest.Decision.PENDING:
            data["decided_on"] = None  # a date left in the field of a decision undone
        return data

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.grounds:
            # The filing stays as filed; shown here for reference only.
            self.fields["reasons"].help_text = _("Grounds given at filing: %(grounds)s") % {
                "grounds": self.instance.grounds
            }


def limit_label(limit: DetentionLimit) -> str:
    """The limit as a choice reads: name, article and ceiling."""
    return _("%(name)s (%(article)s, %(maximum)s)") % {
        "name": limit.name,
        "article": limit.article or "—",
        "maximum": limit.maximum_display,
    }


class EventForm(forms.ModelForm):
    limit = forms.ModelChoiceField(
        queryset=DetentionLimit.objects.all(),
        required=False,
        label=_("Legal limit that applies"),
        help_text=_("For an arrest or a detention order: which clock starts."),
    )
    place_held = forms.CharField(required=False, label=_("Where held"), max_length=200)

    class Meta:
        model = Event
        fields = [
            "kind",
            "accused",
            "occurred_on",
            "occurred_time",
            "place",
            "description",
            "source",
            "source_detail",
            "verified",
            "stated_cause",
            "examination",
        ]
        widgets = {
            "occurred_on": DATE,
            "occurred_time": TIME,
            "description": forms.Textarea(attrs={"rows": 3}),
            "stated_cause": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.case = case
        self.fields["kind"].choices = [
            c for c in Event.Kind.choices if c[0] != Event.Kind.STATUS_CHANGED
        ]
        accused = list(case.accused.select_related("detainee"))
        self.fields["accused"].queryset = case.accused.select_related("detainee")
        self.fields["accused"].label_from_instance = lambda a: str(a.detainee)
        self.fields["case_status"] = case_status_field(case, STATUS_SUGGESTED_BY_EVENT)
        self.fields["occurred_time"].input_formats = ["%H:%M", "%H:%M:%S"]
        self.fields["examination"].choices = [("", _("Not known")), *Event.Examination.choices]
        self.fields["examination"].help_text = _(
            "For a death in custody, with the cause the authorities gave. Leave empty when "
            "not known."
        )
        self.fields["limit"].label_from_instance = limit_label
        self.fields["limit"].help_text = self._derived_help(case, accused)
        self.initial.setdefault("occurred_on", timezone.localdate())
        kind = self.initial.get("kind")
        if kind:
            self.initial.setdefault(
                "case_status", suggested_status(case, kind, STATUS_SUGGESTED_BY_EVENT)
            )

    def _derived_help(self, case: Case, accused: list) -> str:
        """Shown before saving: the limit a detention order gets for each accused when
        this field is left empty (the one derivation, services.derive_limit)."""
        from . import services

        prefetch_related_objects(list(accused), "charge_steps__charge")
        limits = {limit.code: limit for limit in DetentionLimit.objects.all()}
        self.derived = {}
        lines = []
        for person in accused:
            person.case = case
            derived = services.derive_limit(person, limits=limits)
            self.derived[person.pk] = derived
            lines.append(
                (
                    person.detainee,
                    limit_label(derived) if derived else _("not derivable: choose one"),
                )
            )
        intro = _(
            "Left empty, an arrest starts police custody (Art. 96) and a detention order "
            "gets the limit its person's charges call for:"
        )
        return format_html(
            '{}<ul class="mb-0">{}</ul>',
            intro,
            format_html_join("", "<li>{}: {}</li>", lines),
        )

    def clean(self):
        data = super().clean()
        accused = data.get("accused")
        if (
            data.get("kind") == Event.Kind.PRETRIAL_DETENTION
            and accused is not None
            and not data.get("limit")
            and self.derived.get(accused.pk) is None
        ):
            self.add_error("limit", NO_DERIVABLE_LIMIT)
        return data


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=CaseStatus.choices,
        label=_("New status"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    occurred_on = forms.DateField(
        label=_("Since"),
        initial=timezone.localdate,
        widget=forms.DateInput(
            attrs={"type": "date", "class": "form-control form-control-sm"}, format="%Y-%m-%d"
        ),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )
    # As the model's PositiveIntegerField holds on every database: a bigger number sent
    # by hand is a form error, not an overflow in the version check.
    version = forms.IntegerField(
        widget=forms.HiddenInput, required=False, min_value=0, max_value=2**31 - 1
    )


class AssignForm(forms.Form):
    caseworker = forms.ModelChoiceField(
        queryset=None, required=False, label=_("Caseworker"), empty_label=_("Unassigned")
    )

    def __init__(self, *args, user, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        from accounts.models import Role, User

        self.fields["caseworker"].queryset = User.objects.filter(
            role=Role.CASEWORKER, is_active=True, provinces=case.province_id
        ).filter(pk__in=caseworkers_visible_to(user).values("pk"))


class RepresentationForm(forms.ModelForm):
    new_lawyer_name = forms.CharField(
        required=False, max_length=200, label=_("…or a lawyer not listed yet: name")
    )
    new_lawyer_bar_number = forms.CharField(
        required=False, max_length=40, label=_("Bar registration number")
    )
    new_lawyer_organisation = forms.CharField(
        required=False, max_length=200, label=_("Organisation")
    )

    class Meta:
        model = Representation
        fields = ["accused", "lawyer", "since"]
        widgets = {"since": DATE}

    def __init__(self, *args, user, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accused"].queryset = case.accused.select_related("detainee")
        self.fields["accused"].label_from_instance = lambda a: str(a.detainee)
        self.lawyers = Lawyer.objects.visible_to(user)
        self.fields["lawyer"].queryset = self.lawyers
        self.fields["lawyer"].required = False
        self.initial.setdefault("since", timezone.localdate())
        if not user.is_admin and not user.is_coordinator:
            # A bar number is unique in the whole directory, which caseworkers do not
            # see: checking theirs against it would tell them who else is in it.
            # Coordinators record it (docs/permissions.md).
            del self.fields["new_lawyer_bar_number"]

    def clean(self):
        data = super().clean()
        if not data.get("lawyer") and not (data.get("new_lawyer_name") or "").strip():
            self.add_error("lawyer", _("Choose a lawyer or enter a new one."))
        bar = (data.get("new_lawyer_bar_number") or "").strip()
        if not data.get("lawyer") and bar and self.lawyers.filter(bar_number=bar).exists():
            self.add_error(
                "new_lawyer_bar_number",
                _("A lawyer with this bar number is already in the list: choose them above."),
            )
        return data

    def _post_clean(self):
        # The lawyer may be new: the model is validated by the service once it exists.
        if self.cleaned_data.get("lawyer"):
            super()._post_clean()
        else:
            self.instance.accused = self.cleaned_data.get("accused")
            self.instance.since = self.cleaned_data.get("since")

    def build_lawyer(self) -> Lawyer:
        lawyer = self.cleaned_data.get("lawyer")
        if lawyer:
            return lawyer
        return Lawyer(
            name=self.cleaned_data["new_lawyer_name"],
            bar_number=self.cleaned_data.get("new_lawyer_bar_number") or None,
            organisation=self.cleaned_data.get("new_lawyer_organisation", ""),
        )


NewPeopleFormSet = forms.formset_factory(NewPersonForm, extra=1, max_num=30, validate_max=True)


class AddAccusedForm(forms.Form):
    """Add a person to an existing case: someone on file (in the user's scope) or new."""

    existing = forms.ModelChoiceField(
        queryset=Detainee.objects.none(),
        required=False,
        label=_("A person already on file"),
        help_text=_("Or leave this empty and enter a new person below."),
    )
    custody_status = forms.ChoiceField(
        choices=CustodyStatus.choices,
        initial=CustodyStatus.AT_LIBERTY,
        label=_("Custody status now"),
    )
    charges = forms.ModelMultipleChoiceField(
        queryset=Charge.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Charged with"),
    )
    confirm_new = forms.BooleanField(
        required=False, label=_("This is a different person: create a new record anyway")
    )

    def __init__(self, *args, user, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        in_case = case.accused.values("detainee")
        self.fields["existing"].queryset = Detainee.objects.visible_to(user).exclude(pk__in=in_case)
        self.initial.setdefault("charges", list(case.charges.values_list("pk", flat=True)))


class RemoveAccusedForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is this person removed from the case?"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example: added by mistake, case split into another case."),
    )
    on = forms.DateField(label=_("Since"), initial=timezone.localdate, widget=DATE)


class ChargeStepForm(forms.ModelForm):
    class Meta:
        model = AccusedCharge
        fields = ["accused", "step", "charge", "requalified_from", "on", "source"]
        widgets = {"on": DATE}

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accused"].queryset = case.accused.select_related("detainee")
        self.fields["accused"].label_from_instance = lambda a: str(a.detainee)
        self.fields["charge"].queryset = Charge.objects.all()
        self.fields["requalified_from"].queryset = Charge.objects.all()
        self.fields["requalified_from"].help_text = _("Only for a requalification.")
        self.initial.setdefault("on", timezone.localdate())


class RepresentationEndForm(MergingForm):
    """When and why a lawyer stopped representing someone; the model's rules check the
    date (not before the start, not in the future). Two people ending it at once, or an
    admin correcting it meanwhile, merge as any edit does."""

    class Meta:
        model = Representation
        fields = ["until", "end_reason", "end_note"]
        widgets = {"until": DATE}
        labels = {"until": _("Ended on")}
        help_texts = {
            "until": _("From this day the lawyer no longer counts as this person's lawyer."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["until"].required = True
        self.fields["end_reason"].required = True
        self.initial.setdefault("until", timezone.localdate())


class MergeForm(forms.Form):
    """Two records of one person, by number: the one kept and the one merged into it."""

    keep = forms.IntegerField(label=_("Keep the record number"), min_value=1, max_value=2**31 - 1)
    merge = forms.IntegerField(
        label=_("Merge into it the record number"), min_value=1, max_value=2**31 - 1
    )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        people = (
            Detainee.objects.on_file()
            .select_related("home_province")
            .in_bulk([data["keep"], data["merge"]])
        )
        for name in ("keep", "merge"):
            if data[name] not in people:
                self.add_error(name, _("No person on file has this number."))
        if self.errors:
            return data
        data["kept"], data["merged"] = people[data["keep"]], people[data["merge"]]
        problem = merge_problem(data["kept"], data["merged"])
        if problem:
            self.add_error("merge" if data["keep"] == data["merge"] else None, problem)
        return data
