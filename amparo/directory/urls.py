from django.urls import path

from amparo.directory import views

app_name = "directory"
urlpatterns = [
    path("", views.directory_list, name="list"),
    path("profile/", views.my_profile, name="my_profile"),
    path("export.csv", views.export_csv, name="export"),
    path("import/", views.import_csv, name="import"),
]
