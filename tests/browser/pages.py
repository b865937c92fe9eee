"""Every page type, with records that fill them: shared by the font, axe and
screenshot checks so that a page added here is checked by all of them.

The records hold Khmer names that shaping changes most (subscript consonants,
the coeng ro written before its base, vowels above and below).
"""

import datetime as dt

from django.utils import timezone

from accounts.models import Role
from casework.models import BailRequest, Event, Hearing

from .. import factories as f

KHMER_NAMES = ["ស្រ៊ុន ធារី", "សុខ រដ្ឋា", "ព្រហ្ម ច័ន្ទរស្មី"]


def build_scene():
    """An admin who sees everything, a caseworker with her own cases, and
    records on every kind of page: a person near the legal limit and one past
    it, a hearing, a bail request, an event, a lawyer with a Khmer name."""
    admin = f.make_user("admin", role=Role.ADMIN)
    caseworker = f.make_user("caseworker", role=Role.CASEWORKER, provinces=["KH-2"])
    lawyer = f.make_lawyer("Keo Sothea", name_khmer="កែវ សុធា", organisation="Legal Aid")
    case = f.make_case("KH-2", caseworker=caseworker, reference="BTB-0001")
    near = f.add_accused(
        case,
        f.make_detainee("Srun Theary", name_khmer=KHMER_NAMES[0], birth_year=1984),
        custody_status="pretrial_detention",
    )
    f.hold(near, limit_code="pretrial-misdemeanour", days_ago=115)
    past = f.add_accused(
        case,
        f.make_detainee("Sok Rotha", name_khmer=KHMER_NAMES[1]),
        custody_status="pretrial_detention",
    )
    f.hold(past, days_ago=200, limit_code="pretrial-misdemeanour")
    f.represent(lawyer, near, since=timezone.localdate() - dt.timedelta(days=90))
    hearing = f.make_hearing(case, days_from_now=2, lawyer=lawyer)
    f.make_hearing(case, days_from_now=-3, status=Hearing.Status.HELD, outcome="Adjourned")
    bail = f.make_bail(near, filed_by=lawyer, decision=BailRequest.Decision.PENDING)
    f.make_event(case, kind=Event.Kind.ARRESTED, description="Arrested at home")
    other = f.make_case("KH-2", caseworker=None, reference="BTB-0002")
    f.add_accused(other, f.make_detainee("Prum Chanreaksmey", name_khmer=KHMER_NAMES[2]))
    return {
        "admin": admin,
        "caseworker": caseworker,
        "case": case,
        "detainee": near.detainee,
        "hearing": hearing,
        "bail": bail,
    }


def page_paths(scene) -> dict[str, str]:
    """Every page type an admin sees, by name."""
    c, d = scene["case"].pk, scene["detainee"].pk
    return {
        "dashboard": "/",
        "cases": "/cases/",
        "cases-filter-error": "/cases/?opened_after=not-a-date",
        "case": f"/cases/{c}/",
        "case-timeline": f"/cases/{c}/timeline/",
        "case-new": "/cases/new/",
        "case-edit": f"/cases/{c}/edit/",
        "case-assign": f"/cases/{c}/assign/",
        "hearing-new": f"/cases/{c}/hearings/new/",
        "bail-new": f"/cases/{c}/bail-requests/new/",
        "event-new": f"/cases/{c}/events/new/",
        "lawyer-assign": f"/cases/{c}/lawyers/new/",
        "hearings": "/hearings/",
        "hearing-edit": f"/hearings/{scene['hearing'].pk}/edit/",
        "bail-decide": f"/bail-requests/{scene['bail'].pk}/decide/",
        "people": "/detainees/",
        "person": f"/detainees/{d}/",
        "person-edit": f"/detainees/{d}/edit/",
        "lawyers": "/lawyers/",
        "reports": "/reports/",
        "import": "/imports/",
        "audit": "/audit/",
        "audit-verify": "/audit/verify/",
        "account": "/accounts/",
        "jobs": "/jobs/",
        "not-found": "/cases/999999/",
    }


# Django's admin: its look is Django's, but the Khmer in it must not be boxes.
DJANGO_ADMIN_PATHS = {"admin-people": "/admin/casework/detainee/"}

# Pages seen as the caseworker (their dashboard differs) and signed out.
CASEWORKER_PATHS = {"dashboard-caseworker": "/"}
SIGNED_OUT_PATHS = {
    "login": "/accounts/login/",
    "password-reset": "/accounts/password-reset/",
    "password-reset-sent": "/accounts/password-reset/sent/",
    "password-reset-bad-link": "/accounts/reset/MQ/not-a-token/",
}
