"""Admin for the organization tree, memberships and portal logins, scoped by the permission tree."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserCreationForm
from django.db.models import CharField, OuterRef, Subquery
from django.db.models.expressions import Expression
from django.db.models.functions import Length, Substr
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenants import access, acting, services
from tenants.access import ADD, CHANGE, VIEW
from tenants.admin_scoping import ScopedAdmin
from tenants.models import Membership, Organization, Role


class OrganizationForm(forms.ModelForm):
    parent = forms.ModelChoiceField(
        queryset=Organization.objects.none(),
        required=False,
        help_text=gettext_lazy("The organization this one sits below. Changing it moves it with everything below it."),
    )

    parent_choices = None  # set per request by OrganizationAdmin.get_form
    parent_required = True

    class Meta:
        model = Organization
        fields = ["name", "kind"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Set on this request's form class, never on the field shared by every request's form.
        self.fields["parent"].queryset = self.parent_choices
        self.fields["parent"].required = self.parent_required


def _count_of(relation: str) -> Expression:
    """How many rows of a reverse relation point at each organization, for the page's rows only (a
    join with COUNT DISTINCT grouped every organization the login sees, for every page)."""
    related = Organization._meta.get_field(relation)
    return access.correlated_count(related.related_model, related.field.name)


@admin.register(Organization)
class OrganizationAdmin(ScopedAdmin):
    form = OrganizationForm
    list_display = ["tree_name", "kind", "parent_name", "child_count", "tenant_count", "member_count"]
    list_filter = ["kind", "depth"]
    search_fields = ["name"]
    ordering = ["path"]

    class Media:
        css = {"all": ["tenants/admin.css"]}

    @admin.display(description=gettext_lazy("organization"), ordering="path")
    def tree_name(self, obj: Organization) -> str:
        depth = str(obj.depth) if obj.depth <= 8 else "deep"
        return format_html('<span class="tree-depth-{}">{}</span>', depth, obj.name)

    @admin.display(description=gettext_lazy("below"))
    def parent_name(self, obj: Organization) -> str:
        return obj.parent_name or "—"

    @admin.display(description=gettext_lazy("children"), ordering="numchild")
    def child_count(self, obj: Organization) -> int:
        return obj.numchild

    @admin.display(description=gettext_lazy("tenants"), ordering="tenant_count")
    def tenant_count(self, obj: Organization) -> int:
        return obj.tenant_count

    @admin.display(description=gettext_lazy("members"), ordering="member_count")
    def member_count(self, obj: Organization) -> int:
        return obj.member_count

    def get_queryset(self, request: HttpRequest):
        parent_path = Substr(OuterRef("path"), 1, Length(OuterRef("path")) - Organization.steplen)
        parents = Organization.objects.filter(path=parent_path).values("name")[:1]
        return (
            super()
            .get_queryset(request)
            .annotate(
                parent_name=Subquery(parents, output_field=CharField()),
                tenant_count=_count_of("tenants"),
                member_count=_count_of("memberships"),
            )
        )

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        choices = access.organizations_for(request.user, Organization, ADD).exclude(kind="customer")
        if obj is not None:
            choices = choices.exclude(path__startswith=obj.path)
        form_class.parent_choices = choices
        # Required to place a new organization; on an existing one, empty leaves it where it is (an
        # administrator of this very organization cannot choose what is above it).
        form_class.parent_required = obj is None and not request.user.is_superuser
        return form_class

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        if obj is not None and not form.is_bound:
            form.initial.setdefault("parent", getattr(obj.parent, "pk", None))
        if obj is not None and acting.may_act_as(request.user, obj):  # the self-service site's page starts it
            context["act_as_customer_url"] = reverse("selfservice:acting_start", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def create_object(self, request: HttpRequest, obj: Organization, form: Any) -> None:
        services.organization_create(actor=request.user, organization=obj, parent=form.cleaned_data.get("parent"))

    def update_object(self, request: HttpRequest, obj: Organization, form: Any) -> None:
        services.organization_update(actor=request.user, organization=obj)
        new_parent = form.cleaned_data.get("parent")
        current_parent = Organization.objects.get(pk=obj.pk).parent
        if new_parent is not None and (current_parent is None or current_parent.pk != new_parent.pk):
            moved = services.organization_move(actor=request.user, organization=obj, new_parent=new_parent)
            obj.path, obj.depth = moved.path, moved.depth

    def delete_object(self, request: HttpRequest, obj: Organization) -> None:
        services.organization_delete(actor=request.user, organization=obj)


@admin.register(Membership)
class MembershipAdmin(ScopedAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    list_select_related = ["user", "organization"]
    search_fields = ["user__username", "user__email", "organization__name"]
    autocomplete_fields = ["organization"]
    service_object_name = "membership"
    create_service = services.membership_create
    update_service = services.membership_update
    delete_service = services.membership_delete


class StaffLoginCreationForm(UserCreationForm):
    """A new admin-site login comes with its first role, so it is inside somebody's tree at once."""

    organization = forms.ModelChoiceField(queryset=Organization.objects.none())
    role = forms.ChoiceField(choices=Role.choices, initial=Role.OPERATOR)
    organization_choices = None  # set per request by PortalUserAdmin.get_form

    class Meta(UserCreationForm.Meta):
        fields = ["username", "email"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.organization_choices is not None:
            self.fields["organization"].queryset = self.organization_choices


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    """Portal logins: staff see the logins of their subtree and manage those entirely inside it."""

    add_form = StaffLoginCreationForm
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("username", "email", "organization", "role", "password1", "password2")},
        ),
    )
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_active"]
    actions = ["unlock_logins"]

    def get_queryset(self, request: HttpRequest):
        return access.restrict_users(super().get_queryset(request), request.user, VIEW)

    @admin.action(description=gettext_lazy("Unlock the selected logins (clear failed login attempts)"))
    def unlock_logins(self, request: HttpRequest, queryset) -> None:
        cleared = 0
        for user in access.restrict_users(queryset, request.user, CHANGE):
            cleared += services.login_unlock(actor=request.user, user=user)
        messages.success(request, _("Cleared %(count)s lockout record(s).") % {"count": cleared})

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or bool(access.memberships(request.user))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request) and (
            obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()
        )

    def _manages(self, request: HttpRequest, obj: Any) -> bool:
        if request.user.is_superuser:
            return True
        if obj is None:
            return any(role == Role.ADMIN for _path, role in access.memberships(request.user))
        return access.restrict_users(User.objects.filter(pk=obj.pk), request.user, CHANGE).exists()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._manages(request, None)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._manages(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._manages(request, obj) and (obj is None or obj.pk != request.user.pk)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No user matches the given query.")
        return obj

    def get_fieldsets(self, request: HttpRequest, obj: Any = None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or request.user.is_superuser:
            return fieldsets
        return [
            (None, {"fields": ("username", "password")}),
            (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
            (_("Access"), {"fields": ("is_active", "is_staff")}),
            (_("Important dates"), {"fields": ("last_login", "date_joined")}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None):
        return ["last_login", "date_joined"] if obj is not None else []

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any):
        form_class = super().get_form(request, obj, **kwargs)
        if obj is None and "organization" in form_class.base_fields:
            form_class.organization_choices = access.organizations_for(request.user, Membership, ADD)
        return form_class

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            services.login_update(actor=request.user, user=obj)
            return
        created = services.staff_login_create(
            actor=request.user,
            username=obj.username,
            password=form.cleaned_data["password1"],
            email=obj.email,
            organization=form.cleaned_data["organization"],
            role=form.cleaned_data["role"],
        )
        obj.pk = created.pk
        obj._state.adding = False
        obj.password = created.password

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.login_delete(actor=request.user, user=obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for user in queryset:
            services.login_delete(actor=request.user, user=user)


from tenants import admin_audit  # noqa: E402,F401  (replaces auditlog's unscoped admin)
