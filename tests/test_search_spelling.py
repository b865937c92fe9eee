"""`q` search tolerant of romanisation (issue 13, point 11): other spellings of a
name are found by their consonant skeleton (casework/names.py), ranked below the
literal matches, on SQLite and PostgreSQL alike, within the user's scope."""

import pytest
from django.db import connection

from casework.models import Detainee

from . import factories as f


@pytest.fixture
def visal(caseworker):
    case = f.make_case("KH-2", caseworker=caseworker, reference="BTB-0500")
    f.add_accused(case, f.make_detainee("Touch Visal", name_khmer="ទូច វិសាល"))
    return case


def case_refs(client, q) -> list[str]:
    return [c.reference for c in client.get("/cases/", {"q": q}).context["page"].object_list]


def people(client, q) -> list[str]:
    return [p.name_latin for p in client.get("/detainees/", {"q": q}).context["page"].object_list]


@pytest.mark.parametrize("q", ["Tuoch Visal", "Touch Vissal", "Tuch Wisal", "visal tuoch", "TÚCH"])
def test_spelling_variants_are_found(caseworker_client, visal, q):
    assert case_refs(caseworker_client, q) == ["BTB-0500"]
    assert people(caseworker_client, q) == ["Touch Visal"]


def test_khmer_script_finds_a_latin_only_record(caseworker_client, caseworker):
    case = f.make_case("KH-2", caseworker=caseworker, reference="BTB-0501")
    f.add_accused(case, f.make_detainee("Touch Visal"))  # no Khmer name on file
    assert case_refs(caseworker_client, "ទូច") == ["BTB-0501"]


def test_other_spellings_rank_below_literal_matches(caseworker_client, caseworker, visal):
    # Opened later, so the list's own order would put it first.
    exact = f.make_case("KH-2", caseworker=caseworker, reference="BTB-0400")
    f.add_accused(exact, f.make_detainee("Tuoch Visal"))
    newer = f.make_case("KH-2", caseworker=caseworker, reference="BTB-0600")
    f.add_accused(newer, f.make_detainee("Touch Vissal"))
    assert case_refs(caseworker_client, "Tuoch Visal") == ["BTB-0400", "BTB-0600", "BTB-0500"]
    assert people(caseworker_client, "Tuoch Visal")[0] == "Tuoch Visal"
    # A chosen sort orders each group, the literal matches still first.
    refs = [
        c.reference
        for c in caseworker_client.get("/cases/", {"q": "Tuoch Visal", "sort": "-reference"})
        .context["page"]
        .object_list
    ]
    assert refs == ["BTB-0400", "BTB-0600", "BTB-0500"]


def test_people_sorted_by_name_keep_the_literal_match_first(admin_client_, caseworker, visal):
    case = f.make_case("KH-2", caseworker=caseworker)
    f.add_accused(case, f.make_detainee("Tuoch Visal"))
    for sort in ("name", "-name", "khmer", "-khmer", "born"):
        response = admin_client_.get("/detainees/", {"q": "Tuoch Visal", "sort": sort})
        names = [p.name_latin for p in response.context["page"].object_list]
        assert names == ["Tuoch Visal", "Touch Visal"], sort


def test_a_different_name_is_not_found(caseworker_client, visal):
    assert case_refs(caseworker_client, "Sokha Visal") == []
    assert case_refs(caseworker_client, "Tuoch Vannak") == []


def test_spelling_variants_outside_the_scope_are_not_found(caseworker2_client, visal):
    assert case_refs(caseworker2_client, "Tuoch Visal") == []
    assert people(caseworker2_client, "Tuch Wisal") == []


def test_the_queryset_finds_the_same_on_both_databases(visal):
    found = Detainee.objects.search("Touch Vissal")
    assert [p.name_latin for p in found] == ["Touch Visal"]
    assert [p.search_rank for p in found] == [1]
    assert [p.search_rank for p in Detainee.objects.search("touch")] == [0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's trigram index")
def test_postgresql_answers_spelling_search_from_the_trigram_index(visal):
    from casework.querysets import names_match

    query = (
        Detainee.objects.filter(names_match("Tuoch Vissal", tolerant=True)).order_by().values("pk")
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        # A few rows: left to itself the planner reads them all, or walks a B-tree.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "detainee_name_keys_trgm" in plan, plan
