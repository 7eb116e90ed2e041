from django.urls import path

from amparo.accounts import views

app_name = "accounts"
urlpatterns = [
    path("sign-in/", views.sign_in, name="login"),
    path("sign-out/", views.sign_out, name="logout"),
    path("mfa/", views.mfa, name="mfa"),
]
