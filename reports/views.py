"""Reports, exports and imports. Who may use which: docs/permissions.md; what each
file contains and why: docs/reports.md.

Every export is written to the audit log *before* its first byte is sent, with
the number of rows it holds (counted first for the streamed CSV), so an
interrupted download is still on record as the export that was asked for. A
streamed CSV is recorded a second time when the stream ends: complete, or cut
off (the reader went away, the database failed) with the rows actually sent.
"""

import datetime as dt
import hashlib
import logging

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import MemoryFileUploadHandler, SkipFile
from django.db import DatabaseError, connection
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
from jobs import runner as jobs
from jobs.models import Job

from . import exports, importer
from .dossier import dossier_context
from .figures import Report, chart_data, figures_for
from .forms import IMPORT_MAX_BYTES, ImportUploadForm, ReportForm
from .pdf import render_pdf
from .pseudonyms import pseudonym
from .spreadsheet import csv_stream, xlsx_file
from .svg import report_charts

logger = logging.getLogger("casework.exports")

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
        # Remembered for a few minutes; past FIGURES_JOB_CASES cases, computed by a job
        # while the latest figures are shown (figures.figures_for). The page says as of when.
        shown = figures_for(request.user, form.period(), request.GET.urlencode())
        context.update(
            figures=shown.figures,
            charts=chart_data(shown.figures) if shown.figures else None,
            period=form.period(),
            computed_at=shown.computed_at,
            figures_current=shown.current,
            figures_job=shown.job,
            querystring=request.GET.urlencode(),
        )
        if shown.job is not None:
            from jobs.views import job_state

            context["figures_job_state"] = job_state(shown.job)
    return render(request, "reports/reports.html", context)


@admin_only
@require_safe
def report_pdf(request):
    """The figures as a PDF, made by a background job: the page follows it."""
    form = ReportForm(request.GET, user=request.user)
    try:
        anonymised = _anonymised(request)
    except BadParameter as exc:
        return _bad_request(request, {"anonymised": [str(exc)]})
    if not form.is_valid():
        return _bad_request(request, form.errors)
    job = jobs.start(
        Job.Kind.REPORT_PDF,
        user=request.user,
        params={"query": request.GET.urlencode(), "anonymised": anonymised},
    )
    return redirect(job)


def report_pdf_file(user, query, *, anonymised: bool) -> tuple[bytes, dict, dict]:
    """The report's PDF for ``user`` (by the job): the bytes, the filters, the figures."""
    form = ReportForm(query, user=user)
    if not form.is_valid():
        raise ValueError("the report's filters are no longer valid")
    period = form.period()
    figures = Report(user, period).all()
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
            "generated_by": user,
        },
    )
    return pdf, {"report": "figures", **form.as_filters()}, figures


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


def _export(request, source: "ExportSource", fmt: str):
    """The list's rows as CSV or XLSX, audited; 400 when a filter is not understood.

    Past ``EXPORT_JOB_ROWS`` rows the file is made by a background job instead
    (jobs/kinds.py), and the person is taken to its page to follow it.
    """
    filterset = source.filterset
    if filterset.is_bound and not filterset.is_valid():
        return _bad_request(request, filterset.form.errors)
    queryset = source.queryset()
    model, anonymised = source.model, source.anonymised
    filters = source.filters(request.GET)
    count = queryset.count()
    if count > settings.EXPORT_JOB_ROWS:
        job = jobs.start(
            Job.Kind.EXPORT,
            user=request.user,
            params={
                "what": source.what,
                "format": fmt,
                "query": request.GET.urlencode(),
                "anonymised": anonymised,
                "rows": count,
            },
        )
        return redirect(job)
    header = source.header()
    filename = source.filename(fmt)
    if fmt == "csv":
        started = record_export(
            request,
            model=model,
            fmt=fmt,
            filters=filters,
            rows=count,
            anonymised=anonymised,
            outcome="started",
        )

        def ended(sent: int, complete: bool):
            _record_end(
                request,
                model=model,
                filters=filters,
                anonymised=anonymised,
                sent=sent,
                expected=count,
                complete=complete,
                started=started.pk,
            )

        language = translation.get_language()
        response = StreamingHttpResponse(
            _CountedCsv(header, _in_language(language, source.rows(queryset)), ended),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return _no_store(response)
    read = 0

    def counted(rows):
        nonlocal read
        for row in rows:
            yield row
            read += 1

    try:
        handle, count = xlsx_file(
            str(model._meta.verbose_name_plural),
            header,
            counted(source.rows(queryset)),
            source.widths(),
        )
    except DatabaseError:
        # Cut off while the file was being made: nothing was sent. Recorded as such, with
        # how far it got, before the error page (never as a complete export).
        _record_end(
            request,
            model=model,
            fmt=fmt,
            filters=filters,
            anonymised=anonymised,
            sent=0,
            expected=count,
            complete=False,
            extra={"read": read},
        )
        raise
    record_export(request, model=model, fmt=fmt, filters=filters, rows=count, anonymised=anonymised)
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=XLSX_TYPE)
    return _no_store(response)


class _CountedCsv:
    """``csv_stream``, calling ``ended(rows_sent, complete)`` once, when the stream stops.

    A piece counts as sent once the server asks for the next one (a WSGI server
    asks after writing it to the socket), so a reader who goes away, or a
    database that fails mid-way, leaves the rows actually sent on record. The
    server closes the response in every case (``close`` below), even when the
    reader left before the first piece.
    """

    def __init__(self, header, rows, ended):
        self._ended = ended
        self._done = False
        self._pulled = self._sent = 0
        self._pieces = self._stream(header, rows)

    def __iter__(self):
        return self._pieces

    def _counting(self, rows):
        for row in rows:
            self._pulled += 1
            yield row

    def _stream(self, header, rows):
        complete = False
        try:
            for piece in csv_stream(header, self._counting(rows)):
                in_piece = self._pulled
                yield piece
                self._sent = in_piece
            complete = True
        finally:
            self._end(complete)

    def _end(self, complete: bool):
        if not self._done:
            self._done = True
            self._ended(self._sent, complete)

    def close(self):
        self._pieces.close()
        self._end(False)


def _record_end(
    request,
    *,
    model,
    fmt="csv",
    filters,
    anonymised,
    sent,
    expected,
    complete,
    started=None,
    extra=None,
):
    data = {"rows": sent, "expected": expected, **(extra or {})}
    if started is not None:
        data["started"] = started
    try:
        if connection.errors_occurred and connection.connection and not connection.is_usable():
            # The database failed mid-stream and broke the connection: the entry
            # below opens a new one.
            connection.close()
        record_export(
            request,
            model=model,
            fmt=fmt,
            filters=filters,
            rows=sent,
            anonymised=anonymised,
            outcome="complete" if complete else "incomplete",
            extra=data,
        )
    except DatabaseError:
        # Still gone: the server log keeps it (no filters there: they may hold names).
        logger.error(
            "export #%s (%s) ended (%s, %d of %d rows sent) but could not be recorded",
            started,
            fmt,
            "complete" if complete else "incomplete",
            sent,
            expected,
        )


def _deterministic(queryset):
    """Rows that tie on the chosen sort (two cases opened the same day) come out in the
    same order every time: the record number breaks the tie."""
    ordering = list(queryset.query.order_by or queryset.model._meta.ordering)
    if not {"pk", "-pk", "id", "-id"} & set(ordering):
        queryset = queryset.order_by(*ordering, "pk")
    return queryset


class ExportSource:
    """One list export: its rows, columns and file name, scoped to ``user``.

    Built the same way by the view and by the background job (jobs/kinds.py), from
    the list's query string, so a file made later holds what the list showed.
    """

    def __init__(self, user, what: str, query, *, anonymised: bool):
        self.what = what
        self.anonymised = anonymised
        if what == "case":
            self.model = Case
            self.filterset = CaseFilter(
                query or None, queryset=selectors.case_list_queryset(user), user=user
            )
            self.rows = lambda qs: exports.case_rows(qs, anonymised=anonymised)
            self.columns = exports.case_columns(anonymised)
            self.stem = "cases"
        else:
            self.model = Detainee
            self.filterset = DetaineeFilter(
                query or None, queryset=selectors.detainee_list_queryset(user), user=user
            )
            self.rows = lambda qs: exports.detainee_rows(qs, user=user, anonymised=anonymised)
            self.columns = exports.detainee_columns(anonymised)
            self.stem = "people"

    def queryset(self):
        return _deterministic(self.filterset.qs)

    def filters(self, query) -> dict:
        return {name: query[name] for name in self.filterset.filters if query.get(name)}

    def header(self) -> list[str]:
        return [str(label) for _key, label, _width in self.columns]

    def widths(self) -> list:
        return [width for _key, _label, width in self.columns]

    def filename(self, fmt: str) -> str:
        return _filename(self.stem, self.anonymised, fmt)


def _list_export(request, what: str, fmt: str):
    try:
        anonymised = _anonymised(request)
    except BadParameter as exc:
        return _bad_request(request, {"anonymised": [str(exc)]})
    source = ExportSource(request.user, what, request.GET, anonymised=anonymised)
    return _export(request, source, fmt)


@admin_only
@require_safe
def case_export(request, fmt: str):
    return _list_export(request, "case", fmt)


@admin_only
@require_safe
def detainee_export(request, fmt: str):
    return _list_export(request, "detainee", fmt)


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
            # What the job will write, for its progress bar (jobs/kinds.py).
            "writes": sum(n for key, n in plan.counts().items() if "unchanged" not in key),
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
    # Written by a background job (jobs/kinds.py): the page follows it.
    job = jobs.start(
        Job.Kind.IMPORT,
        user=request.user,
        params={
            "name": stored["name"],
            "sha256": stored["sha256"],
            "plan": stored["plan"],
            "writes": stored.get("writes"),
            "rows": stored["rows"],
        },
    )
    request.session.pop(SESSION_KEY, None)
    return redirect(job)


def import_rows(job):
    """Write an import's rows (by the job), as the preview showed them, with the
    audit entry in the same transaction. ``PlanChanged`` when the records changed
    since the preview: nothing is written, and that refusal is recorded."""
    params = job.params
    audit = {
        "stage": "commit",
        "file": params["name"],
        "sha256": params["sha256"],
        "job": str(job.pk),
    }
    user = job.requested_by

    def audited(plan):
        record(
            AuditEvent.IMPORT,
            actor=user,
            model=Case,
            object_repr=params["name"],
            data={**audit, "rows": len(params["rows"]), **plan.counts()},
        )

    try:
        return importer.apply_plan(
            params["rows"], user, expected_digest=params["plan"], on_commit=audited
        )
    except importer.PlanChanged:
        record(
            AuditEvent.IMPORT,
            actor=user,
            model=Case,
            object_repr=params["name"],
            data={**audit, "refused": "records changed since the preview"},
        )
        raise


def import_summary(counts: dict) -> str:
    return _(
        "%(cc)d cases opened, %(cu)d updated; %(pc)d people added, "
        "%(pu)d updated; %(ac)d people added to cases."
    ) % {
        "cc": counts.get("cases_created", 0),
        "cu": counts.get("cases_updated", 0),
        "pc": counts.get("people_created", 0),
        "pu": counts.get("people_updated", 0),
        "ac": counts.get("accused_added", 0),
    }
