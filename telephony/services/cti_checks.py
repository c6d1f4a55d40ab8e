"""CRM integrations checked against their CTI service (drift): on request, and on the drift scans'
schedule. A check only reads; what it finds is shown on the integration and its users'
credentials, and a person repairs it by saving the integration again."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from telephony.models import UNFINISHED, CrmIntegration, ProvisioningJob
from telephony.provisioning import cti_planning
from telephony.provisioning.keys import target_key
from tenants import access
from tenants.access import CHANGE

MOST_PER_ROUND = 50


def _checkable(integrations, most: int | None = None) -> list[CrmIntegration]:
    """Integrations that were made on the CTI service and have no change or check on its way."""
    found = []
    for integration in integrations.filter(removal_requested=False).exclude(backend_ref={})[:most]:
        busy = ProvisioningJob.objects.filter(target_key=target_key(integration), status__in=UNFINISHED)
        if not busy.exists():
            found.append(integration)
    return found


@transaction.atomic
def crm_integrations_check(*, actor: AbstractBaseUser, integrations: Iterable[CrmIntegration]) -> int:
    """Ask for a check of the integrations the actor manages; returns how many were asked for."""
    pks = [integration.pk for integration in integrations]
    managed = access.restrict(CrmIntegration.objects.filter(pk__in=pks), actor, CHANGE)
    chosen = _checkable(managed.select_related("tenant__server__platform"))
    for integration in chosen:
        cti_planning.integration_check_requested(integration, actor=actor)
    return len(chosen)


@transaction.atomic
def crm_integrations_check_due() -> int:
    """Plan the checks that are due: integrations not seen for a drift-scan interval (a few per round)."""
    minutes = settings.DRIFT_SCAN_INTERVAL_MINUTES
    if not minutes:
        return 0
    stale = timezone.now() - timedelta(minutes=minutes)
    due = CrmIntegration.objects.filter(Q(verified_at__isnull=True) | Q(verified_at__lt=stale)).order_by("pk")
    chosen = _checkable(due.select_related("tenant__server__platform"), MOST_PER_ROUND)
    for integration in chosen:
        cti_planning.integration_check_requested(integration)
    return len(chosen)
