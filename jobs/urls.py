from django.urls import path

from . import views

urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("<uuid:pk>/", views.job_detail, name="job_detail"),
    path("<uuid:pk>/status.json", views.job_status, name="job_status"),
    path("<uuid:pk>/file", views.job_file, name="job_file"),
]
