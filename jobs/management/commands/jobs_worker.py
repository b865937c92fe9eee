"""Run background jobs: django-tasks' ``db_worker``, with Casework's upkeep around it.

On start, and every minute while it runs, a worker puts back in the queue the
jobs whose worker went silent (killed, machine lost), and deletes finished
files past their time (jobs/runner.py). Any number of workers may run, on any
number of machines (docs/jobs.md); each one claims a job with a row lock, so a
job runs once at a time.
"""

import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from jobs import runner

UPKEEP_SECONDS = 60


class Command(BaseCommand):
    help = "Run background jobs (exports, reports, imports). Stop with SIGTERM or Ctrl+C."

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch", action="store_true", help="Run the jobs waiting now, then exit."
        )
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args, batch=False, interval=1.0, verbosity=1, **options):
        self.upkeep()
        if not batch:
            stopped = threading.Event()
            threading.Thread(target=self.keep_up, args=(stopped,), daemon=True).start()
        worker_options = {"interval": interval, "reload": False, "verbosity": verbosity}
        if batch:
            worker_options.update(batch=True, startup_delay=False)
        call_command("db_worker", **worker_options)

    def upkeep(self):
        recovered = runner.recover_lost()
        removed = runner.delete_expired_files()
        if recovered or removed:
            self.stdout.write(f"jobs: {recovered} put back in the queue, {removed} files removed")

    def keep_up(self, stopped):
        try:
            while not stopped.wait(UPKEEP_SECONDS):
                self.upkeep()
        finally:
            connection.close()
