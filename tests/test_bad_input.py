"""Numbers no column holds and megabyte searches: a clear message, never a 500, on
SQLite and PostgreSQL alike (the admin, the pages' filters, forms, URLs).

tests/test_fuzz_forms.py sends them to every field of every page's forms; here the
admin's lists, which no page links to with such values, and the rules behind both.
"""

import pytest
from django.contrib import admin

from casework.models import Case, Charge

from . import factories as f

BIG = "9" * 30
MEGABYTE = "a" * 1_000_000

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(own_case, other_case, far_case):
    """A row in every table an admin list searches: SQLite only fails on a row."""
    lawyer = f.make_lawyer("Lawyer Sreymom", bar_number="BAR-1")
    f.represent(lawyer, own_case.accused.first())
    f.make_bail(own_case.accused.first())
    f.make_event(own_case)
    return own_case


def _admins():
    return sorted(
        (model._meta.app_label, model._meta.model_name, model_admin)
        for model, model_admin in admin.site._registry.items()
    )


ADMINS = [(app, name) for app, name, _ in _admins()]


@pytest.mark.parametrize("app, name", ADMINS, ids=[f"{a}.{n}" for a, n in ADMINS])
def test_a_megabyte_search_in_any_admin_list_is_refused_with_a_message(
    admin_client_, rows, app, name
):
    admin_client_.raise_request_exception = True
    response = admin_client_.get(f"/admin/{app}/{name}/", {"q": MEGABYTE}, follow=True)
    assert response.status_code == 200
    assert "The search is too long: at most 200 characters." in response.content.decode()


@pytest.mark.parametrize("app, name", ADMINS, ids=[f"{a}.{n}" for a, n in ADMINS])
def test_an_admin_search_of_normal_length_still_searches(admin_client_, rows, app, name):
    response = admin_client_.get(f"/admin/{app}/{name}/", {"q": "a" * 200})
    assert response.status_code == 200
    assert "The search is too long" not in response.content.decode()


def _filter_parameters():
    for app, name, model_admin in _admins():
        for entry in model_admin.list_filter:
            if isinstance(entry, str):
                for suffix in ("", "__exact", "__id__exact", "__in", "__gte"):
                    yield app, name, entry + suffix


FILTERS = list(_filter_parameters())


@pytest.mark.parametrize("app, name, parameter", FILTERS, ids=["/".join(p) for p in FILTERS])
def test_an_out_of_range_number_in_any_admin_filter_is_no_500(
    admin_client_, rows, app, name, parameter
):
    admin_client_.raise_request_exception = True
    response = admin_client_.get(f"/admin/{app}/{name}/", {parameter: BIG}, follow=True)
    assert response.status_code == 200


def test_the_out_of_range_filter_says_so(admin_client_, rows):
    response = admin_client_.get("/admin/casework/case/", {"province": BIG}, follow=True)
    assert response.status_code == 200
    assert "A filter&#x27;s value is out of range" in response.content.decode()


def test_an_out_of_range_id_in_an_admin_form_is_a_field_error(admin_client_, rows):
    admin_client_.raise_request_exception = True
    url = f"/admin/casework/case/{rows.pk}/change/"
    page = admin_client_.get(url)
    data = {k: v for k, v in page.context["adminform"].form.initial.items() if v not in (None, [])}
    data.update({"charges": [BIG], "province": rows.province_id})
    response = admin_client_.post(url, data)
    assert response.status_code == 200
    assert "charges" in response.context["adminform"].form.errors


@pytest.mark.parametrize("url", ["/cases/{big}/", "/detainees/{big}/", "/hearings/{big}/edit/"])
def test_an_out_of_range_id_in_a_url_is_a_404(caseworker_client, url):
    caseworker_client.raise_request_exception = True
    assert caseworker_client.get(url.format(big=BIG)).status_code == 404


# --- The rule behind the forms' lists of ids (config/lookups.py) -------------------


@pytest.mark.parametrize("number", [2**63, -(2**63) - 1, 10**30])
def test_in_on_an_integer_column_ignores_numbers_it_cannot_hold(number):
    first = Charge.objects.order_by("pk").first()
    assert list(Charge.objects.filter(pk__in=[number])) == []
    assert list(Charge.objects.filter(pk__in=[number, first.pk])) == [first]
    assert not Case.objects.filter(charges__in=[number]).exists()
