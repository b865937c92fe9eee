from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Admin")
    COORDINATOR = "coordinator", _("Coordinator")
    CASEWORKER = "caseworker", _("Caseworker")


class User(AbstractUser):
    """A member of the NGO's staff. What they may see follows from role and provinces."""

    role = models.CharField(
        _("role"), max_length=20, choices=Role.choices, default=Role.CASEWORKER, db_index=True
    )
    provinces = models.ManyToManyField(
        "casework.Province",
        verbose_name=_("provinces"),
        related_name="staff",
        blank=True,
        help_text=_("The provinces this person works in."),
    )

    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("The interface language, remembered from the header's switcher."),
    )

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    def __str__(self):
        return self.get_full_name() or self.username

    @property
    def is_admin(self) -> bool:
        return self.is_active and (self.role == Role.ADMIN or self.is_superuser)

    @property
    def is_coordinator(self) -> bool:
        return self.is_active and self.role == Role.COORDINATOR

    @property
    def is_caseworker(self) -> bool:
        return self.is_active and self.role == Role.CASEWORKER

    def save(self, *args, **kwargs):
        # Only admins reach the Django admin (docs/permissions.md).
        self.is_staff = self.role == Role.ADMIN or self.is_superuser
        if self.is_superuser:
            self.role = Role.ADMIN
        super().save(*args, **kwargs)
