"""A throwaway URLconf: the real site plus views the deny-by-default tests need."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from amparo.accounts.roles import Role
from amparo.web.policy import roles


def undeclared(request: HttpRequest) -> HttpResponse:
    return HttpResponse("this body must never be served")


@roles(Role.COORDINATOR)
def coordinators_only(request: HttpRequest, token: str) -> HttpResponse:
    return HttpResponse("coordinators only")


urlpatterns = [
    path("undeclared/<int:number>/", undeclared, name="undeclared"),
    path("coordinators-only/<slug:token>/", coordinators_only, name="coordinators_only"),
    path("", include("amparo.urls")),
]
