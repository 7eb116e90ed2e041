"""Teach-ins and training sessions: public pages and RSVPs, and the trainer's door."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.training import events, services
from amparo.training.forms import AttendanceForm, EventForm, RsvpForm, WalkInForm
from amparo.training.models import Event, Rsvp, RsvpStatus
from amparo.web.policy import public, roles

AUTHORS = (Role.TRAINER, Role.COORDINATOR)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


# --- Public ------------------------------------------------------------------------------------


@public
def teach_ins(request: HttpRequest) -> HttpResponse:
    return render(
        request, "training/events/public_list.html", {"events": events.upcoming_public_events()}
    )


@public
def event_public(request: HttpRequest, public_id: UUID) -> HttpResponse:
    event = get_object_or_404(Event, public_id=public_id, published=True)
    form = RsvpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rsvp = events.make_rsvp(
                event,
                form.cleaned_data["name"],
                email=form.cleaned_data["email"],
                phone=form.cleaned_data["phone"],
            )
        except events.RsvpClosed as error:
            messages.error(request, str(error))
        else:
            assert rsvp.access_token is not None
            return redirect("training:rsvp_confirmation", token=rsvp.access_token)
    return render(
        request,
        "training/events/public_event.html",
        {
            "event": event,
            "form": form,
            "places_left": events.places_left(event),
            "open": event.ends_at > timezone.now(),
            "retention_days": events.rsvp_retention_days(),
        },
    )


@public
def rsvp_confirmation(request: HttpRequest, token: str) -> HttpResponse:
    rsvp = get_object_or_404(Rsvp, access_token=token)
    if request.method == "POST" and "cancel" in request.POST:
        if rsvp.status != RsvpStatus.CANCELLED:
            events.cancel_rsvp(rsvp)
            messages.success(request, _("Your RSVP is cancelled. Thank you for telling us."))
        return redirect("training:rsvp_confirmation", token=token)
    qr = None
    if rsvp.status != RsvpStatus.CANCELLED:
        qr = events.qr_svg_data_uri(events.checkin_url(rsvp))
    response = render(
        request,
        "training/events/confirmation.html",
        {
            "rsvp": rsvp,
            "event": rsvp.event,
            "qr": qr,
            "retention_days": events.rsvp_retention_days(),
        },
    )
    return _no_store(response)


# --- Trainers ---------------------------------------------------------------------------------


@roles(*AUTHORS)
def event_list(request: HttpRequest) -> HttpResponse:
    listed = [(e, events.event_counts(e)) for e in Event.objects.order_by("-starts_at")]
    return render(request, "training/events/list.html", {"events": listed})


@roles(*AUTHORS)
def event_new(request: HttpRequest) -> HttpResponse:
    return _event_form(request, None)


@roles(*AUTHORS)
def event_edit(request: HttpRequest, event_id: int) -> HttpResponse:
    return _event_form(request, get_object_or_404(Event, pk=event_id))


def _event_form(request: HttpRequest, event: Event | None) -> HttpResponse:
    form = EventForm(request.POST or None, instance=event)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        if saved.created_by_id is None:
            saved.created_by = _user(request)
        saved.save()
        return redirect("training:event_door", event_id=saved.pk)
    return render(request, "training/events/form.html", {"form": form, "event": event})


@roles(*AUTHORS)
def event_door(request: HttpRequest, event_id: int) -> HttpResponse:
    event = get_object_or_404(Event, pk=event_id)
    query = request.GET.get("q", "")
    response = render(
        request,
        "training/events/door.html",
        {
            "event": event,
            "query": query,
            "rsvps": events.search_rsvps(event, query),
            "counts": events.event_counts(event),
            "walk_in_form": WalkInForm(),
            "attendance_form": AttendanceForm() if event.course_id else None,
        },
    )
    return _no_store(response)


@roles(*AUTHORS)
def walk_in(request: HttpRequest, event_id: int) -> HttpResponse:
    event = get_object_or_404(Event, pk=event_id)
    if request.method == "POST":
        form = WalkInForm(request.POST)
        if form.is_valid():
            events.add_walk_in(event, form.cleaned_data["name"], _user(request))
            messages.success(request, _("Walk-in added and checked in."))
    return redirect("training:event_door", event_id=event.pk)


@roles(*AUTHORS)
def session_attendance(request: HttpRequest, event_id: int) -> HttpResponse:
    event = get_object_or_404(Event, pk=event_id)
    if event.course is None:
        raise Http404
    if request.method == "POST":
        form = AttendanceForm(request.POST)
        if form.is_valid():
            observer = form.cleaned_data["observer"]
            try:
                services.confirm_attendance(_user(request), observer, event.course, event=event)
            except services.NotAllowed as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request,
                    _("Attendance confirmed for %(name)s. Status: %(status)s.")
                    % {
                        "name": observer.name_for_display,
                        "status": services.certification_status(observer).label,
                    },
                )
    return redirect("training:event_door", event_id=event.pk)


@roles(*AUTHORS)
def check_in(request: HttpRequest, token: str) -> HttpResponse:
    """The QR code's target. GET shows who it is; only POST checks them in."""
    rsvp = get_object_or_404(Rsvp.objects.select_related("event"), checkin_token=token)
    return _check_in_page(request, rsvp)


@roles(*AUTHORS)
def check_in_by_id(request: HttpRequest, rsvp_id: int) -> HttpResponse:
    """Checking in someone found by name at the door."""
    rsvp = get_object_or_404(Rsvp.objects.select_related("event"), pk=rsvp_id, purged_at=None)
    return _check_in_page(request, rsvp)


def _check_in_page(request: HttpRequest, rsvp: Rsvp) -> HttpResponse:
    if request.method == "POST":
        if events.check_in(rsvp, _user(request)):
            messages.success(request, _("%(name)s is checked in.") % {"name": rsvp.name})
        else:
            messages.info(request, _("%(name)s was already checked in.") % {"name": rsvp.name})
        return redirect("training:event_door", event_id=rsvp.event_id)
    response = render(request, "training/events/check_in.html", {"rsvp": rsvp, "event": rsvp.event})
    return _no_store(response)
