"""Included at the root, before casework's URLs: full paths (cases/export.csv sits
beside cases/<pk>/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("reports/", views.reports_page, name="reports"),
    path("reports/report.pdf", views.report_pdf, name="report_pdf"),
    path("cases/export.csv", views.case_export, {"fmt": "csv"}, name="case_export_csv"),
    path("cases/export.xlsx", views.case_export, {"fmt": "xlsx"}, name="case_export_xlsx"),
    path("detainees/export.csv", views.detainee_export, {"fmt": "csv"}, name="detainee_export_csv"),
    path(
        "detainees/export.xlsx",
        views.detainee_export,
        {"fmt": "xlsx"},
        name="detainee_export_xlsx",
    ),
    path("detainees/<int:pk>/dossier.pdf", views.detainee_dossier, name="detainee_dossier"),
    path("imports/", views.import_upload, name="import_upload"),
    path("imports/confirm/", views.import_confirm, name="import_confirm"),
]
