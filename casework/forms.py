"""Forms validate; services write. Every choice list is scoped to the user."""

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .filters import caseworkers_visible_to
from .models import (
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
    fold,
)
from .names import name_key

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class VersionedForm(forms.ModelForm):
    """Carries the version the user started from, so a concurrent save is detected."""

    # As the model's PositiveIntegerField holds on every database: a bigger number sent
    # by hand is a form error, not an overflow in the version check.
    version = forms.IntegerField(
        widget=forms.HiddenInput, required=False, min_value=0, max_value=2**31 - 1
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["version"] = self.instance.version

    def clean(self):
        data = super().clean()
        if self.instance.pk and data.get("version") is None:
            # Without the version we cannot tell whether someone saved meanwhile.
            self.add_error(
                None,
                _(
                    "This form is out of date or incomplete. Reload the page and make your "
                    "change again."
                ),
            )
        return data

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
            "charges",
            "opened_on",
            "summary",
            "sources",
        ]
        widgets = {"opened_on": DATE, "charges": forms.CheckboxSelectMultiple}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        provinces = Province.objects.all()
        if not user.is_admin:
            provinces = provinces.filter(pk__in=user.provinces.values("pk"))
            if self.instance.pk:
                provinces = provinces | Province.objects.filter(pk=self.instance.province_id)
        self.fields["province"].queryset = provinces
        self.fields["court"].queryset = Court.objects.select_related("province")
        self.fields["charges"].queryset = Charge.objects.all()
        self.fields["charges"].required = False

    def clean_opened_on(self):
        opened = self.cleaned_data["opened_on"]
        if opened and opened > timezone.localdate():
            raise forms.ValidationError(_("A case cannot be opened in the future."))
        return opened


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

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["existing"].queryset = Detainee.objects.visible_to(user)


def likely_duplicates(user, person: Detainee, limit: int = 5):
    """People in the user's scope who may be the same as ``person``.

    A name in either script matches the other records' names and aliases,
    literally or by its consonant skeleton (casework/names.py), so a person
    entered in Khmer is found when typed romanised and the other way round.
    Narrowed by birth year and home province when both are known.
    """
    variants = [n for n in (person.name_latin, person.name_khmer, *person.alias_list) if n]
    if not variants:
        return Detainee.objects.none()
    condition = Q()
    for name in variants:
        condition |= Q(search_text__contains=fold(name))
        key = name_key(name)
        if key:
            condition |= Q(name_keys__contains=f"|{key}|")
    qs = Detainee.objects.visible_to(user).filter(condition)
    if person.birth_year:
        qs = qs.filter(
            Q(birth_year__isnull=True)
            | Q(birth_year__range=(person.birth_year - 1, person.birth_year + 1))
        )
    if person.home_province_id:
        qs = qs.filter(Q(home_province__isnull=True) | Q(home_province=person.home_province_id))
    return qs.select_related("home_province")[:limit]


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


class HearingForm(VersionedForm):
    class Meta:
        model = Hearing
        fields = [
            "kind",
            "scheduled_at",
            "court",
            "status",
            "lawyer",
            "monitor",
            "outcome",
            "notes",
        ]
        widgets = {
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
        if not self.instance.pk:
            self.initial.setdefault("court", case.court_id)
            self.initial.setdefault("monitor", user.pk)

    def clean(self):
        data = super().clean()
        status, when = data.get("status"), data.get("scheduled_at")
        if status == Hearing.Status.HELD and when and when > timezone.now():
            self.add_error("status", _("A hearing in the future cannot have been held yet."))
        if status == Hearing.Status.HELD and not (data.get("outcome") or "").strip():
            self.add_error(
                "outcome", _("Say what happened: a hearing that was held needs its outcome.")
            )
        return data


class BailRequestForm(forms.ModelForm):
    class Meta:
        model = BailRequest
        fields = ["accused", "filed_on", "court", "filed_by", "appeal_of", "reasons"]
        widgets = {"filed_on": DATE, "reasons": forms.Textarea(attrs={"rows": 2})}
        labels = {"reasons": _("Grounds given")}

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

    def clean_filed_on(self):
        filed = self.cleaned_data["filed_on"]
        if filed > timezone.localdate():
            raise forms.ValidationError(_("A request cannot be filed in the future."))
        return filed

    def clean(self):
        data = super().clean()
        appeal, accused = data.get("appeal_of"), data.get("accused")
        if appeal and accused and appeal.accused_id != accused.pk:
            self.add_error("appeal_of", _("An appeal concerns a decision on the same person."))
        return data


class BailDecisionForm(VersionedForm):
    class Meta:
        model = BailRequest
        fields = ["decision", "decided_on", "reasons"]
        widgets = {"decided_on": DATE, "reasons": forms.Textarea(attrs={"rows": 3})}

    def clean(self):
        data = super().clean()
        decision, decided = data.get("decision"), data.get("decided_on")
        if decision == BailRequest.Decision.PENDING:
            data["decided_on"] = None
        elif not decided:
            self.add_error("decided_on", _("Give the date of the decision."))
        elif decided < self.instance.filed_on:
            self.add_error(
                "decided_on",
                _("The decision cannot come before the filing (%(date)s).")
                % {"date": self.instance.filed_on},
            )
        elif decided > timezone.localdate():
            self.add_error("decided_on", _("The decision date cannot be in the future."))
        return data


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
            "description",
            "source",
            "source_detail",
            "verified",
        ]
        widgets = {"occurred_on": DATE, "description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.case = case
        self.fields["kind"].choices = [
            c for c in Event.Kind.choices if c[0] != Event.Kind.STATUS_CHANGED
        ]
        self.fields["accused"].queryset = case.accused.select_related("detainee")
        self.fields["accused"].label_from_instance = lambda a: str(a.detainee)
        self.initial.setdefault("occurred_on", timezone.localdate())

    def clean_occurred_on(self):
        day = self.cleaned_data["occurred_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("An event cannot be recorded for a future date."))
        return day


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

    def clean_occurred_on(self):
        day = self.cleaned_data["occurred_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("The date cannot be in the future."))
        return day


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
