"""Opening a customer's tenant in one Configurator order: the dry run, the order placed with its
tenant, the webhook reports, the sweep that ends an order nobody reported on, and the read-back
of what the order built into the mirror."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from telephony import queue
from telephony.backends.errors import BackendError, RejectedError
from telephony.backends.http import ExchangeLog
from telephony.drift import scan as drift_scan
from telephony.models import (
    UNFINISHED,
    ConfiguratorLink,
    ConfiguratorOrder,
    ConfiguratorOrderEvent,
    EventSource,
    LineTemplate,
    OrderStatus,
    ProvisioningJob,
    ScanTrigger,
    Server,
    Tenant,
)
from telephony.provisioning import configurator_planning as planning
from telephony.provisioning.configurator_operations import client_for
from telephony.provisioning.configurator_status import KNOWN, apply_report
from telephony.provisioning.keys import target_key
from telephony.services.configurator_config import users_in
from telephony.services.pbx_import import pbx_import_commit
from telephony.services.tenants import tenant_create
from tenants import access
from tenants.access import VIEW
from tenants.models import Organization

logger = logging.getLogger("telephony.configurator")


def configurator_order_test(*, actor: AbstractBaseUser, link: ConfiguratorLink, configuration: dict[str, Any]) -> str:
    """The Configurator's dry run (`provision/test`): "" when it would take the configuration, else
    its cause. Nothing is ordered or changed; a service that cannot be reached says so."""
    access.require(actor, VIEW, link)
    client = client_for(link, ExchangeLog(limit=20))
    try:
        client.test(configuration)
    except RejectedError as refusal:
        return str(refusal)
    except BackendError as error:
        raise ValidationError(_("The Configurator could not be asked: %(error)s") % {"error": error}) from None
    finally:
        client.close()
    return ""


@dataclass
class NewTenant:
    """The tenant an order opens: its customer, the server it goes on and its name there."""

    organization: Organization
    server: Server
    name: str
    label: str = ""
    licences: int = 10


@transaction.atomic
def configurator_order_place(
    *,
    actor: AbstractBaseUser,
    link: ConfiguratorLink,
    new_tenant: NewTenant,
    template: LineTemplate,
    configuration: dict[str, Any],
) -> ConfiguratorOrder:
    """Open the customer's tenant on the Park Manager and order its configuration, in one change:
    the tenant's jobs run first, then the order is sent with the tenant's token."""
    link = ConfiguratorLink.objects.select_related("organization").get(pk=link.pk)
    access.require_add(actor, ConfiguratorOrder, link.organization)
    customer = new_tenant.organization
    if not customer.path.startswith(link.organization.path):
        raise ValidationError(
            {
                "organization": _("The link of %(organization)s orders for its own customers only.")
                % {"organization": link.organization}
            }
        )
    server = Server.objects.select_related("platform").get(pk=new_tenant.server.pk)
    access.require(actor, VIEW, server)
    if not server.platform.capabilities.opens_tenants_by_order:
        raise ValidationError(
            {
                "server": _("%(platform)s cannot hand a new tenant to a Configurator order.")
                % {"platform": server.platform}
            }
        )
    if not access.can(actor, VIEW, template):
        raise ValidationError({"template": _("Choose a line template you may use.")})
    if users_in(configuration) > new_tenant.licences:
        raise ValidationError(
            {
                "licences": _("The order makes %(count)s users: give as many licences.")
                % {"count": users_in(configuration)}
            }
        )
    tenant = Tenant(
        organization=customer,
        server=server,
        name=new_tenant.name,
        label=new_tenant.label,
        licences=new_tenant.licences,
    )
    tenant_create(actor=actor, tenant=tenant)
    order = ConfiguratorOrder(
        link=link, tenant=tenant, template=template, configuration=configuration, created_by=actor
    )
    order.full_clean()
    order.status = OrderStatus.SUBMITTING
    order.save()
    planning.order_placed(order, actor=actor)
    return order


# --- reports ---------------------------------------------------------------------------------------


@dataclass
class WebhookAnswer:
    status: int
    message: str


def configurator_webhook_receive(*, public_id: str, secret: str, body: Any) -> WebhookAnswer:
    """Keep one webhook report and hand it to a task: quick, and the same answer for an unknown
    order as for a wrong secret. A report already kept (same `mid`) changes nothing."""
    order = ConfiguratorOrder.objects.filter(public_id=public_id).first()
    if order is None or not order.callback_secret_matches(secret):
        logger.warning("Configurator webhook for an unknown order or with a wrong secret refused")
        return WebhookAnswer(404, "no such order")
    problem = _webhook_problem(body, order)
    if problem:
        logger.warning("Configurator webhook for order %s refused: %s", order.pk, problem)
        return WebhookAnswer(400, problem)
    data = body["data"]
    try:
        with transaction.atomic():
            event = ConfiguratorOrderEvent.objects.create(
                order=order, source=EventSource.WEBHOOK, mid=body["mid"], status=data["status"]
            )
    except IntegrityError:
        return WebhookAnswer(200, "already received")
    transaction.on_commit(lambda: _send_quietly(event.pk))
    return WebhookAnswer(202, "accepted")


def _webhook_problem(body: Any, order: ConfiguratorOrder) -> str:
    if not isinstance(body, dict) or body.get("type") != "orderStatusChanged":
        return "expected an orderStatusChanged message"
    mid, data = body.get("mid"), body.get("data")
    if not isinstance(mid, int) or isinstance(mid, bool) or mid < 0:
        return "mid: a whole number"
    if not isinstance(data, dict) or data.get("status") not in KNOWN:
        return "data.status: one of " + ", ".join(sorted(KNOWN))
    if order.configurator_id is not None and data.get("id") != order.configurator_id:
        return "data.id: not this order's id"
    return ""


def _send_quietly(event_id: int) -> None:
    try:
        queue.send(queue.APPLY_CONFIGURATOR_EVENT, event_id)
    except Exception:  # a broker that is down: the sweep applies the kept report
        logger.warning("Configurator report %s waits for the sweep: the queue did not take it", event_id)


def configurator_event_apply(*, event_id: int) -> str:
    event = ConfiguratorOrderEvent.objects.get(pk=event_id)
    if event.outcome:
        return event.outcome  # applied already (a task delivered twice)
    return apply_report(
        order_id=event.order_id, source=event.source, status=event.status, mid=event.mid, event_id=event.pk
    )


def configurator_orders_sweep() -> dict[str, int]:
    """End orders nobody reports on: apply reports the queue lost, read the status of orders that
    have been quiet too long, and read back completed orders whose import did not run."""
    now = timezone.now()
    counts = {"applied": 0, "checked": 0, "imported": 0}
    stale = now - timedelta(seconds=30)
    lost = ConfiguratorOrderEvent.objects.filter(outcome="", received_at__lt=stale)
    for event_id in lost.values_list("pk", flat=True):
        configurator_event_apply(event_id=event_id)
        counts["applied"] += 1
    quiet = now - timedelta(seconds=settings.CONFIGURATOR_ORDER_POLL_SECONDS)
    open_orders = ConfiguratorOrder.objects.filter(
        status__in=(OrderStatus.NOT_STARTED, OrderStatus.IN_PROGRESS), status_changed_at__lt=quiet
    )
    for order in open_orders.filter(tenant__isnull=False).select_related("tenant__server"):
        waiting = ProvisioningJob.objects.filter(target_key=target_key(order), status__in=UNFINISHED)
        if not waiting.exists():
            with transaction.atomic():
                planning.order_status_wanted(order)
            counts["checked"] += 1
    for order_id in ConfiguratorOrder.objects.filter(
        status=OrderStatus.COMPLETED, imported="", finished_at__lt=now - timedelta(seconds=60)
    ).values_list("pk", flat=True):
        try:
            queue.send(queue.IMPORT_CONFIGURATOR_ORDER, order_id)
        except Exception:  # the broker is down: the next sweep tries again
            logger.warning("the read-back of Configurator order %s waits for the next sweep", order_id)
            continue
        counts["imported"] += 1
    return counts


def configurator_order_import(*, order_id: int) -> str:
    """Read the completed order's tenant back and bring what it built into the mirror (no push:
    the Configurator made it). Returns what happened, also kept on the order."""
    order = ConfiguratorOrder.objects.select_related("tenant", "template", "created_by").get(pk=order_id)
    if order.status != OrderStatus.COMPLETED or order.imported:
        return order.imported or "not completed"
    if order.tenant is None:
        ConfiguratorOrder.objects.filter(pk=order.pk).update(
            imported="Not brought into the portal: the tenant was deleted."
        )
        return "tenant deleted"
    scan = drift_scan.scan_server(server_id=order.tenant.server_id, tenant_id=order.tenant_id, trigger=ScanTrigger.PUSH)
    if isinstance(scan, str):
        queue.send(queue.IMPORT_CONFIGURATOR_ORDER, order.pk, countdown=30)
        return "waiting for the server"
    actor = order.created_by or get_user_model().objects.filter(is_superuser=True, is_active=True).first()
    try:
        plan = pbx_import_commit(actor=actor, tenant_id=order.tenant_id, template=order.template)
    except ValidationError as problem:
        outcome = "Not brought into the portal: " + " ".join(problem.messages)
    else:
        outcome = f"{len(plan.importable)} user(s) and {len(plan.entities)} department(s) brought into the portal"
        if plan.refused:
            outcome += f"; {len(plan.refused)} left as findings of the scan"
    ConfiguratorOrder.objects.filter(pk=order.pk).update(imported=outcome[:300])
    return outcome
