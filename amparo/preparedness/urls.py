from django.urls import URLPattern

app_name = "preparedness"
urlpatterns: list[URLPattern] = []
