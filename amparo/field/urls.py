from django.urls import path

from amparo.field import api, capture, views

app_name = "field"
urlpatterns = [
    path("request/", views.request_observers, name="request"),
    path("request/sent/", views.request_sent, name="request_sent"),
    path("deployments/", views.deployments, name="deployments"),
    path("deployments/<int:pk>/", views.deployment_detail, name="deployment"),
    path("deployments/<int:pk>/decide/", views.decide, name="decide"),
    path("deployments/<int:pk>/roster/", views.add_to_roster, name="add_to_roster"),
    path(
        "deployments/<int:pk>/roster/<int:assignment_pk>/remove/",
        views.remove_from_roster,
        name="remove_from_roster",
    ),
    path("deployments/<int:pk>/legal-team/", views.set_legal_team, name="set_legal_team"),
    path("deployments/<int:pk>/export/", views.export_deployment_bundle, name="export_deployment"),
    path("observers/", views.observers, name="observers"),
    path("observers/<int:pk>/certified/", views.set_certified, name="set_certified"),
    path("my-events/", views.my_events, name="my_events"),
    path("assignments/<int:pk>/attendance/", views.attendance, name="attendance"),
    path("reports/", views.reports, name="reports"),
    path("reports/<int:pk>/", views.report_detail, name="report"),
    path("reports/<int:pk>/attachments/", views.upload_attachment, name="upload_attachment"),
    path("reports/<int:pk>/export/", views.export_report_bundle, name="export_report"),
    path("attachments/<int:pk>/download/", views.download_attachment, name="download"),
    path("attachments/<int:pk>/working-copy/", views.working_copy, name="working_copy"),
    path("detentions/<int:pk>/hotline/", views.open_hotline_intake, name="hotline_intake"),
    path("capture/", capture.capture_page, name="capture"),
    path("sw.js", capture.service_worker, name="service_worker"),
    path("manifest.webmanifest", capture.manifest, name="manifest"),
    path("connect/", capture.connect, name="connect"),
    path("devices/", capture.devices, name="devices"),
    path("devices/<int:pk>/revoke/", capture.revoke_device, name="revoke_device"),
    path("api/whoami", api.whoami, name="api_whoami"),
    path("api/reports", api.submit_report, name="api_reports"),
    path("api/uploads", api.begin_upload, name="api_uploads"),
    path("api/uploads/<uuid:file_id>", api.upload_state, name="api_upload"),
    path("api/uploads/<uuid:file_id>/chunks/<int:offset>", api.put_chunk, name="api_chunk"),
    path("api/uploads/<uuid:file_id>/finish", api.finish_upload, name="api_finish"),
    path("api/sign-out", api.sign_out, name="api_sign_out"),
]
