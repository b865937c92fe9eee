"""A background job: who asked for what, how far it got, and how it ended.

The task engine (django-tasks, database backend; docs/jobs.md) only carries
"run job N" to a worker. The job row is the record people see: it survives a
worker's restart (jobs/runner.py puts a job whose worker went silent back in
the queue, or marks it failed), and it holds the finished file's place until
the file expires.
"""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from casework.choices import QuickChoiceDisplay


class JobQuerySet(models.QuerySet):
    def of(self, user):
        """A user's own jobs: nobody else's job exists for them (404)."""
        return self.filter(requested_by=user)

    def lost(self, silent_for_seconds: int):
        """Running, but no sign of life from its worker for ``silent_for_seconds``."""
        cutoff = timezone.now() - timezone.timedelta(seconds=silent_for_seconds)
        return self.filter(status=Job.Status.RUNNING, heartbeat_at__lt=cutoff)

    def files_expired(self):
        return self.exclude(file_path="").filter(file_expires_at__lte=timezone.now())


class Job(QuickChoiceDisplay, models.Model):
    class Kind(models.TextChoices):
        IMPORT = "import", _("Import")
        EXPORT = "export", _("Export")
        REPORT_PDF = "report_pdf", _("PDF report")
        FIGURES = "figures", _("Report figures")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("asked at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Written by the worker every few seconds while it runs (jobs/runner.py).
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    progress_done = models.PositiveIntegerField(_("done"), default=0)
    progress_total = models.PositiveIntegerField(_("to do"), null=True, blank=True)
    # What the job works from (a list's filters, an import's rows); the rows of an
    # import are dropped once it has finished.
    params = models.JSONField(_("parameters"), default=dict)
    # What it did: counts of rows written or imported.
    result = models.JSONField(_("result"), default=dict)
    # Why it failed, in words for the person who asked (no traceback, no names).
    error = models.TextField(_("error"), blank=True)
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    # Relative to settings.JOB_FILES_DIR; empty once the file is deleted.
    file_path = models.CharField(_("file"), max_length=300, blank=True)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    file_expires_at = models.DateTimeField(_("file kept until"), null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["requested_by", "-created_at"], name="job_requester"),
            models.Index(fields=["status", "heartbeat_at"], name="job_status"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self):
        return reverse("job_detail", args=[self.pk])

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def has_file(self) -> bool:
        return (
            self.status == self.Status.DONE
            and bool(self.file_path)
            and self.file_expires_at is not None
            and self.file_expires_at > timezone.now()
        )

    @property
    def percent(self) -> int | None:
        if self.status == self.Status.DONE:
            return 100
        if not self.progress_total:
            return None
        return min(99, self.progress_done * 100 // self.progress_total)
