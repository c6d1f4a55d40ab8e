"""Django's admin app with the portal's site (`tenants.admin_site`): installed in place of
"django.contrib.admin", Django's way to replace the default site. Kept apart from the site itself,
which is imported only once the apps are loaded."""

from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    default_site = "tenants.admin_site.PortalAdminSite"
