"""The case list's filter selects, written in Python for speed, show exactly what
Django's own Select would: the same options, labels, order and choice."""

import pytest
from django import forms
from django.db import connection
from django.test import SimpleTestCase
from django.test.utils import CaptureQueriesContext
from django_filters.widgets import BaseCSVWidget

from casework.filters import CaseFilter, HearingFilter
from casework.models import Case, Hearing
from casework.widgets import QuickCSVSelect, QuickSelect

from . import factories as f

assert_html_equal = SimpleTestCase().assertHTMLEqual


def _django_markup(bound) -> str:
    """The field as Django's own forms.Select (django-filter's CSVSelect) would render it."""
    kind = forms.Select
    if isinstance(bound.field.widget, QuickCSVSelect):
        kind = type("CSVSelect", (BaseCSVWidget, forms.Select), {})  # as django-filter makes it
    plain = kind.__new__(kind)
    plain.__dict__.update(bound.field.widget.__dict__)
    return bound.as_widget(widget=plain)


def _selects(filterset):
    for bound in filterset.form:
        if isinstance(bound.field.widget, QuickSelect):
            yield bound


@pytest.fixture
def directory(admin_user, caseworker):
    lawyer = f.make_lawyer("Sokha <b>& Partners</b>")
    case = f.make_case("KH-2", caseworker=caseworker)
    f.represent(lawyer, f.add_accused(case))
    f.make_user("cw-no-name", provinces=["KH-2"])
    return lawyer


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"province": "KH-2", "status": "closed", "caseworker": "null"},
        {"court": "1", "charge": "2", "sort": "-opened", "custody": "pretrial_detention"},
    ],
)
def test_case_filter_selects_match_djangos_markup(directory, admin_user, data):
    if data is not None and "lawyer" not in data:
        data = {**data, "lawyer": str(directory.pk)}
    filterset = CaseFilter(data, queryset=Case.objects.all(), user=admin_user)
    filterset.is_valid()
    names = []
    for bound in _selects(filterset):
        names.append(bound.name)
        assert_html_equal(str(bound), _django_markup(bound))
    assert {"province", "status", "court", "charge", "caseworker", "lawyer", "sort"} <= set(names)


def test_chosen_lawyer_is_selected_and_names_are_escaped(directory, admin_user):
    filterset = CaseFilter({"lawyer": str(directory.pk)}, queryset=Case.objects.all(),
                           user=admin_user)  # fmt: skip
    html = str(filterset.form["lawyer"])
    assert f'<option value="{directory.pk}" selected>' in html
    assert "Sokha &lt;b&gt;&amp; Partners&lt;/b&gt;" in html
    assert "<b>" not in html


def test_unassigned_choice_offered_to_coordinators(coordinator):
    filterset = CaseFilter(None, queryset=Case.objects.all(), user=coordinator)
    html = str(filterset.form["caseworker"])
    assert '<option value="null">Unassigned</option>' in html


def test_hearing_filter_selects_match_djangos_markup(admin_user, caseworker):
    filterset = HearingFilter({"caseworker": str(caseworker.pk)},
                              queryset=Hearing.objects.all(), user=admin_user)  # fmt: skip
    filterset.is_valid()
    for bound in _selects(filterset):
        assert_html_equal(str(bound), _django_markup(bound))


def test_a_model_choice_list_is_read_with_one_query(directory, admin_user):
    filterset = CaseFilter(None, queryset=Case.objects.all(), user=admin_user)
    bound = filterset.form["lawyer"]
    with CaptureQueriesContext(connection) as ctx:
        str(bound)
    assert len(ctx.captured_queries) == 1
    assert "CURSOR" not in ctx.captured_queries[0]["sql"].upper()
