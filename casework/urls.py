from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/new/", views.case_new, name="case_new"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/timeline/", views.case_timeline, name="case_timeline"),
    path("cases/<int:pk>/edit/", views.case_edit, name="case_edit"),
    path("cases/<int:pk>/status/", views.case_status, name="case_status"),
    path("cases/<int:pk>/assign/", views.case_assign, name="case_assign"),
    path("cases/<int:pk>/hearings/new/", views.hearing_new, name="hearing_new"),
    path("cases/<int:pk>/bail-requests/new/", views.bail_new, name="bail_new"),
    path("cases/<int:pk>/events/new/", views.event_new, name="event_new"),
    path("cases/<int:pk>/lawyers/new/", views.lawyer_assign, name="lawyer_assign"),
    path("cases/<int:pk>/accused/new/", views.accused_add, name="accused_add"),
    path("cases/<int:pk>/charges/new/", views.charge_step_new, name="charge_step_new"),
    path("accused/<int:pk>/remove/", views.accused_remove, name="accused_remove"),
    path("hearings/", views.hearing_agenda, name="hearing_agenda"),
    path("hearings/<int:pk>/edit/", views.hearing_edit, name="hearing_edit"),
    path("bail-requests/<int:pk>/decide/", views.bail_decide, name="bail_decide"),
    path("detainees/", views.detainee_list, name="detainee_list"),
    path("detainees/<int:pk>/", views.detainee_detail, name="detainee_detail"),
    path("detainees/<int:pk>/edit/", views.detainee_edit, name="detainee_edit"),
    path("detainees/duplicates/", views.duplicate_queue, name="duplicate_queue"),
    path("detainees/merge/", views.detainee_merge, name="detainee_merge"),
    path("detainees/merge/undo/", views.merge_undo, name="merge_undo"),
    path("lawyers/", views.lawyer_list, name="lawyer_list"),
    path("lawyers/<int:pk>/", views.lawyer_detail, name="lawyer_detail"),
    path(
        "representations/<int:pk>/end/", views.representation_end, name="representation_end"
    ),
]
