"""Pages. Each view fetches through casework.access (404 outside scope) and
writes through casework.services (one function per action, audited)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from audit.log import record_search, record_view

from . import access, selectors, services
from .filters import CaseFilter, DetaineeFilter, HearingFilter
from .forms import (
    CONFLICT_MESSAGE,
    POSSIBLE_MATCH_ELSEWHERE,
    AddAccusedForm,
    AssignForm,
    BailDecisionForm,
    BailRequestForm,
    CaseForm,
    ChargeStepForm,
    DetaineeForm,
    EventForm,
    HearingForm,
    MergeForm,
    NewPeopleFormSet,
    NewPersonForm,
    OpenCaseExtrasForm,
    RemoveAccusedForm,
    RepresentationEndForm,
    RepresentationForm,
    StatusForm,
    has_match_elsewhere,
    likely_duplicates,
)
from .models import (
    Accused,
    BailRequest,
    Case,
    Detainee,
    Event,
    Hearing,
    Lawyer,
    PossibleDuplicate,
    Representation,
)
from .paging import ListPaginator, count_up_to

PAGE_SIZE = 50
# The dashboard says "Cases with no lawyer (1000+)" past this: the list links to them all.
DASHBOARD_COUNT_CAP = 1000


def _page(request, queryset, paginator=Paginator):
    return paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _querystring_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _form_page(request, form, save, *, title, success, then, case=None):
    """The one shape of every form page: GET shows the form; a valid POST calls
    ``save`` (a service function) and goes to ``then``.

    A save refused because someone else saved first shows what changed and
    keeps what the user typed; a rule the service enforces comes back as a
    form error. Nothing is half-saved: services run in a transaction.
    """
    if request.method == "POST" and form.is_valid():
        try:
            save()
        except services.ConflictError as exc:
            # Saved by someone else between the form's check and the service's lock.
            form.show_conflict(exc)
            form.add_error(None, CONFLICT_MESSAGE)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, success)
            return redirect(then)
    context = {"form": form, "case": case, "conflict": form_conflict(form), "title": title}
    return render(request, "casework/form.html", context)


def form_conflict(form):
    return getattr(form, "conflict", None) and form


def _record_search(request, model, params: tuple[str, ...]):
    """Searching for a name is a sensitive read: the words searched are recorded."""
    query = {name: request.GET[name][:500] for name in params if request.GET.get(name, "").strip()}
    if query:
        record_search(request, model=model, query=query)


def _filtered(request, filterset):
    """The filtered rows, or none with the form's errors when a value is not understood."""
    if not filterset.is_bound or filterset.is_valid():
        return filterset.qs, False
    return filterset.queryset.none(), True


# --- Dashboard ------------------------------------------------------------


@require_safe
def dashboard(request):
    user = request.user
    if access.is_admin(user) or access.is_coordinator(user):
        return _coordinator_dashboard(request)
    return _caseworker_dashboard(request)


def _caseworker_dashboard(request):
    user = request.user
    mine = selectors.case_list_queryset(user).filter(caseworker=user).open()
    stale = Case.objects.visible_to(user).open().stale(30).select_related("province")
    pending_bail = (
        BailRequest.objects.visible_to(user)
        .pending_longer_than(5)
        .select_related("accused__detainee", "case", "court")
    )
    context = {
        "my_cases": mine.order_by("-updated_at")[:20],
        "my_cases_count": mine.count(),
        "hearings": selectors.upcoming_hearings(user, 14, limit=50),
        "near_limit": selectors.near_limit_periods(user, limit=50),
        "pending_bail": selectors.first_rows(pending_bail, 50),
        "no_outcome": selectors.hearings_without_outcome(user, 50),
        "stale_cases": stale.order_by("updated_at")[:20],
    }
    return render(request, "casework/dashboard_caseworker.html", context)


def _coordinator_dashboard(request):
    user = request.user
    scoped = Case.objects.visible_to(user).open()
    hearings = list(selectors.upcoming_hearings(user, 7, limit=200))
    by_province = {}
    for hearing in hearings:
        by_province.setdefault(hearing.case.province, []).append(hearing)
    unassigned = scoped.filter(caseworker__isnull=True)
    no_lawyer = scoped.without_lawyer()
    context = {
        "caseload": list(selectors.caseload(user)),
        "unassigned": unassigned.select_related("province")[:20],
        "unassigned_count": count_up_to(unassigned, DASHBOARD_COUNT_CAP),
        "no_lawyer": no_lawyer.select_related("province", "caseworker")[:20],
        "no_lawyer_count": count_up_to(no_lawyer, DASHBOARD_COUNT_CAP),
        "hearings_by_province": sorted(by_province.items(), key=lambda kv: kv[0].name_en),
        "near_limit": selectors.near_limit_periods(user, limit=50),
    }
    return render(request, "casework/dashboard_coordinator.html", context)


# --- Cases ----------------------------------------------------------------


@require_safe
def case_list(request):
    filterset = CaseFilter(
        request.GET or None,
        queryset=selectors.case_list_queryset(request.user),
        user=request.user,
    )
    rows, invalid = _filtered(request, filterset)
    _record_search(request, Case, ("q",))
    # The page's rows come from the unfiltered list: a name search runs for the ids
    # only, and once (its matches counted with the page).
    shown = selectors.case_list_queryset(request.user)
    searching = not invalid and bool(filterset.is_bound and filterset.form.cleaned_data.get("q"))
    page = ListPaginator(
        rows, PAGE_SIZE, rows=lambda ids: shown.filter(pk__in=ids), counted_with_page=searching
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "casework/case_list.html",
        {
            "filter": filterset,
            "page": page,
            "invalid": invalid,
            "querystring": _querystring_without_page(request),
            "filtered": bool(request.GET.dict().keys() - {"page", "sort"}),
        },
    )


@require_http_methods(["GET", "POST"])
def case_new(request):
    """Open a case: its details and status, people on file, and any number of new people
    ("Add another person" shows one more row and keeps what was typed)."""
    user = request.user
    data = request.POST or None
    adding_row = bool(data and "add_person" in data)
    if adding_row:
        data = data.copy()
        total = int(data.get("person-TOTAL_FORMS", "1") or 1)
        data["person-TOTAL_FORMS"] = str(min(total + 1, NewPeopleFormSet.max_num))
    form = CaseForm(data, user=user, prefix="case")
    people = NewPeopleFormSet(data, prefix="person")
    extras = OpenCaseExtrasForm(data, user=user, prefix="extra")
    duplicates, elsewhere = [], False
    valid = data is not None and not adding_row
    if valid and form.is_valid() & people.is_valid() & extras.is_valid():
        existing = list(extras.cleaned_data["existing"])
        new_people = [p.instance for p in people if p.cleaned_data and p.has_person()]
        unnamed = [
            p for p in people if p.cleaned_data and p.has_person() and not p.instance.name_latin
        ]
        for person_form in unnamed:
            person_form.add_error("name_latin", _("Give the name in Latin script as well."))
        if not unnamed and not existing and not new_people:
            extras.add_error("existing", _("Choose a person on file or enter a new person."))
        elif not unnamed:
            if new_people and not extras.cleaned_data["confirm_new"]:
                duplicates = [d for p in new_people for d in likely_duplicates(user, p)]
            if new_people and not extras.cleaned_data["seen_elsewhere"]:
                elsewhere = any(
                    [_says_match_elsewhere(request, extras, person) for person in new_people]
                )
            if not duplicates and not elsewhere:
                case = services.case_open(
                    actor=user,
                    case=form.instance,
                    charges=form.cleaned_data["charges"],
                    detainees=existing,
                    new_detainees=new_people,
                    custody_status=extras.cleaned_data["custody_status"],
                )
                messages.success(request, _("Case %(ref)s opened.") % {"ref": case.reference})
                return redirect(case)
    return render(
        request,
        "casework/case_new.html",
        {
            "form": form,
            "people": people,
            "extras": extras,
            "duplicates": duplicates,
            "elsewhere": elsewhere,
            "elsewhere_notice": POSSIBLE_MATCH_ELSEWHERE,
        },
    )


def _says_match_elsewhere(request, extras, person) -> bool:
    """Whether to tell the user that a possible match is on file outside their scope
    (that alone: docs/permissions.md). Asking is a name search, so it is recorded; the
    form remembers it has said so, and the next save goes on."""
    if not has_match_elsewhere(request.user, person):
        return False
    record_search(
        request,
        model=Detainee,
        query={
            "duplicate check": " / ".join(n for n in (person.name_latin, person.name_khmer) if n)
        },
    )
    extras.data = extras.data.copy()
    extras.data[extras.add_prefix("seen_elsewhere")] = "on"
    return True


@require_safe
def case_detail(request, pk):
    user = request.user
    case = access.get_case_for(user, pk, queryset=selectors.case_detail_queryset())
    record_view(request, case)
    accused = list(selectors.accused_with_clocks(case))
    next_hearing = (
        Hearing.objects.filter(case=case, scheduled_at__gte=timezone.now())
        .exclude(status=Hearing.Status.CANCELLED)
        .select_related("court")
        .order_by("scheduled_at")
        .first()
    )
    history = selectors.case_history(case) if access.can_see_history(user) else None
    return render(
        request,
        "casework/case_detail.html",
        {
            "case": case,
            "accused": accused,
            "removed": list(selectors.removed_accused(case)),
            "charges": list(case.charges.all()),
            "next_hearing": next_hearing,
            "timeline": selectors.case_timeline(case),
            "history": history,
            "can_assign": access.can_assign(user),
            "status_form": StatusForm(initial={"status": case.status, "version": case.version}),
        },
    )


@require_safe
def case_timeline(request, pk):
    """The whole timeline of a case, newest first, a page at a time. It shows what the
    case page's timeline shows, so opening it is recorded as a view of the case."""
    case = access.get_case_for(request.user, pk)
    record_view(request, case)
    page = selectors.timeline_page(case, request.GET.get("page"))
    return render(
        request,
        "casework/case_timeline.html",
        {
            "case": case,
            "page": page,
            "upcoming": [item for item in page.object_list if item.upcoming],
            "past": [item for item in page.object_list if not item.upcoming],
        },
    )


@require_http_methods(["GET", "POST"])
def case_edit(request, pk):
    user = request.user
    case = access.get_case_for(user, pk)
    form = CaseForm(request.POST or None, instance=case, user=user)

    def save():
        services.case_update(
            actor=user, case=form.instance, base=form.base, charges=form.cleaned_data["charges"]
        )

    title = _("Edit case %(ref)s") % {"ref": case.reference}
    return _form_page(
        request, form, save, title=title, success=_("Case saved."), then=case, case=case
    )


@require_http_methods(["POST"])
def case_status(request, pk):
    user = request.user
    case = access.get_case_for(user, pk)
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            services.case_change_status(
                actor=user,
                case=case,
                status=form.cleaned_data["status"],
                occurred_on=form.cleaned_data["occurred_on"],
                note=form.cleaned_data["note"],
                expected_version=form.cleaned_data.get("version"),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        except services.ConflictError:
            messages.error(
                request,
                _(
                    "Someone else changed this case meanwhile. The status was "
                    "not changed; check the case and try again."
                ),
            )
        else:
            messages.success(request, _("Status changed."))
    else:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
    return redirect(case)


@require_http_methods(["GET", "POST"])
def case_assign(request, pk):
    user = request.user
    case = access.get_case_for(user, pk)
    if not access.can_assign(user):
        raise PermissionDenied
    form = AssignForm(
        request.POST or None, user=user, case=case, initial={"caseworker": case.caseworker_id}
    )

    def save():
        services.case_assign(actor=user, case=case, caseworker=form.cleaned_data["caseworker"])

    title = _("Assign a caseworker to %(ref)s") % {"ref": case.reference}
    return _form_page(
        request, form, save, title=title, success=_("Case reassigned."), then=case, case=case
    )


@require_http_methods(["GET", "POST"])
def hearing_new(request, pk):
    user = request.user
    case = access.get_case_for(user, pk)
    form = HearingForm(request.POST or None, user=user, case=case)
    form.instance.case = case

    def save():
        services.hearing_record(
            actor=user,
            hearing=form.instance,
            accused=form.cleaned_data["accused"],
            case_status=form.cleaned_data.get("case_status"),
        )

    return _form_page(
        request,
        form,
        save,
        title=_("Log a hearing"),
        success=_("Hearing saved."),
        then=case,
        case=case,
    )


@require_http_methods(["GET", "POST"])
def hearing_edit(request, pk):
    user = request.user
    hearing = access.get_hearing_for(user, pk)
    case = hearing.case
    form = HearingForm(request.POST or None, instance=hearing, user=user, case=case)

    def save():
        services.hearing_update(
            actor=user,
            hearing=form.instance,
            base=form.base,
            accused=form.cleaned_data["accused"],
            case_status=form.cleaned_data.get("case_status"),
        )

    return _form_page(
        request, form, save, title=_("Hearing"), success=_("Hearing saved."), then=case, case=case
    )


@require_http_methods(["GET", "POST"])
def bail_new(request, pk):
    user = request.user
    case = access.get_case_for(user, pk)
    form = BailRequestForm(request.POST or None, user=user, case=case)

    def save():
        services.bail_file(actor=user, bail=form.instance)

    return _form_page(
        request,
        form,
        save,
        title=_("File a bail request"),
        success=_("Bail request recorded."),
        then=case,
        case=case,
    )


@require_http_methods(["GET", "POST"])
def bail_decide(request, pk):
    user = request.user
    bail = access.get_bail_request_for(user, pk)
    form = BailDecisionForm(request.POST or None, instance=bail)

    def save():
        services.bail_decide(actor=user, bail=form.instance, base=form.base)

    title = _("Bail decision for %(name)s") % {"name": bail.accused.detainee.name_latin}
    return _form_page(
        request,
        form,
        save,
        title=title,
        success=_("Decision recorded."),
        then=bail.case,
        case=bail.case,
    )


@require_http_methods(["GET", "POST"])
def event_new(request, pk):
    user = request.user
    case = access.get_case_for(user, pk)
    kind = request.GET.get("kind", "")
    initial = {"kind": kind} if kind in Event.Kind.values else {}
    form = EventForm(request.POST or None, case=case, initial=initial)

    def save():
        services.event_record(
            actor=user,
            event=form.instance,
            limit=form.cleaned_data.get("limit"),
            place_held=form.cleaned_data.get("place_held", ""),
            case_status=form.cleaned_data.get("case_status"),
        )

    return _form_page(
        request,
        form,
        save,
        title=_("Record a custody or case event"),
        success=_("Event recorded."),
        then=case,
        case=case,
    )


@require_http_methods(["GET", "POST"])
def lawyer_assign(request, pk):
    user = request.user
    case = access.get_case_for(user, pk)
    form = RepresentationForm(request.POST or None, user=user, case=case)

    def save():
        representation = Representation(
            lawyer=form.build_lawyer(),
            accused=form.cleaned_data["accused"],
            since=form.cleaned_data["since"],
        )
        services.lawyer_assign(actor=user, representation=representation)

    return _form_page(
        request,
        form,
        save,
        title=_("Assign a lawyer"),
        success=_("Lawyer assigned."),
        then=case,
        case=case,
    )


@require_http_methods(["GET", "POST"])
def accused_add(request, pk):
    """Add a person to a case already open: someone on file, or a new person."""
    user = request.user
    case = access.get_case_for(user, pk)
    form = AddAccusedForm(request.POST or None, user=user, case=case)
    person_form = NewPersonForm(request.POST or None)
    duplicates = []
    if request.method == "POST" and form.is_valid() & person_form.is_valid():
        person = form.cleaned_data["existing"]
        new_person = person_form.instance if person_form.has_person() else None
        if person is None and new_person is None:
            form.add_error("existing", _("Choose a person on file or enter a new person."))
        elif person is not None and new_person is not None:
            form.add_error(
                "existing", _("Choose a person on file or enter a new person, not both.")
            )
        elif new_person is not None and not new_person.name_latin:
            person_form.add_error("name_latin", _("Give the name in Latin script as well."))
        else:
            if new_person is not None and not form.cleaned_data["confirm_new"]:
                in_case = set(case.accused.values_list("detainee", flat=True))
                duplicates = [
                    d for d in likely_duplicates(user, new_person) if d.pk not in in_case
                ]
            if not duplicates:
                try:
                    with transaction.atomic():
                        if new_person is not None:
                            person = services.detainee_create(actor=user, detainee=new_person)
                            if getattr(person, "matches_elsewhere", 0):
                                messages.info(request, POSSIBLE_MATCH_ELSEWHERE)
                        services.accused_add(
                            actor=user,
                            case=case,
                            detainee=person,
                            custody_status=form.cleaned_data["custody_status"],
                            charges=form.cleaned_data["charges"],
                        )
                except ValidationError as exc:
                    form.add_error(None, exc)
                else:
                    messages.success(
                        request,
                        _("%(name)s added to the case.") % {"name": person.name_latin},
                    )
                    return redirect(case)
    return render(
        request,
        "casework/accused_add.html",
        {"case": case, "form": form, "person_form": person_form, "duplicates": duplicates},
    )


@require_http_methods(["GET", "POST"])
def accused_remove(request, pk):
    user = request.user
    accused = access.get_accused_for(user, pk)
    case = accused.case
    form = RemoveAccusedForm(request.POST or None)

    def save():
        services.accused_remove(
            actor=user,
            accused=accused,
            reason=form.cleaned_data["reason"],
            on=form.cleaned_data["on"],
        )

    title = _("Remove %(name)s from case %(ref)s") % {
        "name": accused.detainee.name_latin,
        "ref": case.reference,
    }
    return _form_page(
        request,
        form,
        save,
        title=title,
        success=_("Removed from the case; their history stays on file."),
        then=case,
        case=case,
    )


@require_http_methods(["GET", "POST"])
def charge_step_new(request, pk):
    user = request.user
    case = access.get_case_for(user, pk)
    form = ChargeStepForm(request.POST or None, case=case)

    def save():
        services.accused_charge_record(actor=user, step=form.instance)

    return _form_page(
        request,
        form,
        save,
        title=_("Record a change in the charges"),
        success=_("Charges updated."),
        then=case,
        case=case,
    )


@require_http_methods(["GET", "POST"])
def representation_end(request, pk):
    """A lawyer withdrew, was replaced or dismissed, or the case closed: the
    representation ends (kept, shown among the lawyer's past cases)."""
    user = request.user
    representation = access.get_representation_for(user, pk)
    case = representation.accused.case
    form = RepresentationEndForm(request.POST or None, instance=representation)

    def save():
        services.representation_end(
            actor=user,
            representation=form.instance,
            until=form.cleaned_data["until"],
            reason=form.cleaned_data["end_reason"],
            note=form.cleaned_data["end_note"],
            base=form.base,
        )

    title = _("End %(lawyer)s's representation of %(name)s") % {
        "lawyer": representation.lawyer.name,
        "name": representation.accused.detainee.name_latin,
    }
    return _form_page(
        request, form, save, title=title, success=_("Representation ended."), then=case, case=case
    )


# --- People ---------------------------------------------------------------


@require_safe
def detainee_list(request):
    # Counts only the cases this user may see: a count is a leak too.
    queryset = selectors.detainee_list_queryset(request.user)
    filterset = DetaineeFilter(request.GET or None, queryset=queryset, user=request.user)
    rows, invalid = _filtered(request, filterset)
    _record_search(request, Detainee, ("q",))
    return render(
        request,
        "casework/detainee_list.html",
        {
            "filter": filterset,
            "page": _page(request, rows, ListPaginator),
            "invalid": invalid,
            "querystring": _querystring_without_page(request),
            "filtered": bool(request.GET.dict().keys() - {"page", "sort"}),
        },
    )


@require_safe
def detainee_detail(request, pk):
    user = request.user
    detainee = access.get_detainee_for(
        user, pk, queryset=Detainee.objects.select_related("home_province")
    )
    record_view(request, detainee)
    visible_cases = Case.objects.visible_to(user).values("pk")
    accusations = (
        detainee.accusations.filter(case__in=visible_cases)
        .select_related("case__province", "case__court")
        .prefetch_related("custody_periods__limit", "case__charges")
        .order_by("-case__opened_on")
    )
    hearings = (
        Hearing.objects.filter(case__in=visible_cases, case__accused__detainee=detainee)
        .select_related("case", "court")
        .order_by("-scheduled_at")
    )
    bail = BailRequest.objects.filter(
        case__in=visible_cases, accused__detainee=detainee
    ).select_related("case", "court", "filed_by")
    return render(
        request,
        "casework/detainee_detail.html",
        {
            "detainee": detainee,
            "accusations": accusations,
            "hearings": hearings,
            "bail_requests": bail,
            "show_sensitive": access.can_see_sensitive(user, detainee),
        },
    )


@require_http_methods(["GET", "POST"])
def detainee_edit(request, pk):
    user = request.user
    detainee = access.get_detainee_for(user, pk)
    form = DetaineeForm(
        request.POST or None,
        instance=detainee,
        show_sensitive=access.can_see_sensitive(user, detainee),
    )

    def save():
        services.detainee_update(actor=user, detainee=form.instance, base=form.base)
        if form.instance.matches_elsewhere:
            messages.info(request, POSSIBLE_MATCH_ELSEWHERE)

    title = _("Edit %(name)s") % {"name": detainee.name_latin}
    response = _form_page(request, form, save, title=title, success=_("Saved."), then=detainee)
    if response.status_code == 200 and set(Detainee.SENSITIVE_FIELDS) & set(form.fields):
        # The form shows the family contact and whereabouts: a read of them.
        record_view(request, detainee)
    return response


# --- Lawyers and hearings -------------------------------------------------


@require_safe
def lawyer_list(request):
    user = request.user
    visible_cases = Case.objects.visible_to(user).values("pk")
    reps = Representation.objects.filter(lawyer=OuterRef("pk"), accused__case__in=visible_cases)
    lawyers = (
        Lawyer.objects.visible_to(user)
        .annotate(
            case_count=Count(
                "representations__accused__case",
                filter=Q(representations__accused__case__in=visible_cases),
                distinct=True,
            ),
            active=Exists(reps.current()),
        )
        .order_by("name", "pk")
    )
    q = request.GET.get("q", "").strip()[:200]  # a name, not a paragraph
    _record_search(request, Lawyer, ("q",))
    if q:
        lawyers = lawyers.filter(
            Q(name__icontains=q)
            | Q(name_khmer__icontains=q)
            | Q(organisation__icontains=q)
            | Q(bar_number__icontains=q)
        )
    return render(
        request,
        "casework/lawyer_list.html",
        {
            "page": _page(request, lawyers),
            "q": q,
            "querystring": _querystring_without_page(request),
        },
    )


@require_safe
def lawyer_detail(request, pk):
    """A lawyer and whom they represent now and before, within the user's cases only."""
    user = request.user
    lawyer = access.get_lawyer_for(user, pk)
    record_view(request, lawyer)
    representations = (
        Representation.objects.visible_to(user)
        .filter(lawyer=lawyer)
        .select_related("accused__detainee", "accused__case__province")
    )
    return render(
        request,
        "casework/lawyer_detail.html",
        {
            "lawyer": lawyer,
            "current": representations.current().order_by("-since", "pk"),
            "past": representations.ended().order_by("-until", "-since", "pk"),
        },
    )


@require_safe
def hearing_agenda(request):
    user = request.user
    today = timezone.localdate()
    queryset = (
        Hearing.objects.visible_to(user)
        .select_related("case__province", "case__caseworker", "court", "lawyer")
        .order_by("scheduled_at", "pk")
    )
    data = request.GET.copy()
    if not data.get("date_after") and not data.get("date_before"):
        data["date_after"] = today.isoformat()
    filterset = HearingFilter(data, queryset=queryset, user=user)
    rows, invalid = _filtered(request, filterset)
    page = _page(request, rows)
    days = {}
    for hearing in page:
        days.setdefault(timezone.localtime(hearing.scheduled_at).date(), []).append(hearing)
    return render(
        request,
        "casework/hearing_agenda.html",
        {
            "filter": filterset,
            "page": page,
            "days": sorted(days.items()),
            "invalid": invalid,
            "querystring": _querystring_without_page(request),
        },
    )


# --- Duplicates across scopes: the admins' review queue, merge and undo -------------


@require_http_methods(["GET", "POST"])
@access.require_role("admin")
def duplicate_queue(request):
    """Pairs of records that may be one person, raised when someone entered a name
    matching a record outside their scope. POST ``dismiss``: not the same person."""
    if request.method == "POST":
        flag = get_object_or_404(
            PossibleDuplicate, pk=_int_or_none(request.POST.get("dismiss")), status="open"
        )
        services.duplicate_dismiss(actor=request.user, flag=flag)
        messages.success(request, _("Marked as two different people."))
        return redirect("duplicate_queue")
    flags = (
        PossibleDuplicate.objects.filter(
            status=PossibleDuplicate.Status.OPEN,
            person__merged_into__isnull=True,
            match__merged_into__isnull=True,
        )
        .select_related("person__home_province", "match__home_province", "raised_by")
        .prefetch_related(
            Prefetch("person__accusations", queryset=_accusations(), to_attr="shown_cases"),
            Prefetch("match__accusations", queryset=_accusations(), to_attr="shown_cases"),
        )
        .order_by("-raised_at", "-pk")
    )
    return render(request, "casework/duplicate_queue.html", {"page": _page(request, flags)})


def _accusations():
    return Accused.objects.select_related("case__province").order_by("case__reference")


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@require_http_methods(["GET", "POST"])
@access.require_role("admin")
def detainee_merge(request):
    """Merge two records of one person (admins). GET ?keep=&merge= compares them."""
    user = request.user
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = MergeForm(data)
    compared = form.is_valid() and [form.cleaned_data["kept"], form.cleaned_data["merged"]]
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.detainee_merge(
                actor=user,
                kept=form.cleaned_data["kept"],
                merged=form.cleaned_data["merged"],
                request=request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("Records merged. It can be undone from the audit log (entry %(n)s).")
                % {"n": entry.pk},
            )
            return redirect(form.cleaned_data["kept"])
    if compared:
        for person in compared:
            person.shown_cases = list(_accusations().filter(detainee=person))
    return render(
        request, "casework/detainee_merge.html", {"form": form, "compared": compared or []}
    )


@require_http_methods(["GET", "POST"])
@access.require_role("admin")
def merge_undo(request):
    """Undo a merge from its audit entry (?entry=<id>); without one, the latest merges."""
    from audit.models import AuditEntry, AuditEvent

    entry_id = _int_or_none(request.POST.get("entry") or request.GET.get("entry"))
    if entry_id is None:
        merges = (
            AuditEntry.objects.filter(event=AuditEvent.MERGE)
            .select_related("actor")
            .order_by("-id")[:50]
        )
        return render(request, "casework/merge_undo.html", {"merges": merges, "entry": None})
    entry = get_object_or_404(AuditEntry.objects.select_related("actor"), pk=entry_id)
    merge = services.merge_of(entry)
    if merge is None:
        raise Http404
    problem = services.merge_undo_problem(entry)
    if request.method == "POST" and not problem:
        try:
            services.detainee_merge_undo(actor=request.user, entry=entry, request=request)
        except ValidationError as exc:
            problem = " ".join(exc.messages)
        else:
            messages.success(request, _("The merge was undone: both records are on file again."))
            return redirect("detainee_detail", merge["merged"])
    people = Detainee.objects.in_bulk([merge["kept"], merge["merged"]])
    context = {
        "entry": entry,
        "merge": merge,
        "kept": people.get(merge["kept"]),
        "merged": people.get(merge["merged"]),
        "problem": problem,
    }
    return render(request, "casework/merge_undo.html", context)
