from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports and exports")

    def ready(self):
        # The remembered figures are retired by any change to the records they count,
        # whichever process makes it (a page, a worker's job, a command): the signal
        # handlers are connected when the app loads, not when a page first imports them.
        from . import figures  # noqa: F401
