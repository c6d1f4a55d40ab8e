"""Who owns what: the organization tree and the portal logins' roles in it."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override
from treebeard.mp_tree import MP_Node

from tenants.audit_mixin import Audited
from tenants.policy import DELETE, ORGANIZATION_MANAGERS, ROLE_ADMIN, ROLE_OPERATOR, ROLE_VIEWER, AccessPolicy


class OrganizationKind(models.TextChoices):
    DISTRIBUTOR = "distributor", gettext_lazy("Distributor")
    RESELLER = "reseller", gettext_lazy("Reseller")
    CUSTOMER = "customer", gettext_lazy("Customer")


class Organization(Audited, MP_Node):
    """A node of the tree: distributor > reseller > (sub-reseller …) > customer, any depth.

    Stored as a materialized path (django-treebeard): every node's `path` starts with its parent's,
    so "this node and everything below it" is one indexed `path LIKE 'prefix%'` query. A customer
    is a leaf: it owns tenants, not other organizations. New children go after their siblings
    (no `node_order_by`), so adding one never rewrites the paths of others.
    """

    access_policy = AccessPolicy(("",), manage_roles=ORGANIZATION_MANAGERS, strict_actions=frozenset({DELETE}))

    # 4 characters of [0-9A-Z] per level: 1.6 million children per node; 1020 characters: 255 levels.
    steplen = 4
    path = models.CharField(verbose_name=gettext_lazy("path"), max_length=1020, unique=True)

    name = models.CharField(verbose_name=gettext_lazy("name"), max_length=200)
    kind = models.CharField(verbose_name=gettext_lazy("kind"), max_length=20, choices=OrganizationKind.choices)
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("organization")
        verbose_name_plural = gettext_lazy("organizations")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=OrganizationKind.values),
                name="organization_kind_valid",
                violation_error_message=gettext_lazy("Choose distributor, reseller or customer."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_customer(self) -> bool:
        return self.kind == OrganizationKind.CUSTOMER

    def ancestor_paths(self) -> list[str]:
        """Paths of this node's ancestors, root first, worked out from its own path (no query)."""
        return [self.path[: i * self.steplen] for i in range(1, len(self.path) // self.steplen)]

    @property
    def parent(self) -> Organization | None:
        """The organization directly above, or None for a root (one query)."""
        return Organization.objects.get_parent(self) if self.depth > 1 else None

    def is_within(self, other: Organization) -> bool:
        """True if this organization is `other` or below it."""
        return self.path.startswith(other.path)

    def clean(self) -> None:
        super().clean()
        if self.name and not self.name.strip():
            raise ValidationError({"name": _("The name cannot be blank.")})


def validate_child_kind(parent: Organization | None, kind: str) -> None:
    """A customer has no organizations below it; a distributor sits at the top of a tree."""
    if parent is None:
        return
    if parent.kind == OrganizationKind.CUSTOMER:
        raise ValidationError(
            {
                "parent": _("%(name)s is a customer; a customer cannot have organizations below it.")
                % {"name": parent.name}
            }
        )
    if kind == OrganizationKind.DISTRIBUTOR and parent.kind != OrganizationKind.DISTRIBUTOR:
        raise ValidationError({"kind": _("A distributor can only sit below another distributor.")})


class Role(models.TextChoices):
    ADMIN = ROLE_ADMIN, gettext_lazy("Administrator")
    OPERATOR = ROLE_OPERATOR, gettext_lazy("Operator")
    VIEWER = ROLE_VIEWER, gettext_lazy("Viewer")


class Membership(Audited, models.Model):
    """A portal login's role in one organization; it holds for the whole subtree below it.

    `admin` manages everything in the subtree including staff and platforms, `operator` manages the
    PBX objects (tenants, entities, templates, users, numbers), `viewer` only reads.
    """

    access_policy = AccessPolicy(("organization",), manage_roles=ORGANIZATION_MANAGERS)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    organization = models.ForeignKey(
        Organization, verbose_name=gettext_lazy("organization"), on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(verbose_name=gettext_lazy("role"), max_length=20, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(verbose_name=gettext_lazy("created at"), auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("membership")
        verbose_name_plural = gettext_lazy("memberships")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"],
                name="membership_one_role_per_organization",
                violation_error_message=gettext_lazy("This login already has a role in this organization."),
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values),
                name="membership_role_valid",
                violation_error_message=gettext_lazy("Choose admin, operator or viewer."),
            ),
        ]

    def __str__(self) -> str:
        with override(None):  # the audit keeps it as the entry's name: in English, whoever makes the change
            return f"{self.user} — {self.get_role_display()} of {self.organization}"


class ActingEnd(models.TextChoices):
    CLICK = "click", gettext_lazy("ended by a click")
    TIMEOUT = "timeout", gettext_lazy("time limit reached")
    LOGOUT = "logout", gettext_lazy("signed out")
    REVOKED = "revoked", gettext_lazy("access withdrawn")


class ActingSession(Audited, models.Model):
    """A reseller administrator using the self-service site as the administrator of a customer
    below it, to help on the phone (`tenants.acting`): who, as which customer, from when until
    when, and how it ended. Written when it starts and when it ends, so the audit and the
    customer's own history both show it; an open row's `ended_at` is empty."""

    access_policy = AccessPolicy(("organization",), manage_roles=ORGANIZATION_MANAGERS)

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("actor"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="acting_sessions",
    )
    # The login's name when it started: the history still says who after the login is gone.
    actor_name = models.CharField(verbose_name=gettext_lazy("actor name"), max_length=150)
    organization = models.ForeignKey(
        Organization,
        verbose_name=gettext_lazy("organization"),
        on_delete=models.CASCADE,
        related_name="acting_sessions",
    )
    started_at = models.DateTimeField(verbose_name=gettext_lazy("started at"))
    ended_at = models.DateTimeField(verbose_name=gettext_lazy("ended at"), null=True, blank=True)
    end_reason = models.CharField(
        verbose_name=gettext_lazy("end reason"), max_length=20, choices=ActingEnd.choices, blank=True
    )

    class Meta:
        verbose_name = gettext_lazy("acting session")
        verbose_name_plural = gettext_lazy("acting sessions")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["ended_at", "started_at"], name="acting_session_open")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True, end_reason="")
                | models.Q(ended_at__isnull=False, end_reason__in=ActingEnd.values),
                name="acting_session_end_has_reason",
                violation_error_message=gettext_lazy("An ended session says how it ended; an open one does not."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.actor_name} acting as administrator of {self.organization}"


class LoginSettings(models.Model):
    """A login's own choices that follow it from browser to browser: for now the language the portal
    speaks to it in (pages, messages and the e-mails it is sent). Empty: the browser's language."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=gettext_lazy("user"),
        on_delete=models.CASCADE,
        related_name="login_settings",
    )
    language = models.CharField(
        verbose_name=gettext_lazy("language"), max_length=8, blank=True, choices=settings.LANGUAGES
    )

    class Meta:
        verbose_name = gettext_lazy("login settings")
        verbose_name_plural = gettext_lazy("login settings")

    def __str__(self) -> str:
        return f"{self.user}: {self.language or 'browser language'}"
