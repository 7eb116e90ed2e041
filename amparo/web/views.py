from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.i18n import set_language as django_set_language

from amparo.accounts.roles import Role
from amparo.web.navigation import links_for
from amparo.web.policy import public, signed_in


@public
def index(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("web:home")
    return render(request, "web/index.html")


@signed_in
def home(request: HttpRequest) -> HttpResponse:
    """Each role lands on what it does next; only links to pages that exist today."""
    role = str(getattr(request.user, "role", ""))
    role_label = Role(role).label if role in Role.values else role
    context = {"role": role, "role_label": role_label, "links": links_for(role)}
    return render(request, "web/home.html", context)


@public
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok\n", content_type="text/plain")


set_language = public(django_set_language)
