"""A family's account and plan: household, caregivers, contacts, documents, alerts, sharing.

Families are not staff: a FamilyAccount is not a Django user, so no staff page ever
admits one. Secrets (passphrase, PIN, activation codes, share tokens) are stored only as
hashes; the optional TOTP secret, which has to be read back, is sealed with the field key.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from amparo.hotline.sealed_fields import seal, unseal


def totp_secret_context(account_id: int) -> str:
    """Associated data for a family's sealed TOTP secret: it opens only on its own row."""
    return f"preparedness.familyaccount.totp_secret:account:{account_id}"


# Languages a family may choose for its plan, card and messages; wider than the UI's.
FAMILY_LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("ar", "العربية"),
    ("ht", "Kreyòl ayisyen"),
    ("pt", "Português"),
    ("zh-hans", "中文（简体）"),
    ("vi", "Tiếng Việt"),
    ("fr", "Français"),
]


class FamilyAccount(models.Model):
    username = models.CharField(_("username"), max_length=60, unique=True)
    display_name = models.CharField(_("your name"), max_length=200)
    language = models.CharField(_("language"), max_length=8, choices=FAMILY_LANGUAGES, default="en")
    passphrase_hash = models.CharField(max_length=200)
    # Empty until the family starts setting up an authenticator; see `totp_secret`.
    sealed_totp_secret = models.CharField(max_length=128, blank=True)
    totp_confirmed_at = models.DateTimeField(null=True, blank=True)
    totp_last_step = models.BigIntegerField(default=-1)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"family account {self.pk}"

    @property
    def totp_secret(self) -> str:
        """The base32 secret in the clear, or "" when none was made."""
        return unseal(totp_secret_context(self.pk), self.sealed_totp_secret)

    @totp_secret.setter
    def totp_secret(self, value: str) -> None:
        if self.pk is None:
            raise ValueError("a TOTP secret is sealed for its account: save the account first")
        self.sealed_totp_secret = seal(totp_secret_context(self.pk), value)


class FamilyRecoveryCode(models.Model):
    """A single-use code for a family who lost the phone with their authenticator app; shown
    once when the app is set up, stored as a SHA-256 only."""

    account = models.ForeignKey(
        FamilyAccount, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "code_hash"], name="family_recovery_code_unique"
            )
        ]

    def __str__(self) -> str:
        return f"recovery code {self.pk} of family account {self.account_id}"


class RepresentationForm(models.TextChoices):
    UNKNOWN = "unknown", _("I don't know")
    YES = "yes", _("Yes, a representation form (G-28 or EOIR-28) is on file")
    NO = "no", _("No")


class Plan(models.Model):
    account = models.OneToOneField(FamilyAccount, on_delete=models.CASCADE, related_name="plan")
    # What the family tells the hotline or a trusted person so the plan can be found.
    reference = models.CharField(max_length=16, unique=True)
    person_name = models.CharField(
        _("who this plan is for (the person who could be detained)"), max_length=200, blank=True
    )
    pin_hash = models.CharField(max_length=200, blank=True)
    # Consent: may a hotline volunteer find this plan by its reference and act for the family?
    hotline_may_act = models.BooleanField(
        _("a hotline volunteer may activate this plan for us"), default=False
    )
    share_with_attorneys = models.BooleanField(
        _("the hotline may share what is in the intake with attorneys"), default=False
    )
    packet_includes_immigration = models.BooleanField(
        _("include immigration documents in the caregiver's packet"), default=False
    )
    attorney_name = models.CharField(
        _("attorney or accredited representative"), max_length=200, blank=True
    )
    attorney_organization = models.CharField(_("organization"), max_length=200, blank=True)
    attorney_phone = models.CharField(_("attorney's phone"), max_length=40, blank=True)
    representation_form = models.CharField(
        _("representation form on file"),
        max_length=10,
        choices=RepresentationForm.choices,
        default=RepresentationForm.UNKNOWN,
    )
    consulate_phone = models.CharField(_("consulate's phone number"), max_length=40, blank=True)
    rent_paid_by = models.CharField(_("who pays the rent"), max_length=200, blank=True)
    bills_paid_by = models.CharField(_("who pays the bills"), max_length=200, blank=True)
    accounts_note = models.TextField(
        _("which accounts (bank, name on the account; never write passwords here)"), blank=True
    )
    money_power_of_attorney = models.TextField(_("power of attorney for money, if any"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    # Wrong PINs and activation codes, counted per plan (never per address).
    code_failures = models.PositiveIntegerField(default=0)
    code_failures_since = models.DateTimeField(null=True, blank=True)
    code_locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"plan {self.pk}"


class Instrument(models.TextChoices):
    VERBAL = "verbal", _("Verbal agreement")
    AFFIDAVIT = "affidavit", _("Caregiver's authorization affidavit")
    POWER_OF_ATTORNEY = "poa", _("Limited power of attorney")
    GUARDIANSHIP = "guardianship", _("Guardianship")


class HouseholdMember(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="members")
    name = models.CharField(_("name"), max_length=200)
    is_child = models.BooleanField(_("this is a child"), default=False)
    relationship = models.CharField(_("relationship"), max_length=100, blank=True)
    # For each child.
    primary_caregiver = models.CharField(_("primary caregiver"), max_length=200, blank=True)
    primary_caregiver_phone = models.CharField(
        _("primary caregiver's phone"), max_length=40, blank=True
    )
    backup_caregiver = models.CharField(_("backup caregiver"), max_length=200, blank=True)
    backup_caregiver_phone = models.CharField(
        _("backup caregiver's phone"), max_length=40, blank=True
    )
    instrument = models.CharField(
        _("what gives the caregiver authority"),
        max_length=20,
        choices=Instrument.choices,
        blank=True,
    )
    instrument_state = models.CharField(_("state"), max_length=60, blank=True)
    instrument_signed_on = models.DateField(_("date signed"), null=True, blank=True)
    original_kept_at = models.CharField(_("where the original is kept"), max_length=200, blank=True)
    school = models.CharField(_("school"), max_length=200, blank=True)
    school_pickup = models.TextField(_("who may pick them up from school"), blank=True)
    allergies = models.TextField(_("allergies"), blank=True)
    medication = models.TextField(_("medication"), blank=True)
    doctor = models.CharField(_("doctor and phone"), max_length=200, blank=True)

    class Meta:
        ordering = ["-is_child", "id"]

    def __str__(self) -> str:
        return f"household member {self.pk}"


class MayBeTold(models.TextChoices):
    NEEDS_HELP = "needs_help", _("Only that we need help and to call the hotline")
    DETAINED = "detained", _("That a family member may have been detained")
    CHILDREN = "children", _("That, and who is caring for the children")


class ContactChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")


class EmergencyContact(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=200)
    relationship = models.CharField(_("relationship"), max_length=100, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=FAMILY_LANGUAGES, default="en")
    channel = models.CharField(
        _("send the alert by"), max_length=8, choices=ContactChannel.choices, default="email"
    )
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("mobile phone"), max_length=40, blank=True)
    may_be_told = models.CharField(
        _("what this person may be told"),
        max_length=16,
        choices=MayBeTold.choices,
        default=MayBeTold.NEEDS_HELP,
    )
    # Empty: the reviewed template in the contact's language is sent.
    message = models.TextField(_("your own message (leave empty to use our template)"), blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"contact {self.pk}"


class DocumentKind(models.TextChoices):
    ID = "id", _("ID cards, including consular ID")
    PASSPORT = "passport", _("Passports, including expired ones")
    BIRTH_CERTIFICATE = "birth_certificate", _("Birth certificates")
    A_NUMBER = "a_number", _("A-number")
    WORK_PERMIT = "work_permit", _("Work permits")
    VISA = "visa", _("Visas")
    IMMUNIZATION = "immunization", _("Immunization records")
    SCHOOL = "school", _("School records")
    RESIDENCE = "residence", _("Proof of residence (leases, pay stubs)")
    TAX = "tax", _("Tax records")


# Items that reveal immigration status; left out of the caregiver's packet unless chosen.
IMMIGRATION_DOCUMENTS = frozenset(
    {DocumentKind.PASSPORT, DocumentKind.A_NUMBER, DocumentKind.WORK_PERMIT, DocumentKind.VISA}
)


class DocumentItem(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=24, choices=DocumentKind.choices)
    have = models.BooleanField(_("we have it"), default=False)
    where_kept = models.CharField(_("where it is kept"), max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["plan", "kind"], name="document_item_once")]

    def __str__(self) -> str:
        return f"{self.kind} of plan {self.plan_id}"


class VaultDocument(models.Model):
    """An original in the evidence store; this row only points to it."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="vault")
    item_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=24, choices=DocumentKind.choices, blank=True)
    filename = models.CharField(max_length=200)
    media_type = models.CharField(max_length=60)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"vault document {self.pk}"


class TrustedPerson(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="trusted")
    name = models.CharField(_("name"), max_length=200)
    code_hash = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"trusted person {self.pk}"


class ActivationSource(models.TextChoices):
    FAMILY = "family", _("The family, with the PIN")
    TRUSTED = "trusted", _("A trusted person, with the activation code")
    HOTLINE = "hotline", _("A hotline volunteer, for the family")


class Activation(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="activations")
    at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=ActivationSource.choices)
    trusted_person = models.ForeignKey(
        TrustedPerson, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    volunteer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Hours since the epoch: two activations can never share one, whatever the race.
    hour = models.BigIntegerField()
    case = models.ForeignKey(
        "hotline.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "hour"], name="one_activation_per_hour")
        ]

    def __str__(self) -> str:
        return f"activation {self.pk} of plan {self.plan_id}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    RETRY = "retry", _("Not sent yet, will be tried again")
    FAILED = "failed", _("Not delivered")


class AlertDelivery(models.Model):
    """One message to one contact for one activation; the constraints make it send once."""

    activation = models.ForeignKey(Activation, on_delete=models.PROTECT, related_name="deliveries")
    contact = models.ForeignKey(
        EmergencyContact, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=64, unique=True)
    channel = models.CharField(max_length=8, choices=ContactChannel.choices)
    address = models.CharField(max_length=254)
    subject = models.CharField(max_length=200)
    text = models.TextField()
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    # Each claim counts as an attempt, so a send cut short by a crash still counts.
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # When the retry job may take this row (waiting or to be tried again).
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["activation", "contact"], name="one_delivery_per_contact"
            )
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"delivery {self.pk}"


class ShareLink(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="share_links")
    token_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(_("who this link is for"), max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"share link {self.pk}"

    def is_open(self) -> bool:
        return self.revoked_at is None and timezone.now() < self.expires_at
