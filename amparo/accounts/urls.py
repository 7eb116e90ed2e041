from django.urls import path

from amparo.accounts import views

app_name = "accounts"
urlpatterns = [
    path("sign-in/", views.sign_in, name="login"),
    path("sign-out/", views.sign_out, name="logout"),
    path("mfa/", views.mfa, name="mfa"),
    path("mfa/enrol/", views.mfa_enrol, name="mfa_enrol"),
    path("mfa/verify/", views.mfa_verify, name="mfa_verify"),
    # The token is in this path once; the page's form then POSTs it to the path below.
    path("invitation/<str:token>/", views.invitation, name="invitation"),
    path("invitation/", views.accept_invitation, name="accept_invitation"),
    path("account/", views.account, name="account"),
    path("account/password/", views.change_password, name="change_password"),
    path("account/email/", views.change_own_email, name="change_own_email"),
    path("account/recovery-codes/", views.regenerate_recovery_codes, name="recovery_codes"),
    path("account/sessions/<int:pk>/end/", views.end_own_session, name="end_own_session"),
    path("people/", views.people, name="people"),
    path("people/invite/", views.invite, name="invite"),
    path("people/<int:pk>/", views.person, name="person"),
    path("people/<int:pk>/disable/", views.disable_person, name="disable_person"),
    path("people/<int:pk>/enable/", views.enable_person, name="enable_person"),
    path("people/<int:pk>/end-sessions/", views.end_person_sessions, name="end_person_sessions"),
    path("people/<int:pk>/access-window/", views.person_access_window, name="access_window"),
    path("people/<int:pk>/reset-mfa/", views.reset_person_mfa, name="reset_mfa"),
    path("invitations/", views.invitations, name="invitations"),
    path("invitations/<int:pk>/revoke/", views.revoke_invitation, name="revoke_invitation"),
    path("organizations/", views.organizations, name="organizations"),
]
