from django.contrib import admin
from django.urls import include, path

from casework import views as casework_views

urlpatterns = [
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("healthz", casework_views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("audit/", include("audit.urls")),
    path("", include("reports.urls")),
    path("", include("casework.urls")),
]

handler403 = "casework.views.error_403"
handler404 = "casework.views.error_404"
handler500 = "casework.views.error_500"
