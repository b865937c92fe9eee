"""The case list's rows, written in Python for speed (casework.templatetags.case_row),
read exactly as the template they replaced, in English and Khmer."""

import pytest
from django.template import engines
from django.test import SimpleTestCase
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.html import escape

from casework import selectors
from casework.templatetags.casework import clock_left, left_text

from . import factories as f

# The row as casework/case_list.html wrote it before (the province cell now
# has the class that keeps a Khmer name on one line); the flag now says how far past or
# how close the most urgent clock is (issue 13), worked out as the clock row does.
TEMPLATE_ROW = """{% load i18n %}
  <tr>
    <td><a href="{{ case.get_absolute_url }}">{{ case.reference }}</a>{% if case.flagged %} <span class="badge badge-past" title="{% translate 'Someone in this case is near or past the legal limit' %}">{{ flag_text }}</span>{% endif %}</td>
    <td>{% for a in case.accused.all %}{{ a.detainee.name_latin }}{% if a.detainee.name_khmer %} <span class="km text-body-secondary">{{ a.detainee.name_khmer }}</span>{% endif %}{% if not forloop.last %}, {% endif %}{% endfor %}</td>
    <td class="d-none d-sm-table-cell province">{{ case.province }}</td>
    <td>{{ case.get_status_display }}</td>
    <td class="d-none d-md-table-cell">{{ case.caseworker|default:_("Unassigned") }}</td>
    <td class="d-none d-md-table-cell">{{ case.next_hearing|date:"SHORT_DATETIME_FORMAT"|default:"—" }}</td>
    <td class="d-none d-lg-table-cell">{{ case.opened_on|date:"SHORT_DATE_FORMAT" }}</td>
  </tr>"""  # noqa: E501

assert_html_equal = SimpleTestCase().assertHTMLEqual


@pytest.fixture
def listed(admin_user, caseworker):
    held = f.make_case("KH-2", caseworker=caseworker, reference="BTB-0100")
    accused = f.add_accused(held, f.make_detainee("Sok <Dara>", name_khmer="សុខ ដារា"))
    f.add_accused(held, f.make_detainee("Chan Vanna", name_khmer=""))
    f.hold(accused, limit_code="pretrial-misdemeanour", days_ago=400)  # past the limit
    f.make_hearing(held, days_from_now=3)
    f.make_case("KH-12", caseworker=None, reference="PNH-0100", status="closed")
    return list(selectors.case_list_queryset(admin_user).filter(reference__endswith="0100"))


@pytest.mark.parametrize("language", ["en", "km"])
def test_rows_read_as_the_template_wrote_them(listed, language):
    template = engines["django"].from_string(TEMPLATE_ROW)
    tag = engines["django"].from_string("{% load casework %}{% case_row case %}")
    assert {case.flagged is None for case in listed} == {True, False}
    assert {case.next_hearing is None for case in listed} == {True, False}
    with translation.override(language):
        for case in listed:
            flag_text = left_text(case.flagged) if case.flagged else ""
            assert_html_equal(
                tag.render({"case": case}),
                template.render({"case": case, "flag_text": flag_text}),
            )
        held = next(case for case in listed if case.flagged)
        period = held.custody_periods.get()
        assert left_text(held.flagged) == clock_left(period)
    with translation.override("en"):
        assert f"Past the legal limit by {period.days_past} days" in tag.render({"case": held})


def test_list_rows_escape_names_and_say_unassigned(admin_client_, listed):
    body = admin_client_.get("/cases/?q=0100").content.decode()
    assert "Sok &lt;Dara&gt;" in body and "<Dara>" not in body
    assert '<span class="km text-body-secondary">សុខ ដារា</span>, Chan Vanna' in body
    assert "Unassigned" in body
    assert 'title="Someone in this case is near or past the legal limit"' in body


HEARING_TEMPLATE = """{% load i18n %}<li>{{ h.scheduled_at|date:"SHORT_DATETIME_FORMAT" }} · {{ h.get_kind_display }} · <a href="{{ h.case.get_absolute_url }}">{{ h.case.reference }}</a> · {{ h.case.caseworker|default:_("Unassigned") }}{% if not h.lawyer_id %} · <span class="text-danger">{% translate "no lawyer" %}</span>{% endif %}</li>"""  # noqa: E501


@pytest.mark.parametrize("language", ["en", "km"])
def test_dashboard_hearings_read_as_the_template_wrote_them(caseworker, language):
    from casework.models import Hearing

    lawyer = f.make_lawyer("Kim <Sovann>")
    f.make_hearing(f.make_case("KH-2", caseworker=caseworker), days_from_now=2, lawyer=lawyer)
    f.make_hearing(f.make_case("KH-12", caseworker=None), days_from_now=3)
    hearings = list(Hearing.objects.select_related("case__caseworker"))
    assert {h.lawyer_id is None for h in hearings} == {True, False}
    template = engines["django"].from_string(HEARING_TEMPLATE)
    tag = engines["django"].from_string("{% load casework %}{% hearing_item h %}")
    with translation.override(language):
        for hearing in hearings:
            assert_html_equal(tag.render({"h": hearing}), template.render({"h": hearing}))


@pytest.mark.parametrize("language", ["en", "km"])
def test_near_limit_rows_are_the_clock_row_escaped(caseworker, language):
    """The dashboards' entry is the clock row (issue 13, point 9): the person in both
    scripts, the case, the limit and its article, days held, days left or past, the
    runs-out date and the ceiling; every value escaped."""
    from casework.models import CustodyPeriod

    case = f.make_case("KH-2", caseworker=caseworker, reference="BTB-<1>")
    f.hold(
        f.add_accused(case, f.make_detainee("Sok <Dara>", name_khmer="សុខ <ដារា>")),
        days_ago=400,
    )  # past
    f.hold(f.add_accused(case), limit_code="pretrial-misdemeanour", days_ago=110)  # near
    periods = list(
        CustodyPeriod.objects.select_related(
            "accused__detainee", "accused__case", "limit"
        ).order_by("started_at")
    )
    tag = engines["django"].from_string("{% load casework %}{% near_limit_row p %}")
    with translation.override(language):
        for period in periods:
            html = tag.render({"p": period})
            assert "<Dara>" not in html and "BTB-<1>" not in html
            assert escape(period.accused.detainee.name_latin) in html
            assert period.limit.article in html
            assert escape(period.limit.name) in html
            assert str(period.days_held) in html
            assert (
                escape(date_format(timezone.localtime(period.runs_out_at), "SHORT_DATE_FORMAT"))
                in html
            )
            assert (
                escape(date_format(timezone.localtime(period.ceiling_at), "SHORT_DATE_FORMAT"))
                in html
            )
    with translation.override("en"):
        past, near = (tag.render({"p": p}) for p in periods)
        assert "សុខ &lt;ដារា&gt;" in past
        assert "Past the legal limit by" in past and "18 months at most" in past
        assert "days left" in near and "6 months at most" in near and "Art. 209" in near
