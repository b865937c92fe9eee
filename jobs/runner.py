"""Starting, running, recovering and cleaning up jobs.

``start`` writes the job and puts "run job N" in the task engine's queue in the
same transaction, so a job is never queued without its row nor the other way.
A worker (``manage.py jobs_worker``) runs ``run``: it marks the job running,
calls the kind's handler (jobs/kinds.py) and records the outcome. While the
handler works, a small thread writes the progress and a sign of life
(``heartbeat_at``) every few seconds over its own connection, so both show
even while the handler is inside one long transaction (an import).

A worker that is stopped gently (SIGTERM) finishes its job first. One that dies
(killed, the machine lost) leaves its job running and silent: ``recover_lost``
puts it back in the queue, up to ``JOB_MAX_ATTEMPTS`` runs in all, then marks it
failed. Every kind may run again safely: an import is all-or-nothing and checks
its plan again, an export or a report writes a new file.
"""

import logging
import threading
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.context import acting_as

from .models import Job

logger = logging.getLogger("casework.jobs")


class JobFailed(Exception):
    """A handler's way of saying why it stopped, in words for the person who asked.
    ``audited``: the handler has recorded the refusal in the audit log itself."""

    def __init__(self, message: str, *, audited: bool = False):
        super().__init__(message)
        self.audited = audited


def start(kind: str, *, user, params: dict) -> Job:
    from .tasks import run_job

    params = {"language": translation.get_language() or settings.LANGUAGE_CODE, **params}
    with transaction.atomic():
        job = Job.objects.create(kind=kind, requested_by=user, params=params)
        run_job.enqueue(str(job.pk))
    return job


class Progress:
    """What the handler reports, flushed to the job's row by the heartbeat thread."""

    def __init__(self, job: Job):
        self.job = job
        self.done = job.progress_done
        self.total = job.progress_total

    def __call__(self, done: int, total: int | None = None):
        self.done = done
        if total is not None:
            self.total = total


class Heartbeat(threading.Thread):
    """Every ``JOB_HEARTBEAT_SECONDS``: the progress and a sign of life, on its own
    connection (a thread's), so they commit whatever the handler's transaction does."""

    def __init__(self, job: Job, progress: Progress):
        super().__init__(name=f"job-{job.pk}-heartbeat", daemon=True)
        self.job_id = job.pk
        self.progress = progress
        self.stopped = threading.Event()

    def run(self):
        try:
            while not self.stopped.wait(settings.JOB_HEARTBEAT_SECONDS):
                self.beat()
        finally:
            connection.close()

    def beat(self):
        try:
            Job.objects.filter(pk=self.job_id, status=Job.Status.RUNNING).update(
                heartbeat_at=timezone.now(),
                progress_done=self.progress.done,
                progress_total=self.progress.total,
            )
        except Exception:  # SQLite busy with the handler's writes: next time
            logger.info("job %s: heartbeat skipped", self.job_id)

    def stop(self):
        self.stopped.set()
        self.join(10)


def run(job_id: str) -> None:
    job = _claim(job_id)
    if job is None:
        return
    from .kinds import HANDLERS, on_failure

    progress = Progress(job)
    heartbeat = Heartbeat(job, progress)
    heartbeat.start()
    try:
        with translation.override(job.params.get("language")), acting_as(job.requested_by):
            result = HANDLERS[job.kind](job, progress)
    except JobFailed as exc:
        _finish(job, progress, error=str(exc))
        if not exc.audited:
            on_failure(job)
    except Exception:
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        if connection.connection is not None and not connection.is_usable():
            connection.close()  # the database dropped it: the next query opens another
        _finish(job, progress, error=_("The job stopped on an unexpected error."))
        on_failure(job)
    except BaseException:
        # The worker is being stopped mid-job (a second SIGTERM): back in the queue.
        _requeue(job.pk, _("The worker stopped while running it."))
        raise
    else:
        _finish(job, progress, result=result)
    finally:
        heartbeat.stop()


def _claim(job_id) -> Job | None:
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != Job.Status.QUEUED:
            return None  # finished already, or another worker has it
        now = timezone.now()
        job.status = Job.Status.RUNNING
        job.started_at = job.heartbeat_at = now
        job.attempts += 1
        job.error = ""
        job.save(update_fields=["status", "started_at", "heartbeat_at", "attempts", "error"])
    return job


def _finish(job: Job, progress: Progress, *, result=None, error: str = ""):
    job.status = Job.Status.FAILED if error else Job.Status.DONE
    job.error = error
    job.result = result or job.result
    job.finished_at = timezone.now()
    job.progress_done = progress.total if not error and progress.total else progress.done
    job.progress_total = progress.total
    # An import's rows are not kept once it has finished.
    job.params.pop("rows", None)
    job.save()


def _requeue(job_id, reason: str) -> None:
    """Run a job again if it has runs left, else mark it failed. Returns nothing:
    the job's row says which."""
    from .kinds import on_failure
    from .tasks import run_job

    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job_id)
        if job.status != Job.Status.RUNNING:
            return  # finished meanwhile, or already put back by another worker
        if job.attempts < settings.JOB_MAX_ATTEMPTS:
            job.status = Job.Status.QUEUED
            job.error = reason
            job.save(update_fields=["status", "error"])
            run_job.enqueue(str(job.pk))
            logger.warning("job %s put back in the queue: %s", job.pk, reason)
            return
        job.status = Job.Status.FAILED
        job.error = reason
        job.finished_at = timezone.now()
        job.params.pop("rows", None)
        job.save()
    logger.warning("job %s failed after %d runs: %s", job.pk, job.attempts, reason)
    on_failure(job)


def recover_lost() -> int:
    """Jobs whose worker went silent: run again, or failed after the last attempt."""
    lost = list(Job.objects.lost(settings.JOB_STALE_SECONDS).values_list("pk", flat=True))
    for job_id in lost:
        _requeue(job_id, _("Its worker stopped answering; it was started again."))
    return len(lost)


# --- Files ---------------------------------------------------------------------------


def files_dir() -> Path:
    return Path(settings.JOB_FILES_DIR)


def file_for(job: Job, name: str) -> Path:
    """Where a job writes its file: a folder of its own, readable by this user only."""
    folder = files_dir() / str(job.pk)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / name


def keep_file(job: Job, path: Path, *, name: str, content_type: str) -> None:
    path.chmod(0o600)
    job.file_path = str(path.relative_to(files_dir()))
    job.file_name = name
    job.content_type = content_type
    job.file_expires_at = timezone.now() + timezone.timedelta(hours=settings.JOB_FILES_HOURS)


def delete_expired_files() -> int:
    """Remove finished files past their time; the job keeps its record."""
    removed = 0
    for job in Job.objects.files_expired():
        path = files_dir() / job.file_path
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()
        except OSError:
            pass
        Job.objects.filter(pk=job.pk).update(file_path="")
        removed += 1
    return removed
