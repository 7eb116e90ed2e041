"""The family's own pages: the plan, household, contacts, documents, printables.

Every object is looked up through the signed-in family's plan, so another family's ids
answer 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.forms import modelformset_factory
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from amparo.preparedness import services, vault
from amparo.preparedness.card_text import CARD_TEXTS, REVIEWED_CARD_LANGUAGES
from amparo.preparedness.forms import (
    ContactForm,
    DocumentItemForm,
    MemberForm,
    PlanForm,
    UploadForm,
)
from amparo.preparedness.models import (
    DocumentItem,
    EmergencyContact,
    FamilyAccount,
    HouseholdMember,
    VaultDocument,
)
from amparo.preparedness.policy import family_only
from amparo.preparedness.printables import card_language, render_card, render_packet


def _pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@family_only
def home(request: HttpRequest, account: FamilyAccount) -> HttpResponse:
    plan = account.plan
    context = {
        "account": account,
        "plan": plan,
        "reference": services.format_reference(plan.reference),
        "review_due": services.review_is_due(plan),
        "review_due_at": services.review_due_at(plan),
        "children": plan.members.filter(is_child=True).count(),
        "adults": plan.members.filter(is_child=False).count(),
        "contacts": plan.contacts.count(),
        "documents": plan.vault.count(),
        "trusted": plan.trusted.filter(revoked_at__isnull=True).count(),
        "has_pin": bool(plan.pin_hash),
    }
    return render(request, "preparedness/home.html", context)


@family_only
def plan_edit(request: HttpRequest, account: FamilyAccount) -> HttpResponse:
    form = PlanForm(request.POST or None, instance=account.plan)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Saved."))
        return redirect("preparedness:home")
    return render(request, "preparedness/plan_form.html", {"form": form})


@family_only
@require_POST
def reviewed(request: HttpRequest, account: FamilyAccount) -> HttpResponse:
    services.mark_reviewed(account.plan)
    messages.success(request, _("Thank you. We will remind you again in six months."))
    return redirect("preparedness:home")


@family_only
def members(request: HttpRequest, account: FamilyAccount) -> HttpResponse:
    household = account.plan.members.all()
    return render(request, "preparedness/members.html", {"members": household})


@family_only
def member_edit(request: HttpRequest, account: FamilyAccount, member_id: int = 0) -> HttpResponse:
    member = (
        get_object_or_404(HouseholdMember, pk=member_id, plan=account.plan) if member_id else None
    )
    form = MemberForm(request.POST or None, instance=member)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        saved.plan = account.plan
        saved.save()
        messages.success(request, _("Saved."))
        return redirect("preparedness:members")
    return render(request, "preparedness/member_form.html", {"form": form, "member": member})


@family_only
@require_POST
def member_remove(request: HttpRequest, account: FamilyAccount, member_id: int) -> HttpResponse:
    get_object_or_404(HouseholdMember, pk=member_id, plan=account.plan).delete()
    return redirect("preparedness:members")


@family_only
def contacts(request: HttpRequest, account: FamilyAccount) -> HttpResponse:
    people = account.plan.contacts.all()
    return render(request, "preparedness/contacts.html", {"contacts": people})


@family_only
def contact_edit(request: HttpRequest, account: FamilyAccount, contact_id: int = 0) -> HttpResponse:
    contact = (
        get_object_or_404(EmergencyContact, pk=contact_id, plan=account.plan)
        if contact_id
        else None
    )
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        saved.plan = account.plan
        saved.save()
        messages.success(request, _("Saved."))
        return redirect("preparedness:contacts")
    return render(request, "preparedness/contact_form.html", {"form": form, "contact": contact})


@family_only
@require_POST
def contact_remove(request: HttpRequest, account: FamilyAccount, contact_id: int) -> HttpResponse:
    get_object_or_404(EmergencyContact, pk=contact_id, plan=account.plan).delete()
    return redirect("preparedness:contacts")


DocumentFormSet = modelformset_factory(DocumentItem, form=DocumentItemForm, extra=0)


@family_only
def documents(request: HttpRequest, account: FamilyAccount) -> HttpResponse:
    plan = account.plan
    items = DocumentItem.objects.filter(plan=plan).order_by("id")
    is_upload = request.method == "POST" and "file" in request.FILES
    checklist = DocumentFormSet(
        request.POST if request.method == "POST" and not is_upload else None, queryset=items
    )
    upload = UploadForm(request.POST if is_upload else None, request.FILES if is_upload else None)
    if request.method == "POST" and not is_upload and checklist.is_valid():
        checklist.save()
        messages.success(request, _("Saved."))
        return redirect("preparedness:documents")
    if is_upload and upload.is_valid():
        sent = upload.cleaned_data["file"]
        try:
            vault.store_document(
                plan, sent, filename=sent.name, size=sent.size, kind=upload.cleaned_data["kind"]
            )
        except vault.VaultRefusal as refusal:
            upload.add_error("file", refusal.message)
        else:
            messages.success(request, _("Kept safely, encrypted: %(name)s") % {"name": sent.name})
            return redirect("preparedness:documents")
    uploaded_kinds = set(plan.vault.values_list("kind", flat=True))
    rows = [(form, form.instance, form.instance.kind in uploaded_kinds) for form in checklist]
    context = {
        "checklist": checklist,
        "rows": rows,
        "upload": upload,
        "vault": plan.vault.all(),
        "accepted": vault.ACCEPTED_TYPES,
        "max_megabytes": vault.vault_max_bytes() // (1024 * 1024),
    }
    return render(request, "preparedness/documents.html", context)


@family_only
def download(
    request: HttpRequest, account: FamilyAccount, document_id: int
) -> StreamingHttpResponse:
    document = get_object_or_404(VaultDocument, pk=document_id, plan=account.plan)
    chunks = vault.read_document(document, actor_role="family", actor_id=f"family:{account.pk}")
    response = StreamingHttpResponse(chunks, content_type=document.media_type)
    response["Content-Disposition"] = f'attachment; filename="vault-{document.pk}"'
    response["Content-Length"] = str(document.size)
    return response


@family_only
def printables(request: HttpRequest, account: FamilyAccount) -> HttpResponse:
    languages = [
        (code, text["title"], code not in REVIEWED_CARD_LANGUAGES)
        for code, text in CARD_TEXTS.items()
    ]
    context = {"languages": languages, "chosen": card_language(account.plan)}
    return render(request, "preparedness/printables.html", context)


@family_only
def card(request: HttpRequest, account: FamilyAccount) -> HttpResponse:
    language = card_language(account.plan, request.GET.get("language", ""))
    return _pdf_response(render_card(account.plan, language), f"rights-card-{language}.pdf")


@family_only
def packet(request: HttpRequest, account: FamilyAccount) -> HttpResponse:
    return _pdf_response(render_packet(account.plan), "plan-for-the-caregiver.pdf")
