"""factory-boy factories for the whole domain; every factory makes a valid object by default."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from telephony.models import Entity, LineTemplate, NumberInterval, PbxUser, PhoneNumber, Platform, Server, Tenant
from tenants.models import Membership, Organization, OrganizationKind, Role

PASSWORD = "a-test-password-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"login{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.net")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    """Pass parent=<Organization> for a child; without a parent it is a new root."""

    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    kind = OrganizationKind.RESELLER

    @classmethod
    def _create(cls, model_class, *args, parent=None, **kwargs):
        if parent is None:
            return model_class.objects.add_root(kwargs)
        return model_class.objects.add_child(parent, kwargs)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.ADMIN


class PlatformFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Platform

    organization = factory.SubFactory(OrganizationFactory, kind=OrganizationKind.DISTRIBUTOR)
    name = factory.Sequence(lambda n: f"Platform {n}")
    kind = "xcu"
    base_url = "http://127.0.0.1:9/api/1.0/"
    username = "admin"
    secret = "superpass"


class ServerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Server

    platform = factory.SubFactory(PlatformFactory)
    name = factory.Sequence(lambda n: f"server-{n}")
    host = "127.0.0.1"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    organization = factory.SubFactory(OrganizationFactory, kind=OrganizationKind.CUSTOMER)
    # a server of a platform shared with the tenant's organization (here: its own root)
    server = factory.LazyAttribute(
        lambda o: ServerFactory(
            platform=PlatformFactory(organization=Organization.objects.get(path=o.organization.path[:4]))
        )
    )
    name = factory.Sequence(lambda n: f"tenant{n}")
    licences = 500


class EntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Entity
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"entity{n}")

    @factory.post_generation
    def intervals(obj, create, extracted, **kwargs):
        """intervals=[("1000", "1999")] (the default) or [] for none."""
        if not create:
            return
        for start, end in [("1000", "1999")] if extracted is None else extracted:
            NumberInterval.objects.create(entity=obj, start=start, end=end)


class LineTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LineTemplate

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Template {n}")


class PbxUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PbxUser

    entity = factory.SubFactory(EntityFactory)
    tenant = factory.LazyAttribute(lambda o: o.entity.tenant)
    template = factory.LazyAttribute(lambda o: LineTemplateFactory(organization=o.tenant.organization))
    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Ada"
    last_name = factory.Sequence(lambda n: f"Lovelace{n}")
    internal_number = factory.Sequence(lambda n: str(1000 + n % 1000))


class PhoneNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneNumber

    number = factory.Sequence(lambda n: f"+3120{5000000 + n}")
    organization = factory.SubFactory(OrganizationFactory)
