"""/api/v1/: the resources, the OpenAPI schema and its browsable docs (served from here, no CDN)."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from portal.api import views, views_access, views_drift, views_imports, views_numbers, views_webhooks

router = DefaultRouter(use_regex_path=False)
router.include_format_suffixes = False  # JSON only: no `.json` twin of every URL
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("tenants", views.TenantViewSet, basename="tenant")
router.register("entities", views.EntityViewSet, basename="entity")
router.register("line-templates", views.LineTemplateViewSet, basename="line-template")
router.register("pbx-users", views.PbxUserViewSet, basename="pbx-user")
router.register("jobs", views.JobViewSet, basename="job")
router.register("platforms", views_access.PlatformViewSet, basename="platform")
router.register("servers", views_access.ServerViewSet, basename="server")
router.register("memberships", views_access.MembershipViewSet, basename="membership")
router.register("entity-grants", views_access.EntityGrantViewSet, basename="entity-grant")
router.register("phone-numbers", views_numbers.PhoneNumberViewSet, basename="phone-number")
router.register("number-pools", views_numbers.NumberPoolViewSet, basename="number-pool")
router.register("imports", views_imports.ImportRunViewSet, basename="import-run")
router.register("drift-scans", views_drift.DriftScanViewSet, basename="drift-scan")
router.register("drift-findings", views_drift.DriftFindingViewSet, basename="drift-finding")
router.register("webhook-endpoints", views_webhooks.WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("webhook-deliveries", views_webhooks.WebhookDeliveryViewSet, basename="webhook-delivery")

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
]
