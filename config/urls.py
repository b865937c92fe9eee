from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from accounts import views as accounts_views

from . import health


def favicon(request):
    # Looked up per request: the hashed name exists only after collectstatic.
    return redirect(static("favicon.ico"))


urlpatterns = [
    path("accounts/", include("accounts.urls")),
    # Before the admin's own: its password form would skip the second factor.
    path("admin/login/", accounts_views.admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    # Browsers and tools ask for /favicon.ico whatever the page links.
    path("favicon.ico", login_not_required(favicon)),
    path("i18n/setlang/", accounts_views.set_language, name="set_language"),
    path("audit/", include("audit.urls")),
    path("jobs/", include("jobs.urls")),
    path("", include("reports.urls")),
    path("", include("casework.urls")),
]

handler400 = "config.views.error_400"
handler403 = "config.views.error_403"
handler404 = "config.views.error_404"
handler500 = "config.views.error_500"
