"""The one task the engine carries: run job N (jobs/runner.py does the rest)."""

from django_tasks import task


@task()
def run_job(job_id: str) -> None:
    from .runner import run

    run(job_id)
