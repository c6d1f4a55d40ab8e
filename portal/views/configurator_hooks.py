"""The Configurator's webhooks: one URL per order (its public id and secret), answered at once;
the report is applied by a task. Anything else gets a short JSON answer and changes nothing."""

from __future__ import annotations

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from telephony.services.configurator_orders import configurator_webhook_receive

LARGEST_REPORT = 16 * 1024


@csrf_exempt
@require_POST
def order_webhook(request: HttpRequest, public_id: str, secret: str) -> JsonResponse:
    if len(request.body) > LARGEST_REPORT:
        return JsonResponse({"error": "the report is too large"}, status=413)
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return JsonResponse({"error": "the report is not JSON"}, status=400)
    answer = configurator_webhook_receive(public_id=str(public_id), secret=secret, body=body)
    return JsonResponse({"result": answer.message}, status=answer.status)
