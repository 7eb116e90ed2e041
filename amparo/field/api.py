"""The capture app's sync API: JSON over HTTPS, authenticated by a per-device token.

Every answer is JSON with a "message" people can read when something is wrong.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from amparo.accounts.models import User
from amparo.evidence.blobstore import StorageFullError
from amparo.field import sync
from amparo.field.models import Assignment, DeviceToken, Report
from amparo.field.reports import ReportConflict, ReportError, create_report, parse_report
from amparo.web.policy import public

MAX_JSON_BYTES = 1024 * 1024
RETRY_AFTER_SECONDS = 15 * 60

logger = logging.getLogger(__name__)

DeviceView = Callable[..., JsonResponse]


def out_of_space_message() -> str:
    return _(
        "The server is out of storage space. Nothing was lost on your phone; "
        "it will try again later."
    )


def _error(status: int, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"message": message, **extra}, status=status)


def _authenticated(
    view: DeviceView, request: HttpRequest, *args: Any, **kwargs: Any
) -> JsonResponse:
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    device = sync.device_for_token(token) if token else None
    if device is None:
        response = _error(401, _("This phone is not connected, or its connection was revoked."))
        response["WWW-Authenticate"] = "Bearer"
        return response
    return view(request, device, *args, **kwargs)


def device_api(view: DeviceView) -> DeviceView:
    """Token-authenticated (not session): public to the policy layer, refused here without one."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        try:
            return _authenticated(view, request, *args, **kwargs)
        except sync.SyncError as error:
            return _error(error.status, error.message, **error.extra)
        except (OSError, StorageFullError, DatabaseError) as error:
            if not sync.is_out_of_space(error):
                raise
            # Every write happens inside a transaction that this error rolled back.
            logger.warning("field sync refused for lack of storage space: %s", error)
            response = _error(507, out_of_space_message(), retry_later=True)
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response

    return public(csrf_exempt(wrapped))


def _json_body(request: HttpRequest) -> dict[str, Any]:
    length = int(request.headers.get("Content-Length") or 0)
    if length > MAX_JSON_BYTES:
        raise sync.SyncError(413, _("The request is too large."))
    try:
        body = json.loads(request.read(MAX_JSON_BYTES + 1))
    except (ValueError, UnicodeDecodeError):
        raise sync.SyncError(400, _("The request is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise sync.SyncError(400, _("The request must be a JSON object."))
    return body


def _user(device: DeviceToken) -> User:
    return device.user


@require_GET
@device_api
def whoami(request: HttpRequest, device: DeviceToken) -> JsonResponse:
    assignments = Assignment.objects.filter(observer=device.user).select_related("deployment")
    return JsonResponse(
        {
            "device": device.label,
            "events": [
                {
                    "number": a.deployment_id,
                    "name": a.deployment.event_name,
                    "starts_at": a.deployment.starts_at.isoformat(),
                    "post": a.post,
                }
                for a in assignments.order_by("-deployment__starts_at")[:20]
            ],
        }
    )


@require_POST
@device_api
def submit_report(request: HttpRequest, device: DeviceToken) -> JsonResponse:
    try:
        report, created = create_report(_user(device), parse_report(_json_body(request)))
    except ReportConflict as error:
        return _error(409, str(error))
    except ReportError as error:
        return _error(400, str(error))
    return JsonResponse(
        {
            "report_id": str(report.client_id),
            "number": report.pk,
            "created": created,
            "receipt": {"item_id": report.item_id, "custody_entry": report.receipt_index},
        },
        status=201 if created else 200,
    )


def _report_for(device: DeviceToken, client_id: Any) -> Report:
    try:
        report_id = uuid.UUID(str(client_id))
    except ValueError:
        raise sync.SyncError(400, _("Name the report by the id the phone gave it.")) from None
    report = Report.objects.filter(client_id=report_id, authors=device.user).first()
    if report is None:
        raise sync.SyncError(404, _("Send the report before its files."))
    return report


@require_POST
@device_api
def begin_upload(request: HttpRequest, device: DeviceToken) -> JsonResponse:
    body = _json_body(request)
    report = _report_for(device, body.get("report_id"))
    return JsonResponse(sync.begin_upload(_user(device), report, body).as_json())


@require_GET
@device_api
def upload_state(request: HttpRequest, device: DeviceToken, file_id: uuid.UUID) -> JsonResponse:
    upload = sync.upload_for(_user(device), file_id)
    return JsonResponse(
        sync.UploadState(
            str(upload.client_file_id),
            upload.received_bytes,
            upload.declared_size,
            upload.attachment,
        ).as_json()
    )


@require_http_methods(["PUT"])
@device_api
def put_chunk(
    request: HttpRequest, device: DeviceToken, file_id: uuid.UUID, offset: int
) -> JsonResponse:
    length = int(request.headers.get("Content-Length") or 0)
    state = sync.put_chunk(
        _user(device),
        file_id,
        offset,
        request.headers.get("X-Chunk-SHA256", ""),
        request,  # type: ignore[arg-type]
        length,
    )
    return JsonResponse(state.as_json())


@require_POST
@device_api
def finish_upload(request: HttpRequest, device: DeviceToken, file_id: uuid.UUID) -> JsonResponse:
    return JsonResponse(sync.finish_upload(_user(device), file_id).as_json())


@require_POST
@device_api
def sign_out(request: HttpRequest, device: DeviceToken) -> JsonResponse:
    sync.revoke_device(device, device.user)
    return JsonResponse({"message": _("This phone is disconnected.")})
