#!/usr/bin/env python
"""Django's command-line utility for Casework."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    # Settings first, and on their own: a setting refused (no SECRET_KEY with DEBUG
    # off, a typo) stops here with its message. Left to the command, the first of
    # the system checks to run (in no fixed order) would meet it, or meet the
    # unloaded app registry instead (AppRegistryNotReady). Commands that need no
    # SECRET_KEY are listed in config/settings.py (KEYLESS_COMMANDS).
    try:
        settings.INSTALLED_APPS  # noqa: B018
    except ImproperlyConfigured as exc:
        sys.exit(f"ImproperlyConfigured: {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
