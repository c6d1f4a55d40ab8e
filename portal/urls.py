"""URL map: the staff admin under /admin/, the customer self-service site at the root."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from portal.views import alerts, api_tokens, two_factor, webhooks
from portal.views.configurator_hooks import order_webhook
from portal.views.dashboard import staff_dashboard
from portal.views.language import choose_language
from telephony.admin.onboarding import urlpatterns_for as onboarding_urls


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico whatever a page names: they get the portal's icon."""
    return HttpResponsePermanentRedirect(static("portal/favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("admin/dashboard/", admin.site.admin_view(staff_dashboard), name="staff_dashboard"),
    path("admin/2fa/setup/", admin.site.admin_view(two_factor.setup), name="two_factor_setup"),
    path("admin/2fa/verify/", admin.site.admin_view(two_factor.verify), name="two_factor_verify"),
    path("admin/2fa/backup-codes/", admin.site.admin_view(two_factor.backup_codes), name="two_factor_backup_codes"),
    path("admin/alerts/", admin.site.admin_view(alerts.staff_alert_choices), name="alert_choices"),
    path("admin/api-tokens/", admin.site.admin_view(api_tokens.staff_api_tokens), name="api_tokens"),
    path("admin/webhooks/", admin.site.admin_view(webhooks.staff_webhooks), name="webhooks"),
    path("admin/webhooks/<int:pk>/", admin.site.admin_view(webhooks.staff_webhook), name="webhook"),
    *onboarding_urls(admin.site),
    path("hooks/configurator/orders/<uuid:public_id>/<str:secret>/", order_webhook, name="configurator-webhook"),
    path("language/", choose_language, name="choose_language"),
    path("api/v1/", include("portal.api.urls")),
    path("admin/", admin.site.urls),
    path("", include("portal.selfservice.urls")),
]
