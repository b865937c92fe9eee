"""Assigning a lawyer: what the form answers never depends on lawyers outside the
user's scope (docs/permissions.md, "Forms")."""

import pytest

from casework.models import Lawyer, Representation

from . import factories as f

pytestmark = pytest.mark.django_db


def post(client, case, **data):
    accused = case.accused.first()
    payload = {"accused": accused.pk, "since": "2026-11-01", **data}
    return client.post(f"/cases/{case.pk}/lawyers/new/", payload)


@pytest.fixture
def outsider(far_case):
    """A lawyer of a Phnom Penh case: outside both caseworkers' scope."""
    lawyer = f.make_lawyer("Chea Bopha", bar_number="BAR-777")
    Representation.objects.create(accused=far_case.accused.first(), lawyer=lawyer)
    return lawyer


def test_the_caseworkers_form_asks_no_bar_number(caseworker_client, own_case):
    page = caseworker_client.get(f"/cases/{own_case.pk}/lawyers/new/")
    assert page.status_code == 200
    assert "new_lawyer_bar_number" not in page.content.decode()


@pytest.mark.parametrize("bar", ["BAR-777", "BAR-NOBODY-HAS"])
def test_a_caseworker_learns_nothing_from_a_bar_number(caseworker_client, own_case, outsider, bar):
    """Existing elsewhere or not, the answer is the same: the lawyer is added by name."""
    response = post(
        caseworker_client, own_case, new_lawyer_name="Sok Dara", new_lawyer_bar_number=bar
    )
    assert response.status_code == 302
    added = Lawyer.objects.get(name="Sok Dara")
    assert added.bar_number is None
    assert Lawyer.objects.get(pk=outsider.pk).name == "Chea Bopha"
    assert "already" not in caseworker_client.get(response["Location"]).content.decode()


def test_a_coordinator_who_sees_the_directory_is_told_to_choose_the_listed_lawyer(
    coordinator_client, own_case, outsider
):
    response = post(
        coordinator_client, own_case, new_lawyer_name="Sok Dara", new_lawyer_bar_number="BAR-777"
    )
    assert response.status_code == 200
    assert response.context["form"].errors["new_lawyer_bar_number"] == [
        "A lawyer with this bar number is already in the list: choose them above."
    ]
    assert not Lawyer.objects.filter(name="Sok Dara").exists()


def test_a_coordinator_records_a_new_bar_number(coordinator_client, own_case):
    response = post(
        coordinator_client, own_case, new_lawyer_name="Sok Dara", new_lawyer_bar_number="BAR-1"
    )
    assert response.status_code == 302
    assert Lawyer.objects.get(name="Sok Dara").bar_number == "BAR-1"
