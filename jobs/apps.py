from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = _("Background jobs")

    def ready(self):
        # django-tasks-db registers its queue table in the admin. Casework's record of
        # a job is jobs.Job, shown to the person who asked (jobs/views.py); the queue
        # rows only carry "run job N" and stay out of the admin.
        from django.contrib import admin
        from django_tasks_db.models import DBTaskResult

        if admin.site.is_registered(DBTaskResult):
            admin.site.unregister(DBTaskResult)
