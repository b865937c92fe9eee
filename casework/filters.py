"""List filters. Every FilterSet is fed a queryset already scoped to the user,
and its choice lists are scoped too: a filter cannot reveal what a list hides."""

import django_filters as df
from django import forms
from django.conf import settings
from django.db import connection
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import Collate
from django.utils.functional import lazy
from django.utils.translation import gettext as gettext_now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_filters.widgets import BaseCSVWidget

from accounts.models import Role, User

from .models import (
    Accused,
    Case,
    CaseStatus,
    Charge,
    Court,
    CustodyStatus,
    Detainee,
    Hearing,
    Lawyer,
    Province,
    Representation,
    Sex,
)
from .widgets import QuickCSVSelect, QuickSelect


def limit_choices():
    """Read when the form is built, so the label says the cut-off actually applied."""
    days = settings.DETENTION_WARNING_DAYS
    return [
        (
            "near",
            ngettext(
                "Past or within %(days)s day of the legal limit",
                "Past or within %(days)s days of the legal limit",
                days,
            )
            % {"days": days},
        ),
        ("past", _("Past the legal limit")),
    ]


def khmer_order(field: str = "name_khmer", descending: bool = False):
    """Khmer names in Khmer alphabetical order (docs/i18n.md).

    PostgreSQL sorts with ICU's Khmer collation. SQLite has none: it falls
    back to code-point order, which follows the Khmer alphabet for the
    consonants a name starts with but not for every vowel and subscript.
    """
    expression = F(field)
    if connection.vendor == "postgresql":
        expression = Collate(field, "km-x-icu")
    return expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)


def _descending(label) -> str:
    return gettext_now("%s (descending)") % label


descending = lazy(_descending, str)


def sort_labels(labels: dict) -> dict:
    """Labels for both directions of each sort, translated when shown.

    django-filter formats "(descending)" once, at import, in English; these
    lazy labels follow the reader's language.
    """
    result = {}
    for (field, param), label in labels.items():
        result[field] = label
        result[f"-{param}"] = descending(label)
    return result


class ProvinceFilter(df.ModelChoiceFilter):
    """`?province=KH-2`: provinces are addressed by their ISO code."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("queryset", Province.objects.all())
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault("label", _("Province"))
        super().__init__(*args, **kwargs)


class DateInputFilter(df.DateFilter):
    """A date filter rendered as the browser's date picker."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(*args, **kwargs)


class ScopedFilterSet(df.FilterSet):
    def __init__(self, data=None, queryset=None, *, user, **kwargs):
        self.user = user
        super().__init__(data, queryset, **kwargs)
        for field in self.form.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select form-select-sm"
                if type(widget) is forms.Select:
                    # Every lawyer and caseworker in scope is an option: hundreds.
                    field.widget = widget = QuickSelect.replacing(widget)
                elif type(widget).__bases__ == (BaseCSVWidget, forms.Select):  # "Sort by"
                    field.widget = widget = QuickCSVSelect.replacing(widget)
            else:
                css = "form-control form-control-sm"
            widget.attrs.setdefault("class", css)


class CaseFilter(ScopedFilterSet):
    q = df.CharFilter(method="filter_q", label=_("Search"), max_length=200)
    province = ProvinceFilter(field_name="province")
    status = df.ChoiceFilter(choices=CaseStatus.choices, label=_("Case status"))
    custody = df.ChoiceFilter(
        choices=CustodyStatus.choices, method="filter_custody", label=_("Custody status")
    )
    court = df.ModelChoiceFilter(queryset=Court.objects.all(), label=_("Court"))
    charge = df.ModelChoiceFilter(
        field_name="charges", queryset=Charge.objects.all(), label=_("Charge")
    )
    caseworker = df.ModelChoiceFilter(
        queryset=User.objects.none(),
        method="filter_caseworker",
        label=_("Caseworker"),
        null_label=_("Unassigned"),
    )
    lawyer = df.ModelChoiceFilter(
        queryset=Lawyer.objects.none(), method="filter_lawyer", label=_("Lawyer")
    )
    opened_after = DateInputFilter(
        field_name="opened_on", lookup_expr="gte", label=_("Opened on or after")
    )
    opened_before = DateInputFilter(
        field_name="opened_on", lookup_expr="lte", label=_("Opened on or before")
    )
    limit = df.ChoiceFilter(
        choices=limit_choices, method="filter_limit", label=_("Detention limit")
    )
    no_lawyer = df.BooleanFilter(
        method="filter_no_lawyer",
        label=_("No lawyer"),
        widget=forms.CheckboxInput,
    )
    hearing_within = df.NumberFilter(
        method="filter_hearing_within",
        label=_("Hearing within (days)"),
        min_value=0,
        max_value=366,
    )
    sort = df.OrderingFilter(
        fields=(
            ("reference", "reference"),
            ("opened_on", "opened"),
            ("status", "status"),
            ("province__name_en", "province"),
            ("updated_at", "updated"),
        ),
        field_labels=sort_labels(
            {
                ("reference", "reference"): _("Reference"),
                ("opened_on", "opened"): _("Opened"),
                ("status", "status"): _("Status"),
                ("province__name_en", "province"): _("Province"),
                ("updated_at", "updated"): _("Last update"),
            }
        ),
        label=_("Sort by"),
    )

    class Meta:
        model = Case
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["caseworker"].queryset = caseworkers_visible_to(self.user)
        # Hundreds of options each: read their names as plain values (casework/widgets.py).
        caseworker, lawyer = self.form.fields["caseworker"], self.form.fields["lawyer"]
        caseworker.queryset = caseworkers_visible_to(self.user)
        caseworker.plain_options = _user_options
        lawyer.queryset = Lawyer.objects.visible_to(self.user)
        lawyer.plain_options = lambda lawyers: lawyers.values_list("pk", "name")

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.form.cleaned_data.get("sort"):
            # Many cases share a status or a date: break ties by record number so
            # a case neither repeats nor vanishes between pages.
            queryset = queryset.order_by(*_search_rank_first(queryset), "-pk")
        return queryset

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.matching(value) if value else queryset

    def filter_custody(self, queryset, name, value):
        return queryset.filter(
            Exists(Accused.objects.filter(case=OuterRef("pk"), custody_status=value))
        )

    def filter_caseworker(self, queryset, name, value):
        if value is None:
            return queryset
        if value == self.filters["caseworker"].null_value:  # "Unassigned" was chosen
            return queryset.filter(caseworker__isnull=True)
        return queryset.filter(caseworker=value)

    def filter_lawyer(self, queryset, name, value):
        return queryset.filter(
            Exists(Representation.objects.filter(accused__case=OuterRef("pk"), lawyer=value))
        )

    def filter_limit(self, queryset, name, value):
        if value == "past":
            return queryset.with_custody_past_limit()
        return queryset.with_custody_near_limit()

    def filter_no_lawyer(self, queryset, name, value):
        return queryset.without_lawyer() if value else queryset

    def filter_hearing_within(self, queryset, name, value):
        return queryset.with_hearing_within(int(value))


def _search_rank_first(queryset) -> list:
    """The chosen sort, after the search's rank when searching: literal matches stay
    above other spellings whatever the sort (querysets.ranked)."""
    order = list(queryset.query.order_by)
    if "search_rank" in queryset.query.annotations and "search_rank" not in order:
        order.insert(0, "search_rank")
    return order


def _user_options(users):
    """(id, label) of each user, labelled as User.__str__ labels them."""
    for pk, username, first, last in users.values_list(
        "pk", "username", "first_name", "last_name"
    ):
        yield pk, f"{first} {last}".strip() or username


def caseworkers_visible_to(user):
    qs = User.objects.filter(role=Role.CASEWORKER, is_active=True)
    if user.is_admin:
        return qs
    if user.is_coordinator:
        return qs.filter(provinces__in=user.provinces.values("pk")).distinct()
    return qs.filter(pk=user.pk)


class DetaineeFilter(ScopedFilterSet):
    q = df.CharFilter(method="filter_q", label=_("Search"), max_length=200)
    province = ProvinceFilter(field_name="home_province", label=_("Home province"))
    custody = df.ChoiceFilter(
        choices=CustodyStatus.choices, method="filter_custody", label=_("Custody status")
    )
    sex = df.ChoiceFilter(choices=Sex.choices, label=_("Sex"))
    sort = df.OrderingFilter(
        fields=(
            ("name_latin", "name"),
            ("name_khmer", "khmer"),
            ("birth_year", "born"),
            ("created_at", "added"),
        ),
        field_labels=sort_labels(
            {
                ("name_latin", "name"): _("Name"),
                ("name_khmer", "khmer"): _("Khmer name"),
                ("birth_year", "born"): _("Born"),
                ("created_at", "added"): _("Added"),
            }
        ),
        label=_("Sort by"),
    )

    class Meta:
        model = Detainee
        fields = []

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        sort = self.form.cleaned_data.get("sort") or []
        if sort and sort[0].lstrip("-") == "khmer":
            order = [khmer_order(descending=sort[0].startswith("-")), "pk"]
            if "search_rank" in queryset.query.annotations:
                order.insert(0, "search_rank")
            queryset = queryset.order_by(*order)
        elif sort:
            # Ties: stable pages. A search keeps its literal matches first.
            queryset = queryset.order_by(*_search_rank_first(queryset), "pk")
        return queryset

    def filter_q(self, queryset, name, value):
        return queryset.search(value) if value.strip() else queryset

    def filter_custody(self, queryset, name, value):
        return queryset.filter(
            Exists(Accused.objects.filter(detainee=OuterRef("pk"), custody_status=value))
        )


class HearingFilter(ScopedFilterSet):
    province = ProvinceFilter(field_name="case__province")
    court = df.ModelChoiceFilter(queryset=Court.objects.all(), label=_("Court"))
    kind = df.ChoiceFilter(choices=Hearing.Kind.choices, label=_("Kind"))
    status = df.ChoiceFilter(choices=Hearing.Status.choices, label=_("Status"))
    date_after = DateInputFilter(
        field_name="scheduled_at__date", lookup_expr="gte", label=_("From")
    )
    date_before = DateInputFilter(
        field_name="scheduled_at__date", lookup_expr="lte", label=_("Until")
    )
    caseworker = df.ModelChoiceFilter(
        queryset=User.objects.none(), field_name="case__caseworker", label=_("Caseworker")
    )
    no_lawyer = df.BooleanFilter(
        field_name="lawyer",
        lookup_expr="isnull",
        label=_("No lawyer present"),
        widget=forms.CheckboxInput,
    )

    class Meta:
        model = Hearing
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.form.fields["caseworker"].queryset = caseworkers_visible_to(self.user)

    def filter_queryset(self, queryset):
        # An unticked box means "any", not "only hearings with a lawyer".
        if not self.form.cleaned_data.get("no_lawyer"):
            self.form.cleaned_data["no_lawyer"] = None
        return super().filter_queryset(queryset)
