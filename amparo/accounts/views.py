"""Placeholder sign-in views; replaced by the accounts work."""

from __future__ import annotations

from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from amparo.web.policy import mfa_pending, public

sign_in = public(LoginView.as_view(template_name="accounts/sign_in.html"))


@public
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("accounts:login")


@mfa_pending
def mfa(request: HttpRequest) -> HttpResponse:
    return redirect("accounts:login")
