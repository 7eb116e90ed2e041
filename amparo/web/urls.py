from django.urls import path

from amparo.web import views

app_name = "web"
urlpatterns = [
    path("", views.index, name="index"),
    path("home/", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("language/", views.set_language, name="set_language"),
]
