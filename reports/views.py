"""Reports, exports and imports. Who may use which: docs/permissions.md; what each
file contains and why: docs/reports.md.

Every export is written to the audit log *before* its first byte is sent, with
the number of rows it holds (counted first for the streamed CSV), so an
interrupted download is still on record as the export that was asked for.
"""

import datetime as dt
import hashlib

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import MemoryFileUploadHandler, SkipFile
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from audit.log import record, record_export
from audit.models import AuditEvent
from casework import access, selectors
from casework.filters import CaseFilter, DetaineeFilter
from casework.models import Case, Detainee

from . import exports, importer
from .dossier import dossier_context
from .figures import FIGURES_SECONDS, Report, cached_figures, chart_data
from .forms import IMPORT_MAX_BYTES, ImportUploadForm, ReportForm
from .pdf import render_pdf
from .pseudonyms import pseudonym
from .spreadsheet import csv_stream, xlsx_file
from .svg import report_charts

# Only admins pass a role check that names no role (casework.access.require_role).
admin_only = access.require_role()
coordinators = access.require_role("coordinator")

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ANONYMISED_VALUES = {"": False, "0": False, "false": False, "1": True, "true": True}


class BadParameter(Exception):
    pass


def _anonymised(request) -> bool:
    """A privacy switch must be unambiguous: anything but 0/1 is refused, not guessed."""
    value = request.GET.get("anonymised", "").strip().lower()
    if value not in ANONYMISED_VALUES:
        raise BadParameter(_("“anonymised” must be 1 (anonymised) or 0 (names included)."))
    return ANONYMISED_VALUES[value]


def _bad_request(request, errors: dict):
    return render(request, "reports/bad_request.html", {"errors": errors}, status=400)


def _filename(stem: str, anonymised: bool, ext: str) -> str:
    day = timezone.localdate().isoformat()
    return f"{stem}{'-anonymised' if anonymised else ''}-{day}.{ext}"


def _no_store(response):
    # Personal data: no copy in a browser or proxy cache.
    response["Cache-Control"] = "no-store"
    return response


def _in_language(language: str, rows):
    """Stream rows in the request's language, wherever the server iterates them."""
    with translation.override(language):
        yield from rows


# --- Reports page ----------------------------------------------------------


@coordinators
@require_safe
def reports_page(request):
    form = ReportForm(request.GET, user=request.user)
    context = {"form": form, "can_export": access.can_export(request.user)}
    if form.is_valid():
        # Remembered for a few minutes (figures.cached_figures); the page says as of when.
        figures, computed_at = cached_figures(request.user, form.period())
        context.update(
            figures=figures,
            charts=chart_data(figures),
            period=form.period(),
            computed_at=computed_at,
            figures_minutes=FIGURES_SECONDS // 60,
            querystring=request.GET.urlencode(),
        )
    return render(request, "reports/reports.html", context)


@admin_only
@require_safe
def report_pdf(request):
    form = ReportForm(request.GET, user=request.user)
    try:
        anonymised = _anonymised(request)
    except BadParameter as exc:
        return _bad_request(request, {"anonymised": [str(exc)]})
    if not form.is_valid():
        return _bad_request(request, form.errors)
    period = form.period()
    figures = Report(request.user, period).all()
    if anonymised:
        _pseudonymise(figures)
    pdf = render_pdf(
        "reports/report_pdf.html",
        {
            "figures": figures,
            "charts": report_charts(figures),
            "period": period,
            "anonymised": anonymised,
            "generated_at": timezone.now(),
            "generated_by": request.user,
        },
        request=request,
    )
    record_export(
        request,
        model=Case,
        fmt="pdf",
        filters={"report": "figures", **form.as_filters()},
        rows=len(figures["held"]["rows"]),
        anonymised=anonymised,
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{_filename("casework-report", anonymised, "pdf")}"'
    )
    return _no_store(response)


def _pseudonymise(figures: dict):
    """Pseudonyms for the people, cases and caseworkers the report names."""
    for row in figures["held"]["rows"]:
        row.pseudonym = pseudonym("detainee", row.accused.detainee_id)
        row.case_pseudonym = pseudonym("case", row.accused.case_id)
    for row in figures["hearings"]:
        row["caseworker_pseudonym"] = pseudonym("user", row["case__caseworker__id"]) or _(
            "Unassigned"
        )
    for row in figures["caseload"]:
        row["caseworker_pseudonym"] = pseudonym("user", row["caseworker__id"]) or _("Unassigned")


# --- List exports ------------------------------------------------------------


def _export(request, *, model, filterset, rows, columns, fmt: str, stem: str, anonymised):
    """The list's rows as CSV or XLSX, audited; 400 when a filter is not understood."""
    if filterset.is_bound and not filterset.is_valid():
        return _bad_request(request, filterset.form.errors)
    queryset = _deterministic(filterset.qs)
    filters = {name: request.GET[name] for name in filterset.filters if request.GET.get(name)}
    header = [str(label) for _key, label, _width in columns]
    filename = _filename(stem, anonymised, fmt)
    if fmt == "csv":
        count = queryset.count()
        record_export(
            request, model=model, fmt=fmt, filters=filters, rows=count, anonymised=anonymised
        )
        language = translation.get_language()
        response = StreamingHttpResponse(
            csv_stream(header, _in_language(language, rows(queryset))),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return _no_store(response)
    widths = [width for _key, _label, width in columns]
    handle, count = xlsx_file(str(model._meta.verbose_name_plural), header, rows(queryset), widths)
    record_export(request, model=model, fmt=fmt, filters=filters, rows=count, anonymised=anonymised)
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=XLSX_TYPE)
    return _no_store(response)


def _deterministic(queryset):
    """Rows that tie on the chosen sort (two cases opened the same day) come out in the
    same order every time: the record number breaks the tie."""
    ordering = list(queryset.query.order_by or queryset.model._meta.ordering)
    if not {"pk", "-pk", "id", "-id"} & set(ordering):
        queryset = queryset.order_by(*ordering, "pk")
    return queryset


@admin_only
@require_safe
def case_export(request, fmt: str):
    try:
        anonymised = _anonymised(request)
    except BadParameter as exc:
        return _bad_request(request, {"anonymised": [str(exc)]})
    filterset = CaseFilter(
        request.GET or None,
        queryset=selectors.case_list_queryset(request.user),
        user=request.user,
    )
    return _export(
        request,
        model=Case,
        filterset=filterset,
        rows=lambda qs: exports.case_rows(qs, anonymised=anonymised),
        columns=exports.case_columns(anonymised),
        fmt=fmt,
        stem="cases",
        anonymised=anonymised,
    )


@admin_only
@require_safe
def detainee_export(request, fmt: str):
    try:
        anonymised = _anonymised(request)
    except BadParameter as exc:
        return _bad_request(request, {"anonymised": [str(exc)]})
    user = request.user
    filterset = DetaineeFilter(
        request.GET or None, queryset=selectors.detainee_list_queryset(user), user=user
    )
    return _export(
        request,
        model=Detainee,
        filterset=filterset,
        rows=lambda qs: exports.detainee_rows(qs, user=user, anonymised=anonymised),
        columns=exports.detainee_columns(anonymised),
        fmt=fmt,
        stem="people",
        anonymised=anonymised,
    )


# --- Dossier -------------------------------------------------------------------


@require_safe
def detainee_dossier(request, pk: int):
    user = request.user
    # Outside the user's scope the person does not exist (404), whatever the role;
    # inside it, only admins export (403).
    detainee = access.get_detainee_for(
        user, pk, queryset=Detainee.objects.select_related("home_province")
    )
    if not access.can_export(user):
        raise PermissionDenied
    try:
        anonymised = _anonymised(request)
    except BadParameter as exc:
        return _bad_request(request, {"anonymised": [str(exc)]})
    context = dossier_context(user, detainee, anonymised=anonymised)
    pdf = render_pdf("reports/dossier_pdf.html", context, request=request)
    # Recorded against the person, so the dossier shows in their history.
    record(
        AuditEvent.EXPORT,
        request=request,
        obj=detainee,
        object_repr=pseudonym("detainee", detainee.pk) if anonymised else "",
        data={
            "format": "pdf",
            "filters": {"dossier": detainee.pk},
            "rows": 1,
            "anonymised": anonymised,
        },
    )
    stem = "dossier-" + (pseudonym("detainee", detainee.pk) if anonymised else str(detainee.pk))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_filename(stem, False, "pdf")}"'
    return _no_store(response)


# --- Import --------------------------------------------------------------------

SESSION_KEY = "reports.import"
PREVIEW_VALID_FOR = dt.timedelta(minutes=30)
# Multipart framing around the file: headers, boundary, the CSRF token.
UPLOAD_OVERHEAD = 64 * 1024


class InMemoryUploadHandler(MemoryFileUploadHandler):
    """Keep the upload in memory, never in a temporary file on disk (it holds names),
    and stop reading past the size limit."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.activated = True

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > IMPORT_MAX_BYTES:
            self.request.import_too_large = True
            raise SkipFile
        return super().receive_data_chunk(raw_data, start)


def _import_page(request, form, status=200, **context):
    return render(
        request,
        "reports/import.html",
        {"form": form, "columns": importer.COLUMNS, **context},
        status=status,
    )


@admin_only
@csrf_exempt  # checked by _import_upload, after the size check (see below)
@require_http_methods(["GET", "POST"])
def import_upload(request):
    if request.method == "POST":
        # Refuse an oversized upload before reading its body; CSRF is checked after
        # this, because checking it would read (and store) the whole upload first.
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > IMPORT_MAX_BYTES + UPLOAD_OVERHEAD:
            form = ImportUploadForm()
            form.errors["file"] = form.error_class([_too_large_message()])
            return _import_page(request, form, status=413)
        request.upload_handlers = [InMemoryUploadHandler(request)]
    return _import_upload(request)


def _too_large_message() -> str:
    from django.template.defaultfilters import filesizeformat

    return _("The file is larger than %(limit)s. Split it into smaller files.") % {
        "limit": filesizeformat(IMPORT_MAX_BYTES)
    }


@csrf_protect
def _import_upload(request):
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method != "POST":
        return _import_page(request, form)
    if getattr(request, "import_too_large", False):
        form = ImportUploadForm()
        form.errors["file"] = form.error_class([_too_large_message()])
        return _import_page(request, form, status=413)
    if not form.is_valid():
        return _import_page(request, form, status=400)
    upload = form.cleaned_data["file"]
    data = upload.read()
    digest = hashlib.sha256(data).hexdigest()
    audit = {"stage": "preview", "file": upload.name, "sha256": digest, "bytes": len(data)}
    try:
        rows = importer.read_upload(upload.name, data)
    except importer.ImportFileError as exc:
        form.add_error("file", str(exc))
        record(
            AuditEvent.IMPORT,
            request=request,
            model=Case,
            object_repr=upload.name,
            data={**audit, "refused": str(exc)},
        )
        return _import_page(request, form, status=400)
    plan = importer.plan_import(rows, request.user)
    record(
        AuditEvent.IMPORT,
        request=request,
        model=Case,
        object_repr=upload.name,
        data={**audit, "rows": len(rows), "errors": plan.error_count, **plan.counts()},
    )
    _keep_for_confirm(request, plan, rows, name=upload.name, digest=digest)
    return _preview(request, plan, name=upload.name, digest=digest)


def _keep_for_confirm(request, plan, rows, *, name, digest):
    """The rows wait in the session (the same database as the records, cleared on
    confirm, cancel, logout or after 30 minutes) rather than in a file on disk."""
    if plan.ok and plan.changes_anything:
        request.session[SESSION_KEY] = {
            "name": name,
            "sha256": digest,
            "plan": plan.digest(),
            "rows": rows,
            "at": timezone.now().isoformat(),
        }
    else:
        request.session.pop(SESSION_KEY, None)


def _preview(request, plan, *, name, digest, status=200):
    return render(
        request,
        "reports/import_preview.html",
        {"plan": plan, "counts": plan.counts(), "name": name, "sha256": digest},
        status=status,
    )


@admin_only
@require_POST
def import_confirm(request):
    stored = request.session.get(SESSION_KEY)
    if request.POST.get("cancel"):
        request.session.pop(SESSION_KEY, None)
        messages.info(request, _("Import cancelled: nothing was written."))
        return redirect("import_upload")
    fresh = stored and timezone.now() - dt.datetime.fromisoformat(stored["at"]) < (
        PREVIEW_VALID_FOR
    )
    if not fresh or stored["sha256"] != request.POST.get("sha256"):
        request.session.pop(SESSION_KEY, None)
        messages.error(
            request, _("This preview has expired or was replaced. Upload the file again.")
        )
        return redirect("import_upload")
    audit = {"stage": "commit", "file": stored["name"], "sha256": stored["sha256"]}

    def audited(plan):
        record(
            AuditEvent.IMPORT,
            request=request,
            model=Case,
            object_repr=stored["name"],
            data={**audit, "rows": len(stored["rows"]), **plan.counts()},
        )

    try:
        plan = importer.apply_plan(
            stored["rows"], request.user, expected_digest=stored["plan"], on_commit=audited
        )
    except importer.PlanChanged as exc:
        plan = exc.plan
        record(
            AuditEvent.IMPORT,
            request=request,
            model=Case,
            object_repr=stored["name"],
            data={**audit, "refused": "records changed since the preview"},
        )
        _keep_for_confirm(
            request, plan, stored["rows"], name=stored["name"], digest=audit["sha256"]
        )
        messages.warning(
            request,
            _(
                "The records changed since the preview, so nothing was written. "
                "Here is what the import would do now."
            ),
        )
        return _preview(request, plan, name=stored["name"], digest=stored["sha256"], status=409)
    request.session.pop(SESSION_KEY, None)
    counts = plan.counts()
    messages.success(
        request,
        _(
            "Imported %(name)s: %(cc)d cases opened, %(cu)d updated; %(pc)d people added, "
            "%(pu)d updated; %(ac)d people added to cases."
        )
        % {
            "name": stored["name"],
            "cc": counts["cases_created"],
            "cu": counts["cases_updated"],
            "pc": counts["people_created"],
            "pu": counts["people_updated"],
            "ac": counts["accused_added"],
        },
    )
    return redirect("import_upload")
