"""How a model declares its place in the permission tree (see `tenants.access`)."""

from __future__ import annotations

from dataclasses import dataclass

VIEW = "view"
ADD = "add"
CHANGE = "change"
DELETE = "delete"
ACTIONS = (VIEW, ADD, CHANGE, DELETE)

ROLE_ADMIN = "admin"
ROLE_OPERATOR = "operator"
ROLE_VIEWER = "viewer"
ALL_ROLES = frozenset({ROLE_ADMIN, ROLE_OPERATOR, ROLE_VIEWER})
PBX_MANAGERS = frozenset({ROLE_ADMIN, ROLE_OPERATOR})
ORGANIZATION_MANAGERS = frozenset({ROLE_ADMIN})

# The reverse accessor, on a login, of the many-to-many that grants it entities
# (telephony's Entity.administrators): the only name of the floor above that this floor knows.
ENTITY_GRANTS_RELATION = "administered_entities"
# The reverse accessor, on a login, of the PBX line it manages on the self-service site
# (telephony's PbxUser.portal_user).
LINE_RELATION = "pbx_line"


@dataclass(frozen=True)
class AccessPolicy:
    """How one model is scoped.

    organization_lookups: lookups from the model to an owning Organization ("" is the model itself).
        The first one decides add and delete; any of them grants view and change (a phone number is
        seen by its pool's owner and by the customer whose tenant holds it).
    manage_roles: roles that may add, change and delete.
    shared_down: view also from below the owner (the resource is usable in the owner's subtree).
    strict_actions: actions that need a membership strictly above the object (an organization cannot
        delete or move itself).
    entity_lookup: lookup from the model to the Entity an entity administrator is granted ("" = the
        model is the Entity); None: entity administrators get nothing here.
    entity_reverse_lookup: instead of entity_lookup, the lookup from the Entity to the model (a
        tenant is seen by the administrators of its entities).
    entity_actions: what an entity administrator may do on those objects. A shared-down resource
        with VIEW here (line templates) is seen by entity administrators of the organizations below.
    entity_grant_field: the many-to-many field on the entity model naming its administrators.
    entity_creator_lookup: lookup from the model to the login that made it; entity administrators
        then get only what they made themselves (a CSV import of several entities' users is seen by
        the one who uploaded it, not by every administrator of one of those entities).
    """

    organization_lookups: tuple[str, ...]
    manage_roles: frozenset[str] = PBX_MANAGERS
    shared_down: bool = False
    strict_actions: frozenset[str] = frozenset()
    entity_lookup: str | None = None
    entity_reverse_lookup: str | None = None
    entity_actions: frozenset[str] = frozenset()
    entity_grant_field: str = "administrators"
    entity_creator_lookup: str | None = None

    def roles_for(self, action: str) -> frozenset[str]:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        return ALL_ROLES if action == VIEW else self.manage_roles


def policy_of(model: type) -> AccessPolicy:
    """The access policy a model declares (every scoped model has one)."""
    try:
        return model.access_policy  # type: ignore[attr-defined]
    except AttributeError:
        raise TypeError(f"{model.__name__} declares no access_policy; it cannot be scoped") from None
