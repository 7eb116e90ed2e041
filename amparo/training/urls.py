from django.urls import path

from amparo.training import event_views, views

app_name = "training"
urlpatterns = [
    path("", views.courses, name="courses"),
    path("courses/new/", views.course_new, name="course_new"),
    path("courses/<int:course_id>/", views.course_detail, name="course"),
    path("courses/<int:course_id>/edit/", views.course_edit, name="course_edit"),
    path(
        "courses/<int:course_id>/translations/<str:language>/",
        views.course_translation,
        name="course_translation",
    ),
    path(
        "courses/<int:course_id>/preview/<str:language>/",
        views.course_preview,
        name="course_preview",
    ),
    path("courses/<int:course_id>/modules/new/", views.module_new, name="module_new"),
    path("courses/<int:course_id>/questions/new/", views.question_new, name="question_new"),
    path("courses/<int:course_id>/quiz/", views.quiz, name="quiz"),
    path("courses/<int:course_id>/attendance/", views.attendance, name="attendance"),
    path("modules/<int:module_id>/", views.module_detail, name="module"),
    path("modules/<int:module_id>/edit/<str:language>/", views.module_edit, name="module_edit"),
    path("modules/<int:module_id>/attachments/", views.attachment_upload, name="attachment_upload"),
    path("attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path(
        "questions/<int:question_id>/edit/<str:language>/",
        views.question_edit,
        name="question_edit",
    ),
    path("attempts/<int:attempt_id>/", views.attempt_detail, name="attempt"),
    path("roster/", views.roster, name="roster"),
    path("certifications.csv", views.certifications_csv, name="certifications_csv"),
    path("events/", event_views.event_list, name="events"),
    path("events/new/", event_views.event_new, name="event_new"),
    path("events/<int:event_id>/edit/", event_views.event_edit, name="event_edit"),
    path("events/<int:event_id>/door/", event_views.event_door, name="event_door"),
    path("events/<int:event_id>/walk-in/", event_views.walk_in, name="walk_in"),
    path(
        "events/<int:event_id>/attendance/",
        event_views.session_attendance,
        name="session_attendance",
    ),
    path("rsvps/<int:rsvp_id>/check-in/", event_views.check_in_by_id, name="check_in_by_id"),
    path("check-in/<str:token>/", event_views.check_in, name="check_in"),
    path("teach-ins/", event_views.teach_ins, name="teach_ins"),
    path("teach-ins/<uuid:public_id>/", event_views.event_public, name="event_public"),
    path("rsvp/<str:token>/", event_views.rsvp_confirmation, name="rsvp_confirmation"),
]
