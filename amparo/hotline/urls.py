from django.urls import path

from amparo.hotline import views

app_name = "hotline"
urlpatterns = [
    path("help/", views.help_form, name="help"),
    path("help/thanks/", views.help_thanks, name="help_thanks"),
    path("call/", views.call_script, name="call"),
    path("cases/", views.case_list, name="cases"),
    path("deadlines/", views.deadlines, name="deadlines"),
    path("cases/<int:case_id>/", views.case_detail, name="case"),
    path("cases/<int:case_id>/status/", views.case_status, name="case_status"),
    path("cases/<int:case_id>/searches/", views.case_search, name="case_search"),
    path("cases/<int:case_id>/hearings/", views.case_hearing, name="case_hearing"),
    path("cases/<int:case_id>/notes/", views.case_note, name="case_note"),
    path("cases/<int:case_id>/offer/", views.case_offer, name="case_offer"),
    path("cases/<int:case_id>/update/", views.case_update, name="case_update"),
    path("cases/<int:case_id>/duplicates/", views.case_merge, name="case_merge"),
    path("cases/<int:case_id>/reveal/", views.case_reveal, name="case_reveal"),
    path("cases/<int:case_id>/documents/", views.case_document_add, name="case_document_add"),
    path(
        "cases/<int:case_id>/documents/bundle/",
        views.case_documents_bundle,
        name="case_documents_bundle",
    ),
    path(
        "cases/<int:case_id>/documents/<int:document_id>/",
        views.case_document,
        name="case_document",
    ),
    path("offers/", views.offer_list, name="offers"),
    path("offers/<int:offer_id>/", views.offer_detail, name="offer"),
    path("offers/<int:offer_id>/no-conflict/", views.offer_no_conflict, name="offer_no_conflict"),
    path("offers/<int:offer_id>/accept/", views.offer_accept, name="offer_accept"),
    path("offers/<int:offer_id>/decline/", views.offer_decline, name="offer_decline"),
    path("templates/", views.template_list, name="templates"),
    path("templates/<int:template_id>/edit/", views.template_edit, name="template_edit"),
    path(
        "templates/<int:template_id>/translate/",
        views.template_translate,
        name="template_translate",
    ),
    path("templates/<int:template_id>/approve/", views.template_approve, name="template_approve"),
]
