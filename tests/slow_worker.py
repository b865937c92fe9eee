"""A jobs worker whose case exports write one row a second: something to kill in the
middle of a job (tests/test_jobs.py). Run as ``python -m tests.slow_worker``."""

import os
import sys
import time

import django


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command

    from reports import exports

    original = exports.case_rows

    def slow(queryset, **kwargs):
        for row in original(queryset, **kwargs):
            time.sleep(1)
            yield row

    exports.case_rows = slow
    from jobs import kinds

    kinds._counting = lambda rows, progress, every=500: _every_row(rows, progress)
    call_command("jobs_worker", *sys.argv[1:])


def _every_row(rows, progress):
    for n, row in enumerate(rows, start=1):
        yield row
        progress(n)


if __name__ == "__main__":
    main()
