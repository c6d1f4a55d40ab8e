"""Messages name nothing outside the login's scope: what exists elsewhere is "not available",
without confirming that it exists or naming whose it is."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from telephony.models import PhoneNumber, Tenant
from telephony.services.numbers import phone_number_create
from telephony.services.tenants import tenant_create
from tenants.models import Role
from tests.factories import PhoneNumberFactory, PlatformFactory, ServerFactory, TenantFactory


def test_a_number_in_another_resellers_pool_is_not_available(tree, member):
    PhoneNumberFactory(number="+31309990002", organization=tree.sibling)
    admin = member(tree.reseller, Role.ADMIN)
    with pytest.raises(ValidationError) as refused:
        phone_number_create(actor=admin, number=PhoneNumber(number="+31309990002", organization=tree.reseller))
    text = " ".join(refused.value.messages)
    assert "not available" in text
    assert "exists" not in text and "Sibling" not in text


def test_a_tenant_name_taken_by_another_customer_on_a_shared_server_is_not_available(tree, member):
    server = ServerFactory(platform=PlatformFactory(organization=tree.distributor), name="xivo-220")
    TenantFactory(organization=tree.sibling_customer, server=server, name="globex")
    admin = member(tree.reseller, Role.ADMIN)
    with pytest.raises(ValidationError) as refused:
        tenant_create(actor=admin, tenant=Tenant(organization=tree.customer, server=server, name="globex"))
    text = " ".join(refused.value.messages)
    assert "not available" in text
    assert "already has" not in text and "Sibling" not in text
