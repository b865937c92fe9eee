#!/usr/bin/env python
"""Django's command-line utility for Casework."""

import os
import sys

# Commands that read only the code (models, migrations, messages): they sign nothing
# and serve no one, so they run in a bare checkout, without the SECRET_KEY that
# production refuses to start without (config/settings.py). DEBUG=0 set explicitly
# still wins.
CODE_ONLY = {"makemigrations", "showmigrations", "sqlmigrate", "makemessages", "compilemessages"}


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if len(sys.argv) > 1 and sys.argv[1] in CODE_ONLY:
        os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
