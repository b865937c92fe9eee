"""What each kind of job does, and the audit entry it leaves.

Each handler takes the job and a ``progress(done, total)`` callable and returns
the job's result. Every audit entry is written when the work is finished, with
the real number of rows, or, when it fails, as failed (``on_failure``).
"""

import contextlib
import shutil
import threading

from django.db.models.signals import post_save
from django.http import QueryDict
from django.utils.translation import gettext as _

from audit.log import record, record_export
from audit.models import AuditEvent
from casework.models import Accused, Case, Detainee

from .models import Job
from .runner import JobFailed, file_for, keep_file

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _counting(rows, progress, every: int = 500):
    done = 0
    for row in rows:
        yield row
        done += 1
        if done % every == 0:
            progress(done)


def export(job: Job, progress) -> dict:
    from reports import views
    from reports.spreadsheet import csv_stream, xlsx_file

    params = job.params
    query = QueryDict(params["query"])
    source = views.ExportSource(
        job.requested_by, params["what"], query, anonymised=params["anonymised"]
    )
    if source.filterset.is_bound and not source.filterset.is_valid():
        raise JobFailed(_("The list's filters are no longer valid: export it again."))
    queryset = source.queryset()
    total = queryset.count()
    progress(0, total)
    fmt = params["format"]
    name = source.filename(fmt)
    path = file_for(job, name)
    written = 0

    def rows():
        nonlocal written
        for row in _counting(source.rows(queryset), progress):
            written += 1
            yield row

    try:
        if fmt == "csv":
            with open(path, "w", encoding="utf-8", newline="") as out:
                for piece in csv_stream(source.header(), rows()):
                    out.write(piece)
            content_type = "text/csv; charset=utf-8"
        else:
            title = str(source.model._meta.verbose_name_plural)
            handle, written = xlsx_file(title, source.header(), rows(), source.widths())
            with handle, open(path, "wb") as out:
                shutil.copyfileobj(handle, out)
            content_type = XLSX_TYPE
    except BaseException:
        # Cut off (the database gone, the disk full): the audit entry (on_failure) gives
        # the rows written before it, exactly, and the partial file is not kept.
        progress(written, total)
        path.unlink(missing_ok=True)
        raise
    progress(written, total)
    keep_file(job, path, name=name, content_type=content_type)
    record_export(
        None,
        actor=job.requested_by,
        model=source.model,
        fmt=fmt,
        filters=source.filters(query),
        rows=written,
        anonymised=source.anonymised,
        outcome="complete",
        extra={"job": str(job.pk)},
    )
    return {"rows": written}


def report_pdf(job: Job, progress) -> dict:
    from reports import views

    progress(0, 2)
    query = QueryDict(job.params["query"])
    anonymised = job.params["anonymised"]
    try:
        pdf, filters, figures = views.report_pdf_file(
            job.requested_by, query, anonymised=anonymised
        )
    except ValueError as exc:
        raise JobFailed(_("The report's filters are no longer valid: ask for it again.")) from exc
    progress(1)
    name = views._filename("casework-report", anonymised, "pdf")
    path = file_for(job, name)
    path.write_bytes(pdf)
    keep_file(job, path, name=name, content_type="application/pdf")
    rows = len(figures["held"]["rows"])
    record_export(
        None,
        actor=job.requested_by,
        model=Case,
        fmt="pdf",
        filters=filters,
        rows=rows,
        anonymised=anonymised,
        outcome="complete",
        extra={"job": str(job.pk)},
    )
    progress(2)
    return {"rows": rows}


@contextlib.contextmanager
def _counted_writes(progress):
    """Count the records the import saves in this thread, for its progress bar,
    without reaching into the importer: each save of a case, person or accused."""
    thread = threading.get_ident()
    written = 0

    def saved(sender, **kwargs):
        nonlocal written
        if threading.get_ident() == thread:
            written += 1
            progress(written)

    uid = f"job-progress-{thread}"
    for model in (Case, Detainee, Accused):
        post_save.connect(saved, sender=model, weak=False, dispatch_uid=(uid, model))
    try:
        yield
    finally:
        for model in (Case, Detainee, Accused):
            post_save.disconnect(sender=model, dispatch_uid=(uid, model))


def import_(job: Job, progress) -> dict:
    from reports import importer, views

    progress(0, job.params.get("writes") or None)
    try:
        with _counted_writes(progress):
            plan = views.import_rows(job)
    except importer.PlanChanged as exc:
        raise JobFailed(
            _(
                "The records changed since the preview, so nothing was written. "
                "Upload the file again to see what the import would do now."
            ),
            audited=True,
        ) from exc
    return plan.counts()


def figures(job: Job, progress) -> dict:
    """The reports page's figures for a large scope, remembered for the page
    (reports/figures.py). Nothing leaves the server: no file, no audit entry."""
    from reports import figures as report_figures
    from reports.forms import ReportForm

    form = ReportForm(QueryDict(job.params["query"]), user=job.requested_by)
    if not form.is_valid():
        raise JobFailed(_("The report's filters are no longer valid: ask for it again."))
    progress(0, 1)
    report_figures.cached_figures(job.requested_by, form.period())  # done if already computed
    progress(1)
    return {}


HANDLERS = {
    Job.Kind.EXPORT: export,
    Job.Kind.REPORT_PDF: report_pdf,
    Job.Kind.IMPORT: import_,
    Job.Kind.FIGURES: figures,
}


def on_failure(job: Job) -> None:
    """The audit entry of a job that did not finish (a refused import has its own).
    An export cut off mid-way is ``incomplete``, with the rows it had written."""
    if job.kind == Job.Kind.FIGURES:
        return  # computed for the page only: nothing was read out
    data = {"job": str(job.pk), "outcome": "failed", "error": job.error}
    if job.kind == Job.Kind.EXPORT and job.progress_done:
        data.update(outcome="incomplete", expected=job.progress_total, file="not kept")
    if job.kind == Job.Kind.IMPORT:
        record(
            AuditEvent.IMPORT,
            actor=job.requested_by,
            model=Case,
            object_repr=job.params.get("name", ""),
            data={"stage": "commit", "file": job.params.get("name"), **data},
        )
        return
    record(
        AuditEvent.EXPORT,
        actor=job.requested_by,
        model=Case if job.params.get("what", "case") == "case" else Detainee,
        data={
            "format": job.params.get("format", "pdf"),
            "rows": job.progress_done,
            "anonymised": job.params.get("anonymised"),
            **data,
        },
    )
