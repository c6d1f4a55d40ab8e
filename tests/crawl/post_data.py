"""What the crawl's POSTs send: the relation fields of a form and the model behind each (so that a
foreign object's id can be put into one), values that make an add form valid with the login's own
objects, and form pairs with a value replaced.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.forms import ModelChoiceField
from django.test import RequestFactory

from telephony import selectors_selfservice
from telephony.models import ConfiguratorLink, Entity, LineTemplate, PbxUser, PhoneNumber, Platform, Server, Tenant
from tenants import access
from tenants.access import CHANGE, VIEW
from tenants.models import Membership, Organization
from tests.crawl.forms import Form
from tests.crawl.sight import Sight, User

Pairs = list[tuple[str, Any]]
PASSWORD = "Crawl-pass-9x!long"  # long and mixed enough for the password validators


def admin_form_relations(model_admin, sight: Sight, obj) -> dict[str, type[models.Model]]:
    """The related model behind each relation field of an admin add/change form, main form and
    inline rows (`<prefix>-<n>-<field>`), from the form classes the admin builds for this login."""
    request = RequestFactory().get("/admin/")
    request.user = sight.user
    relations: dict[str, type[models.Model]] = {}
    form_class = model_admin.get_form(request, obj, change=obj is not None)
    for name, form_field in form_class.base_fields.items():
        if isinstance(form_field, ModelChoiceField):
            relations[name] = form_field.queryset.model
    if obj is not None or not getattr(model_admin, "add_form", None):
        for formset, inline in model_admin.get_formsets_with_inlines(request, obj):
            prefix = formset.get_default_prefix()
            relations[f"{prefix}-*-id"] = inline.model
            fk = getattr(formset, "fk", None)
            if fk is not None:
                relations[f"{prefix}-*-{fk.name}"] = fk.remote_field.model
            for name, form_field in formset.form.base_fields.items():
                if isinstance(form_field, ModelChoiceField) and name != getattr(fk, "name", None):
                    relations[f"{prefix}-*-{name}"] = form_field.queryset.model
    return relations


def relation_of(name: str, relations: dict[str, type[models.Model]]) -> type[models.Model] | None:
    """The model behind a field name of a form, an inline row's `<prefix>-<n>-<field>` included."""
    if name in relations:
        return relations[name]
    parts = name.split("-")
    if len(parts) >= 3 and parts[-2].isdigit():
        return relations.get(f"{'-'.join(parts[:-2])}-*-{parts[-1]}")
    return None


def with_value(pairs: Pairs, name: str, value: Any, *, multiple: bool) -> Pairs:
    """`value` for `name`: instead of the current one, or besides the others for a multiple select."""
    if multiple:
        return [*pairs, (name, value)]
    kept = [(n, v) for n, v in pairs if n != name]
    return [*kept, (name, value)]


def main_admin_form(forms: list[Form], model) -> Form | None:
    """The add or change form of an admin page (not the search or logout forms)."""
    wanted = f"{model._meta.model_name}_form"
    return next((form for form in forms if form.attrs.get("id") == wanted), None)


def valid_new_object_data(model, sight: Sight) -> dict[str, Any]:
    """Values that make an add form valid with the login's own objects, so that the foreign id put
    into one select is the only thing wrong with the POST (empty add forms would be refused anyway)."""
    user = sight.user
    scope_model = Membership if model is User else model
    if not hasattr(scope_model, "access_policy"):
        return {}
    own_org = next(iter(access.organizations_for(user, scope_model, "add").order_by("path")), None)
    own_customer = next(
        iter(access.organizations_for(user, scope_model, "add").filter(kind="customer").order_by("path")), None
    )
    # a tenant and an entity where the login may add users (an entity administrator: its entity)
    entity = next(
        (
            e
            for e in access.restrict(Entity.objects.select_related("tenant__organization").order_by("pk"), user, VIEW)
            if access.can_add(user, PbxUser, e.tenant.organization, entity=e)
        ),
        None,
    )
    tenant = entity.tenant if entity is not None else None
    template = tenant and next(
        iter(
            access.restrict(LineTemplate.objects.all(), user, VIEW).filter(
                organization__path__in=[*tenant.organization.ancestor_paths(), tenant.organization.path]
            )
        ),
        None,
    )
    platform = next(iter(access.restrict(Platform.objects.order_by("pk"), user, CHANGE)), None)
    server = next(iter(access.restrict(Server.objects.order_by("pk"), user, VIEW)), None)

    def pk(obj) -> Any:
        return obj.pk if obj is not None else ""

    values_by_model = {
        Organization: {"name": "Crawl Org", "kind": "customer", "parent": pk(own_org)},
        Tenant: {"organization": pk(own_customer), "server": pk(server), "name": "crawl-new", "licences": "10"},
        Entity: {"tenant": pk(tenant), "name": "crawlnew", "number_plan": "2500-2599"},
        LineTemplate: {"organization": pk(own_org), "name": "Crawl template"},
        PbxUser: {
            "tenant": pk(tenant),
            "entity": pk(entity),
            "template": pk(template),
            "internal_number": _free_number_of(entity),
            "username": "crawl.new",
            "first_name": "Crawl",
            "last_name": "New",
        },
        PhoneNumber: {"number": "+31999000111", "organization": pk(own_org), "tenant": pk(tenant)},
        Platform: {
            "organization": pk(own_org),
            "name": "Crawl platform",
            "kind": "xcu",
            "base_url": "http://127.0.0.1:9/api/1.0/",
            "username": "crawl",
            "timeout_seconds": "10",
        },
        Server: {"platform": pk(platform), "name": "crawl-srv", "host": "127.0.0.1"},
        ConfiguratorLink: {
            "organization": pk(own_customer),
            "name": "Crawl link",
            "base_url": "http://127.0.0.1:9/",
            "timeout_seconds": "10",
            "new_api_key": "crawl-key",
        },
        User: {
            "username": "crawlnew",
            "email": "crawlnew@example.net",
            "organization": pk(own_org),
            "role": "operator",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "usable_password": "true",
        },
    }
    if model is Membership:
        candidate = next(
            iter(access.restrict_users(User.objects.exclude(memberships__organization=own_org), user, CHANGE)), None
        )
        return {"user": pk(candidate), "organization": pk(own_org), "role": "viewer"}
    return values_by_model.get(model, {})


def _free_number_of(entity) -> str:
    if entity is None:
        return ""
    return selectors_selfservice.next_free_internal_numbers(entity.tenant).get(entity.pk, "")


def with_values(pairs: Pairs, values: dict[str, Any], form: Form) -> Pairs:
    """`values` instead of the current ones, for the fields the form has."""
    names = {f.name for f in form.fields}
    kept = [(n, v) for n, v in pairs if n not in values or n not in names]
    return kept + [(n, v) for n, v in values.items() if n in names]
