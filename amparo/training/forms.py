from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.training.models import Course, CourseKind, Event


def content_languages() -> list[tuple[str, str]]:
    """Languages a course can be written in: the interface's, plus any a network adds."""
    extra = getattr(settings, "AMPARO_CONTENT_LANGUAGES", [("mam", "Mam"), ("quc", "K'iche'")])
    return [(code, str(name)) for code, name in [*settings.LANGUAGES, *extra]]


def content_language_codes() -> set[str]:
    return {code for code, _name in content_languages()}


if TYPE_CHECKING:
    CourseChoiceBase = forms.ModelChoiceField[Course]
    UserChoiceBase = forms.ModelChoiceField[User]
    CourseFormBase = forms.ModelForm[Course]
    EventFormBase = forms.ModelForm[Event]
else:
    # Django's classes are generic only in the type stubs.
    CourseChoiceBase = UserChoiceBase = forms.ModelChoiceField
    CourseFormBase = EventFormBase = forms.ModelForm


class CourseChoiceField(CourseChoiceBase):
    def label_from_instance(self, obj: Course) -> str:
        first = obj.translations.first()
        return f"#{obj.pk} {first.title if first else ''}"


class ObserverChoiceField(UserChoiceBase):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj.name_for_display} ({obj.username})"


class CourseForm(CourseFormBase):
    class Meta:
        model = Course
        fields = [
            "kind",
            "refreshes",
            "default_language",
            "pass_mark_percent",
            "needs_legal_review",
            "published",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_language"] = forms.ChoiceField(
            label=_("default language"), choices=content_languages()
        )
        self.fields["refreshes"] = CourseChoiceField(
            label=_("refreshes"),
            queryset=Course.objects.filter(kind=CourseKind.CERTIFICATION),
            required=False,
        )

    def clean_pass_mark_percent(self) -> int:
        value = int(self.cleaned_data["pass_mark_percent"])
        if not 1 <= value <= 100:
            raise forms.ValidationError(_("Give a pass mark between 1 and 100."))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == CourseKind.REFRESHER and not data.get("refreshes"):
            self.add_error("refreshes", _("Say which course this refresher renews."))
        return data


class TranslationTitleForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    summary = forms.CharField(label=_("Summary"), widget=forms.Textarea, required=False)


class NewCourseForm(TranslationTitleForm):
    language = forms.ChoiceField(label=_("Language"), choices=content_languages)
    pass_mark_percent = forms.IntegerField(
        label=_("Pass mark (percent)"), min_value=1, max_value=100, initial=80
    )


class ModuleTextForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 16}),
        required=False,
        help_text=_("Markdown: **bold**, *italic*, lists, [links](https://example.org)."),
    )


class NewModuleForm(ModuleTextForm):
    language = forms.ChoiceField(label=_("Language"), choices=content_languages)
    position = forms.IntegerField(label=_("Position"), min_value=1, initial=1)


class QuestionTextForm(forms.Form):
    prompt = forms.CharField(label=_("Question"), widget=forms.Textarea(attrs={"rows": 3}))
    choices = forms.CharField(
        label=_("Choices, one per line"), widget=forms.Textarea(attrs={"rows": 5})
    )
    correct_choice = forms.IntegerField(
        label=_("Number of the correct choice"),
        min_value=1,
        help_text=_("The same in every language."),
    )
    explanation = forms.CharField(
        label=_("Explanation shown after answering"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )

    def clean_choices(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["choices"].splitlines()]
        choices = [line for line in lines if line]
        if len(choices) < 2:
            raise forms.ValidationError(_("Give at least two choices, one per line."))
        return choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        choices, correct = data.get("choices"), data.get("correct_choice")
        if choices and correct and correct > len(choices):
            self.add_error(
                "correct_choice",
                _("There are only %(count)d choices.") % {"count": len(choices)},
            )
        return data


class NewQuestionForm(QuestionTextForm):
    language = forms.ChoiceField(label=_("Language"), choices=content_languages)
    position = forms.IntegerField(label=_("Position"), min_value=1, initial=1)


class AttachmentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    language = forms.ChoiceField(
        label=_("Language"),
        choices=lambda: [("", _("Any language")), *content_languages()],
        required=False,
    )
    file = forms.FileField(label=_("PDF or audio file"))


class AttendanceForm(forms.Form):
    observer = ObserverChoiceField(
        label=_("Observer"), queryset=User.objects.none(), empty_label=None
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["observer"]
        assert isinstance(field, ObserverChoiceField)
        field.queryset = User.objects.filter(role=Role.OBSERVER, is_active=True).order_by(
            "username"
        )


class HttpsURLField(forms.URLField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(assume_scheme="https", **kwargs)


class EventForm(EventFormBase):
    class Meta:
        model = Event
        fields = [
            "kind",
            "course",
            "title",
            "description",
            "languages",
            "place",
            "online_link",
            "starts_at",
            "ends_at",
            "capacity",
            "accessibility_notes",
            "published",
        ]
        field_classes = {"online_link": HttpsURLField}
        widgets = {
            "starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }
        help_texts = {"languages": _("Language codes separated by commas, such as en,es.")}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The event must end after it starts."))
        if data.get("kind") == "training" and not data.get("course"):
            self.add_error("course", _("A training session counts toward a course; choose it."))
        return data


class RsvpForm(forms.Form):
    name = forms.CharField(
        label=_("Name or alias"),
        max_length=120,
        help_text=_("Any name we can call you at the door. It need not be your legal name."),
    )
    email = forms.EmailField(label=_("Email for a reminder (optional)"), required=False)
    phone = forms.CharField(label=_("Phone for a text reminder (optional)"), required=False)

    def clean_phone(self) -> str:
        phone = "".join(self.cleaned_data["phone"].split())
        if phone and not (phone.lstrip("+").isdigit() and 7 <= len(phone) <= 20):
            raise forms.ValidationError(_("Give a phone number in digits, such as +15551234567."))
        return phone


class WalkInForm(forms.Form):
    name = forms.CharField(label=_("Name or alias"), max_length=120)
