"""The attorney directory: browse, each attorney's own profile, CSV import and export."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.audit.services import record
from amparo.directory import services
from amparo.directory.forms import AttorneyProfileForm, ImportForm
from amparo.directory.models import AttorneyProfile
from amparo.web.policy import roles

MAX_IMPORT_BYTES = 1024 * 1024


@roles(Role.HOTLINE, Role.COORDINATOR)
def directory_list(request: HttpRequest) -> HttpResponse:
    counts = services.open_case_counts()
    profiles = AttorneyProfile.objects.select_related("attorney", "attorney__organization")
    rows = [(profile, counts.get(profile.attorney_id, 0)) for profile in profiles]
    return render(
        request,
        "directory/list.html",
        {"rows": rows, "missing": services.attorneys_without_profiles()},
    )


@roles(Role.ATTORNEY)
def my_profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    profile = services.profile_for(user)
    form = AttorneyProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your directory profile is saved."))
        return redirect("directory:my_profile")
    return render(request, "directory/my_profile.html", {"form": form})


@roles(Role.COORDINATOR)
def export_csv(request: HttpRequest) -> HttpResponse:
    record(request, "directory.export")
    response = HttpResponse(services.export_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="attorney-directory.csv"'
    return response


@roles(Role.COORDINATOR)
def import_csv(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["csv_file"]
        if upload.size > MAX_IMPORT_BYTES:
            messages.error(request, _("The file is larger than 1 MB; split it and try again."))
        else:
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                messages.error(request, _("The file is not UTF-8 text; save it as CSV UTF-8."))
            else:
                report = services.import_csv(text)
                record(request, "directory.import", detail=f"{len(report.updated)} updated")
    return render(request, "directory/import.html", {"form": form, "report": report})
