"""Courses, quizzes and certification: thin views over amparo.training.services."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from amparo.accounts.models import User
from amparo.accounts.roles import Role
from amparo.audit.services import record
from amparo.training import services
from amparo.training.attachments import AttachmentRejected, check_upload
from amparo.training.forms import (
    AttachmentForm,
    AttendanceForm,
    CourseForm,
    ModuleTextForm,
    NewCourseForm,
    NewModuleForm,
    NewQuestionForm,
    QuestionTextForm,
    TranslationTitleForm,
    content_language_codes,
)
from amparo.training.models import (
    Attachment,
    Course,
    CourseTranslation,
    Module,
    ModuleTranslation,
    Question,
    QuestionTranslation,
    QuizAttempt,
)
from amparo.training.rendering import render_markdown
from amparo.web.policy import roles, signed_in

AUTHORS = (Role.TRAINER, Role.COORDINATOR)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _is_author(request: HttpRequest) -> bool:
    return _user(request).role in {Role.TRAINER, Role.COORDINATOR}


def _visible_course(request: HttpRequest, course_id: int) -> Course:
    course = get_object_or_404(Course, pk=course_id)
    if not course.published and not _is_author(request):
        raise Http404
    return course


def _content_language(request: HttpRequest, course: Course) -> str:
    wanted = request.GET.get("lang") or get_language()
    return services.pick_language(
        services.course_languages(course), wanted, course.default_language
    )


def _known_language(language: str) -> str:
    if language not in content_language_codes():
        raise Http404
    return language


# --- Learning -------------------------------------------------------------------------------


@signed_in
def courses(request: HttpRequest) -> HttpResponse:
    found = Course.objects.prefetch_related("translations").order_by("id")
    if not _is_author(request):
        found = found.filter(published=True)
    language = get_language() or "en"
    listed = [(c, services.course_title(c, language)) for c in found]
    return render(
        request,
        "training/courses.html",
        {
            "courses": listed,
            "is_author": _is_author(request),
            "status": services.certification_status(_user(request)),
        },
    )


@signed_in
def course_detail(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _visible_course(request, course_id)
    language = _content_language(request, course)
    modules = [
        (m, services.translated(m.translations.all(), language, course.default_language))
        for m in course.modules.prefetch_related("translations")
    ]
    attempts = QuizAttempt.objects.filter(user=_user(request), course=course)
    return render(
        request,
        "training/course_detail.html",
        {
            "course": course,
            "language": language,
            "course_languages": services.course_languages(course),
            "title": services.course_title(course, language),
            "summary": getattr(
                services.translated(course.translations.all(), language, course.default_language),
                "summary",
                "",
            ),
            "modules": modules,
            "attempts": attempts,
            "has_quiz": course.questions.exists(),
        },
    )


def _attachments_for(module: Module, language: str) -> list[Attachment]:
    return [a for a in module.attachments.all() if a.language in ("", language)]


@signed_in
def module_detail(request: HttpRequest, module_id: int) -> HttpResponse:
    module = get_object_or_404(Module, pk=module_id)
    course = _visible_course(request, module.course_id)
    language = _content_language(request, course)
    text = services.translated(module.translations.all(), language, course.default_language)
    return render(
        request,
        "training/module_detail.html",
        {
            "course": course,
            "module": module,
            "language": language,
            "text": text,
            "body": render_markdown(text.body if text else ""),
            "attachments": _attachments_for(module, language),
        },
    )


@signed_in
def attachment_download(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    attachment = get_object_or_404(Attachment, pk=attachment_id)
    _visible_course(request, attachment.module.course_id)
    response = FileResponse(
        attachment.file.open("rb"),
        content_type=attachment.content_type,
        as_attachment=attachment.kind == "pdf",
        filename=f"attachment-{attachment.pk}.{'pdf' if attachment.kind == 'pdf' else 'audio'}",
    )
    response["Cache-Control"] = "private, no-store"
    return response


def _quiz_questions(course: Course, language: str) -> list[tuple[Question, QuestionTranslation]]:
    found = []
    for question in course.questions.prefetch_related("translations"):
        text = services.translated(question.translations.all(), language, course.default_language)
        if text is not None:
            found.append((question, text))
    return found


@signed_in
def quiz(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _visible_course(request, course_id)
    language = _content_language(request, course)
    questions = _quiz_questions(course, language)
    if not questions:
        raise Http404
    if request.method == "POST":
        answers: dict[int, int | None] = {}
        for question, text in questions:
            raw = request.POST.get(f"question-{question.pk}", "")
            answers[question.pk] = (
                int(raw) if raw.isdigit() and 1 <= int(raw) <= len(text.choices) else None
            )
        attempt = services.grade_quiz(_user(request), course, language, answers)
        return redirect("training:attempt", attempt_id=attempt.pk)
    return render(
        request,
        "training/quiz.html",
        {
            "course": course,
            "language": language,
            "title": services.course_title(course, language),
            "questions": questions,
        },
    )


@signed_in
def attempt_detail(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = get_object_or_404(QuizAttempt, pk=attempt_id)
    if attempt.user_id != request.user.pk and not _is_author(request):
        raise Http404
    course = attempt.course
    results = []
    for answer in attempt.answers.select_related("question").prefetch_related(
        "question__translations"
    ):
        text = services.translated(
            answer.question.translations.all(), attempt.language, course.default_language
        )
        results.append((answer, text))
    return render(
        request,
        "training/attempt.html",
        {
            "attempt": attempt,
            "course": course,
            "title": services.course_title(course, attempt.language),
            "results": results,
            "status": services.certification_status(attempt.user),
        },
    )


# --- Authoring ------------------------------------------------------------------------------


@roles(*AUTHORS)
def course_new(request: HttpRequest) -> HttpResponse:
    form = NewCourseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            course = Course.objects.create(
                default_language=form.cleaned_data["language"],
                pass_mark_percent=form.cleaned_data["pass_mark_percent"],
                created_by=_user(request),
            )
            CourseTranslation.objects.create(
                course=course,
                language=form.cleaned_data["language"],
                title=form.cleaned_data["title"],
                summary=form.cleaned_data["summary"],
            )
        return redirect("training:course_edit", course_id=course.pk)
    return render(request, "training/author/course_new.html", {"form": form})


@roles(*AUTHORS)
def course_edit(request: HttpRequest, course_id: int) -> HttpResponse:
    course = get_object_or_404(Course, pk=course_id)
    form = CourseForm(request.POST or None, instance=course)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Course settings saved."))
        return redirect("training:course_edit", course_id=course.pk)
    language = get_language() or course.default_language
    return render(
        request,
        "training/author/course_edit.html",
        {
            "course": course,
            "form": form,
            "title": services.course_title(course, language),
            "translations": course.translations.all(),
            "course_languages": services.course_languages(course),
            "modules": course.modules.prefetch_related("translations", "attachments"),
            "questions": course.questions.prefetch_related("translations"),
            "all_languages": sorted(content_language_codes()),
        },
    )


@roles(*AUTHORS)
def course_translation(request: HttpRequest, course_id: int, language: str) -> HttpResponse:
    course = get_object_or_404(Course, pk=course_id)
    _known_language(language)
    existing = course.translations.filter(language=language).first()
    initial = {"title": existing.title, "summary": existing.summary} if existing else {}
    form = TranslationTitleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        CourseTranslation.objects.update_or_create(
            course=course, language=language, defaults=form.cleaned_data
        )
        return redirect("training:course_edit", course_id=course.pk)
    return render(
        request,
        "training/author/text_form.html",
        {"course": course, "form": form, "language": language, "what": _("Course title")},
    )


@roles(*AUTHORS)
def module_new(request: HttpRequest, course_id: int) -> HttpResponse:
    course = get_object_or_404(Course, pk=course_id)
    form = NewModuleForm(
        request.POST or None,
        initial={"language": course.default_language, "position": course.modules.count() + 1},
    )
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            module = Module.objects.create(course=course, position=form.cleaned_data["position"])
            ModuleTranslation.objects.create(
                module=module,
                language=form.cleaned_data["language"],
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
            )
        return redirect("training:course_edit", course_id=course.pk)
    return render(
        request,
        "training/author/text_form.html",
        {"course": course, "form": form, "what": _("New module")},
    )


@roles(*AUTHORS)
def module_edit(request: HttpRequest, module_id: int, language: str) -> HttpResponse:
    module = get_object_or_404(Module, pk=module_id)
    _known_language(language)
    existing = module.translations.filter(language=language).first()
    initial = {"title": existing.title, "body": existing.body} if existing else {}
    form = ModuleTextForm(request.POST or None, initial=initial)
    preview = None
    if request.method == "POST" and form.is_valid():
        if "preview" in request.POST:
            preview = render_markdown(form.cleaned_data["body"])
        else:
            ModuleTranslation.objects.update_or_create(
                module=module, language=language, defaults=form.cleaned_data
            )
            messages.success(request, _("Module saved."))
            return redirect("training:course_edit", course_id=module.course_id)
    return render(
        request,
        "training/author/text_form.html",
        {
            "course": module.course,
            "form": form,
            "language": language,
            "what": _("Module text"),
            "preview": preview,
            "attachment_form": AttachmentForm(prefix="attachment"),
            "module": module,
        },
    )


@roles(*AUTHORS)
def attachment_upload(request: HttpRequest, module_id: int) -> HttpResponse:
    module = get_object_or_404(Module, pk=module_id)
    if request.method != "POST":
        return redirect("training:course_edit", course_id=module.course_id)
    form = AttachmentForm(request.POST, request.FILES, prefix="attachment")
    if form.is_valid():
        upload = form.cleaned_data["file"]
        assert isinstance(upload, UploadedFile)
        try:
            sniffed = check_upload(upload.name or "file", upload.size or 0, upload)
        except AttachmentRejected as error:
            messages.error(request, str(error))
        else:
            Attachment.objects.create(
                module=module,
                language=form.cleaned_data["language"],
                kind=sniffed.kind,
                content_type=sniffed.content_type,
                title=form.cleaned_data["title"],
                file=upload,
                size=upload.size or 0,
                uploaded_by=_user(request),
            )
            messages.success(request, _("Attachment added."))
    else:
        messages.error(request, _("Give the attachment a title and choose a file."))
    return redirect("training:course_edit", course_id=module.course_id)


@roles(*AUTHORS)
def question_new(request: HttpRequest, course_id: int) -> HttpResponse:
    course = get_object_or_404(Course, pk=course_id)
    form = NewQuestionForm(
        request.POST or None,
        initial={"language": course.default_language, "position": course.questions.count() + 1},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            question = Question.objects.create(
                course=course, position=data["position"], correct_choice=data["correct_choice"]
            )
            QuestionTranslation.objects.create(
                question=question,
                language=data["language"],
                prompt=data["prompt"],
                choices=data["choices"],
                explanation=data["explanation"],
            )
        return redirect("training:course_edit", course_id=course.pk)
    return render(
        request,
        "training/author/text_form.html",
        {"course": course, "form": form, "what": _("New question")},
    )


@roles(*AUTHORS)
def question_edit(request: HttpRequest, question_id: int, language: str) -> HttpResponse:
    question = get_object_or_404(Question, pk=question_id)
    _known_language(language)
    existing = question.translations.filter(language=language).first()
    initial: dict[str, object] = {"correct_choice": question.correct_choice}
    if existing:
        initial |= {
            "prompt": existing.prompt,
            "choices": "\n".join(existing.choices),
            "explanation": existing.explanation,
        }
    form = QuestionTextForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            question.correct_choice = data["correct_choice"]
            question.save(update_fields=["correct_choice"])
            QuestionTranslation.objects.update_or_create(
                question=question,
                language=language,
                defaults={
                    "prompt": data["prompt"],
                    "choices": data["choices"],
                    "explanation": data["explanation"],
                },
            )
        return redirect("training:course_edit", course_id=question.course_id)
    return render(
        request,
        "training/author/text_form.html",
        {"course": question.course, "form": form, "language": language, "what": _("Question")},
    )


@roles(*AUTHORS)
def course_preview(request: HttpRequest, course_id: int, language: str) -> HttpResponse:
    course = get_object_or_404(Course, pk=course_id)
    _known_language(language)
    modules = []
    for module in course.modules.prefetch_related("translations", "attachments"):
        text = module.translations.filter(language=language).first()
        modules.append(
            (
                module,
                text,
                render_markdown(text.body) if text else "",
                _attachments_for(module, language),
            )
        )
    questions = [
        (question, question.translations.filter(language=language).first())
        for question in course.questions.all()
    ]
    title = course.translations.filter(language=language).first()
    return render(
        request,
        "training/author/preview.html",
        {
            "course": course,
            "language": language,
            "title": title,
            "modules": modules,
            "questions": questions,
        },
    )


# --- Attendance and certification -------------------------------------------------------------


@roles(*AUTHORS)
def attendance(request: HttpRequest, course_id: int) -> HttpResponse:
    course = get_object_or_404(Course, pk=course_id)
    form = AttendanceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        observer = form.cleaned_data["observer"]
        try:
            services.confirm_attendance(_user(request), observer, course)
        except services.NotAllowed as error:
            messages.error(request, str(error))
        else:
            status = services.certification_status(observer)
            messages.success(
                request,
                _("Attendance confirmed for %(name)s. Status: %(status)s.")
                % {"name": observer.name_for_display, "status": status.label},
            )
        return redirect("training:attendance", course_id=course.pk)
    return render(
        request,
        "training/attendance.html",
        {
            "course": course,
            "title": services.course_title(course, get_language() or "en"),
            "form": form,
            "recent": course.attendances.select_related("user", "confirmed_by")[:20],
        },
    )


@roles(*AUTHORS)
def roster(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    entries = services.observer_roster(now)
    return render(
        request,
        "training/roster.html",
        {
            "entries": entries,
            "lapsing": [
                e for e in entries if e.status.state == services.CertificationState.LAPSING
            ],
            "window_days": services.LAPSE_WARNING_DAYS,
        },
    )


@roles(*AUTHORS)
def certifications_csv(request: HttpRequest) -> HttpResponse:
    record(request, "training.certifications.exported", target="certifications.csv")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="certifications.csv"'
    response["Cache-Control"] = "no-store"
    writer = csv.writer(response)
    writer.writerows(services.certification_rows())
    return response
