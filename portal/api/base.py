"""What every endpoint shares: errors as field → messages (the services' own), cursor pages, a rate
limit per token, `ETag`/`If-Match` on updates and `Idempotency-Key` on creates."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, pagination, status, throttling
from rest_framework.response import Response
from rest_framework.views import exception_handler

from portal.api.models import ApiToken, IdempotentRequest


def messages_of(error: DjangoValidationError) -> dict[str, list[str]]:
    """A service's refusal as field → messages; messages about no one field under non_field_errors."""
    if hasattr(error, "message_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): [str(m) for m in found]
            for field, found in error.message_dict.items()
        }
    return {"non_field_errors": [str(m) for m in error.messages]}


def handle_exception(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(messages_of(exc))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    return exception_handler(exc, context)


class Cursor(pagination.CursorPagination):
    """Pages of `page_size` (at most 500) in id order: each page is one indexed range, whatever the
    data size, and a page stays the same while rows are added."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "id"


class PerTokenRate(throttling.SimpleRateThrottle):
    """Requests per token (per login for a session), as `API_RATE_LIMIT` says; beyond it a 429 with
    Retry-After."""

    scope = "api"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if isinstance(request.auth, ApiToken):
            return f"api-rate:token:{request.auth.pk}"
        if request.user and request.user.is_authenticated:
            return f"api-rate:login:{request.user.pk}"
        return f"api-rate:address:{self.get_ident(request)}"


def etag_of(data: Any) -> str:
    body = json.dumps(data, sort_keys=True, default=str).encode()
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class ETagMixin:
    """Every object answer carries an ETag of its representation; an update or a delete with
    `If-Match` of another ETag (someone changed the object since it was read) is refused with 412
    and changes nothing."""

    def retrieve(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        response = super().retrieve(request, *args, **kwargs)
        response["ETag"] = etag_of(response.data)
        return response

    def _check_if_match(self, request: Any) -> None:
        wanted = request.headers.get("If-Match")
        if not wanted or wanted.strip() == "*":
            return
        current = etag_of(self.get_serializer(self.get_object()).data)
        if current not in [tag.strip().removeprefix("W/") for tag in wanted.split(",")]:
            raise PreconditionFailed()

    def update(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            self._check_if_match(request)
            response = super().update(request, *args, **kwargs)
        if response.status_code == status.HTTP_200_OK:
            response["ETag"] = etag_of(response.data)
        return response

    def destroy(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            self._check_if_match(request)
            return super().destroy(request, *args, **kwargs)


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = gettext_lazy(
        "The object changed since you read it (its ETag is not the one in If-Match). Read it again."
    )
    default_code = "precondition_failed"


class IdempotencyConflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_conflict"


def request_fingerprint(request: Any) -> str:
    """What tells a retry from another request under the same key: method, path, fields, and the
    content of uploaded files (not only their names)."""
    digest = hashlib.sha256()
    data = request.data
    fields = {k: v for k, v in data.items() if not hasattr(v, "chunks")} if hasattr(data, "items") else data
    digest.update(json.dumps([request.method, request.path, fields], sort_keys=True, default=str).encode())
    for name in sorted(request.FILES):
        upload = request.FILES[name]
        digest.update(name.encode())
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
    return digest.hexdigest()


def answer_once(
    request: Any, answer: Callable[[], Response], *, kept_as: Callable[[Any], Any] | None = None
) -> Response:
    """`Idempotency-Key` on a POST: the first request with a key is answered by `answer()` and its
    answer kept (in the same transaction as what it made); a retry with the key gets that answer
    again, marked `Idempotent-Replayed: true`. Two retries at once: the second waits for the first's
    key row (a unique index) and then replays. The key reused for another body (or another URL) is
    refused with 422. A refused request (an exception) keeps no key. `kept_as(data)` is what is kept
    of the answer, when part of it must not be (a secret shown once is never stored in clear text)."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return answer()
    if len(key) > 200:
        raise exceptions.ValidationError({"Idempotency-Key": [_("A key of at most 200 characters.")]})
    fingerprint = request_fingerprint(request)
    with transaction.atomic():
        try:
            with transaction.atomic():  # a retry running at once waits here for the first one's row
                kept = IdempotentRequest.objects.create(
                    user=request.user,
                    key=key,
                    method=request.method,
                    path=request.path[:300],
                    fingerprint=fingerprint,
                )
        except IntegrityError:
            kept = None
        if kept is not None:
            response = answer()
            data = kept_as(response.data) if kept_as is not None else response.data
            kept.status_code, kept.response = response.status_code, json.loads(json.dumps(data))
            kept.save(update_fields=["status_code", "response"])
            return response
    return _replay(request, key, fingerprint)


def _replay(request: Any, key: str, fingerprint: str) -> Response:
    kept = IdempotentRequest.objects.filter(user=request.user, key=key).first()
    if kept is None or kept.status_code is None:
        raise IdempotencyConflict(_("A request with this Idempotency-Key is still being answered; try again."))
    if kept.fingerprint != fingerprint:
        return Response(
            {"Idempotency-Key": [_("This key was used for another request; use a new key for a new request.")]},
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    return Response(kept.response, status=kept.status_code, headers={"Idempotent-Replayed": "true"})


class IdempotentCreateMixin:
    """A create answered once per `Idempotency-Key` (`answer_once`); `kept_answer` says what of its
    answer is kept for a retry (all of it unless a viewset says otherwise)."""

    kept_answer: Callable[[Any], Any] | None = None

    def create(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        create = super().create
        return answer_once(request, lambda: create(request, *args, **kwargs), kept_as=type(self).kept_answer)


def idempotent(method: Callable[..., Response]) -> Callable[..., Response]:
    """A POST action of a viewset answered once per `Idempotency-Key`, as a create is (`answer_once`)."""

    @functools.wraps(method)
    def once(self: Any, request: Any, *args: Any, **kwargs: Any) -> Response:
        return answer_once(request, lambda: method(self, request, *args, **kwargs))

    return once
