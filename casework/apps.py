from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CaseworkConfig(AppConfig):
    name = "casework"
    verbose_name = _("Casework")

    def ready(self):
        from auditlog.registry import auditlog
        from django.contrib.auth import get_user_model

        from config import lookups  # noqa: F401 (registers the bounded integer "in")

        from . import models

        auditlog.register(models.Case, m2m_fields={"charges"})
        auditlog.register(models.Detainee, exclude_fields=["search_text"])
        for model in (
            models.Province,
            models.Court,
            models.Charge,
            models.DetentionLimit,
            models.Accused,
            models.Lawyer,
            models.Representation,
            models.Hearing,
            models.BailRequest,
            models.Event,
            models.CustodyPeriod,
            models.PossibleDuplicate,
        ):
            auditlog.register(model)
        auditlog.register(
            get_user_model(),
            m2m_fields={"provinces"},
            exclude_fields=["password", "last_login"],
        )
        # A changed legal limit moves the clocks under it: services.reference_save.
