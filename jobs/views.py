"""A job's page, its progress as JSON for the page's script, and its file.

Only the person who asked sees a job: for anyone else it does not exist (404).
The file is served while it is kept (settings.JOB_FILES_HOURS), to an account
that may still export, and every download is written to the audit log.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from audit.log import record
from audit.models import AuditEvent
from casework import access
from casework.models import Case, Detainee

from .models import Job
from .runner import files_dir


def _job_for(user, pk) -> Job:
    return get_object_or_404(Job.objects.of(user), pk=pk)


def _stage(job: Job) -> str:
    if job.status == Job.Status.QUEUED:
        if job.attempts:
            return _("Waiting to be run again: %(reason)s") % {"reason": job.error}
        return _("Waiting for a worker to start it.")
    if job.status == Job.Status.RUNNING:
        if job.progress_total:
            counts = {"done": job.progress_done, "total": job.progress_total}
            if job.kind == Job.Kind.IMPORT:
                # Counted in records (cases, people, people added to cases), not file rows:
                # a row may open a case and add a person, or update one already written.
                return _("%(done)d of %(total)d records written.") % counts
            if job.kind == Job.Kind.EXPORT:
                return _("%(done)d of %(total)d rows written.") % counts
            return _("%(done)d of %(total)d done.") % counts
        return _("Working on it.")
    if job.status == Job.Status.FAILED:
        return _("It failed: %(reason)s Nothing was half-done.") % {"reason": job.error}
    return _outcome(job)


def _outcome(job: Job) -> str:
    if job.kind == Job.Kind.IMPORT:
        from reports.views import import_summary

        return _("Imported %(name)s: %(summary)s") % {
            "name": job.params.get("name", ""),
            "summary": import_summary(job.result),
        }
    if job.kind == Job.Kind.FIGURES:
        return _("The figures are ready.")
    if job.has_file:
        return _("Ready: %(rows)d rows.") % {"rows": job.result.get("rows", 0)}
    return _("Done. The file is no longer kept: ask for it again.")


def job_state(job: Job) -> dict:
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "stage": _stage(job),
        "done": job.progress_done,
        "total": job.progress_total,
        "percent": job.percent,
        "finished": job.finished,
        "file_url": reverse("job_file", args=[job.pk]) if job.has_file else None,
        "file_name": job.file_name if job.has_file else None,
    }


@require_safe
def job_list(request):
    """The person's own recent jobs (the reports page's figures jobs left out: they are
    the page's own business), so a job left running can be found again."""
    jobs = Job.objects.of(request.user).exclude(kind=Job.Kind.FIGURES)[:JOBS_LISTED]
    rows = [{"job": job, "state": job_state(job)} for job in jobs]
    return render(request, "jobs/list.html", {"rows": rows, "listed": JOBS_LISTED})


JOBS_LISTED = 50


@require_safe
def job_detail(request, pk):
    job = _job_for(request.user, pk)
    context = {"job": job, "state": job_state(job), "job_files_hours": settings.JOB_FILES_HOURS}
    return render(request, "jobs/detail.html", context)


@require_safe
def job_status(request, pk):
    """Polled by static/js/job-progress.js every few seconds while the page is open."""
    return JsonResponse(job_state(_job_for(request.user, pk)))


@require_safe
def job_file(request, pk):
    job = _job_for(request.user, pk)
    if not access.can_export(request.user):
        raise PermissionDenied  # no longer allowed to export: the file stays closed
    if not job.has_file:
        raise Http404(_("This file is no longer kept."))
    path = files_dir() / job.file_path
    if not path.is_file():
        raise Http404(_("This file is no longer kept."))
    record(
        AuditEvent.EXPORT,
        request=request,
        model=Detainee if job.params.get("what") == "detainee" else Case,
        object_repr=job.file_name,
        data={
            "outcome": "downloaded",
            "job": str(job.pk),
            "format": job.params.get("format", "pdf"),
            "rows": job.result.get("rows"),
            "anonymised": job.params.get("anonymised"),
        },
    )
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=job.file_name, content_type=job.content_type
    )
    response["Cache-Control"] = "no-store"
    return response
