from django.urls import include, path

urlpatterns = [
    path("", include("amparo.web.urls")),
    path("accounts/", include("amparo.accounts.urls")),
    path("training/", include("amparo.training.urls")),
    path("directory/", include("amparo.directory.urls")),
    path("hotline/", include("amparo.hotline.urls")),
    path("field/", include("amparo.field.urls")),
    path("family/", include("amparo.preparedness.urls")),
]
