"""Labels of choices (a case's status, a hearing's kind) read in the reader's language."""

from django.utils import translation

from casework.models import Case, Hearing

from . import factories as f


def test_status_label_follows_the_language(own_case):
    own_case.status = "closed"
    with translation.override("en"):
        assert own_case.get_status_display() == "Closed"
    with translation.override("km"):
        assert own_case.get_status_display() == "បានបិទ"
    with translation.override("en"):
        assert own_case.get_status_display() == "Closed"


def test_a_value_outside_the_choices_is_shown_as_stored():
    # A row written before a choice was renamed still shows something, not an error.
    assert Case(status="archived-2019").get_status_display() == "archived-2019"
    assert Hearing(kind=None).get_kind_display() is None


def test_every_choice_of_every_list_column_has_its_label(own_case):
    hearing = f.make_hearing(own_case)
    for value, label in Hearing.Kind.choices:
        hearing.kind = value
        assert hearing.get_kind_display() == label
    for value, label in Case._meta.get_field("status").flatchoices:
        own_case.status = value
        assert own_case.get_status_display() == label
