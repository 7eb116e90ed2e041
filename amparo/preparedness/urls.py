from django.urls import path

from amparo.preparedness import account_views, alert_views, plan_views

app_name = "preparedness"
urlpatterns = [
    path("", plan_views.home, name="home"),
    path("start/", account_views.start, name="start"),
    path("sign-in/", account_views.sign_in, name="sign_in"),
    path("sign-in/code/", account_views.sign_in_code, name="sign_in_code"),
    path("sign-out/", account_views.sign_out, name="sign_out"),
    path("security/", account_views.security, name="security"),
    path("language/", account_views.language, name="language"),
    path("plan/", plan_views.plan_edit, name="plan"),
    path("plan/reviewed/", plan_views.reviewed, name="reviewed"),
    path("plan/household/", plan_views.members, name="members"),
    path("plan/household/new/", plan_views.member_edit, name="member_new"),
    path("plan/household/<int:member_id>/", plan_views.member_edit, name="member_edit"),
    path("plan/household/<int:member_id>/remove/", plan_views.member_remove, name="member_remove"),
    path("plan/contacts/", plan_views.contacts, name="contacts"),
    path("plan/contacts/new/", plan_views.contact_edit, name="contact_new"),
    path("plan/contacts/<int:contact_id>/", plan_views.contact_edit, name="contact_edit"),
    path(
        "plan/contacts/<int:contact_id>/remove/", plan_views.contact_remove, name="contact_remove"
    ),
    path("plan/documents/", plan_views.documents, name="documents"),
    path("plan/documents/<int:document_id>/download/", plan_views.download, name="download"),
    path("plan/print/", plan_views.printables, name="printables"),
    path("plan/print/rights-card.pdf", plan_views.card, name="card"),
    path("plan/print/packet.pdf", plan_views.packet, name="packet"),
    path("plan/alerts/", alert_views.alerts, name="alerts"),
    path("plan/alerts/pin/", alert_views.set_pin, name="set_pin"),
    path("plan/alerts/trusted/", alert_views.add_trusted, name="add_trusted"),
    path(
        "plan/alerts/trusted/<int:person_id>/revoke/",
        alert_views.revoke_trusted,
        name="revoke_trusted",
    ),
    path("plan/alerts/activate/", alert_views.activate, name="activate"),
    path("plan/share/", alert_views.share, name="share"),
    path("plan/share/<int:link_id>/revoke/", alert_views.revoke_share, name="revoke_share"),
    # Public: a trusted person raises the alarm; a caregiver opens a shared link.
    path("alert/", alert_views.trusted_activation, name="trusted_activation"),
    path("shared/", alert_views.shared, name="shared"),
    path("shared/packet.pdf", alert_views.shared_packet, name="shared_packet"),
    path("shared/<str:token>/", alert_views.shared_entry, name="shared_entry"),
    # Hotline volunteers, for a family that consented.
    path("hotline/", alert_views.volunteer_lookup, name="volunteer"),
    path("hotline/activate/", alert_views.volunteer_activate, name="volunteer_activate"),
]
