"""The installable capture page, its service worker and manifest, and connecting a phone."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.audit.services import record as audit
from amparo.field import sync
from amparo.field.forms import ConnectDeviceForm
from amparo.field.models import AgencyType, Audibility, DeviceToken
from amparo.web.policy import public, refuse, roles

# The app's own files, precached by the service worker so that it works offline.
APP_FILES = (
    "field/capture.css",
    "field/app.js",
    "field/outbox.js",
    "field/sync.js",
    "field/form.js",
    "field/icon.svg",
)


@public
def capture_page(request: HttpRequest) -> HttpResponse:
    """The app shell: no records, no user data; everything else lives on the phone."""
    context = {
        "agencies": AgencyType.choices,
        "audibility": Audibility.choices,
    }
    return render(request, "field/capture.html", context)


@public
def service_worker(request: HttpRequest) -> HttpResponse:
    path = finders.find("field/sw.js")
    if not path or isinstance(path, list):
        raise Http404
    with open(path, encoding="utf-8") as source:
        script = source.read()
    precache = [reverse("field:capture"), *(static(name) for name in APP_FILES)]
    script = script.replace("__PRECACHE__", json.dumps(precache))
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = reverse("field:capture").rsplit("/", 2)[0] + "/"
    return response


@public
def manifest(request: HttpRequest) -> HttpResponse:
    capture = reverse("field:capture")
    document = {
        "name": _("Field notes"),
        "short_name": _("Field notes"),
        "start_url": capture,
        "scope": capture.rsplit("/", 2)[0] + "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5cad",
        "icons": [{"src": static("field/icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    return HttpResponse(json.dumps(document), content_type="application/manifest+json")


@roles(Role.OBSERVER)
def connect(request: HttpRequest) -> HttpResponse:
    """A signed-in observer gives this phone a sync token; the page hands it to the app once."""
    form = ConnectDeviceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = request.user
        assert isinstance(user, User)
        token = sync.issue_device_token(user, form.cleaned_data["label"])
        audit(request, "field.device.connected", target=f"user:{user.pk}")
        return render(request, "field/connected.html", {"token": token})
    return render(request, "field/connect.html", {"form": form})


@roles(Role.OBSERVER, Role.COORDINATOR)
def devices(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    listed = DeviceToken.objects.select_related("user")
    if user.role != Role.COORDINATOR:
        listed = listed.filter(user=user)
    return render(request, "field/devices.html", {"devices": listed})


@roles(Role.OBSERVER, Role.COORDINATOR)
@require_POST
def revoke_device(request: HttpRequest, pk: int) -> HttpResponse:
    device = get_object_or_404(DeviceToken, pk=pk)
    user = request.user
    assert isinstance(user, User)
    if user.role != Role.COORDINATOR and device.user_id != user.pk:
        return refuse(request, _("You can disconnect only your own phones."))
    sync.revoke_device(device, user)
    audit(request, "field.device.revoked", target=f"device:{device.pk}")
    messages.success(request, _("The phone can no longer send reports."))
    return redirect("field:devices")
