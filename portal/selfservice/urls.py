"""URLs of the self-service site, mounted at `/` (namespace `selfservice`)."""

from django.urls import include, path

from portal.selfservice import imports
from portal.selfservice.views import acting, alerts, auth, cti, line, users
from portal.views import two_factor
from portal.views.api_tokens import selfservice_api_tokens
from portal.views.webhooks import selfservice_webhook, selfservice_webhooks

app_name = "selfservice"

urlpatterns = [
    path("", auth.home, name="home"),
    # signing in and out
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("password/reset/", auth.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", auth.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("password/reset/done/", auth.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("password/change/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("2fa/setup/", two_factor.selfservice_view(two_factor.setup), name="two_factor_setup"),
    path("2fa/verify/", two_factor.selfservice_view(two_factor.verify), name="two_factor_verify"),
    path("2fa/backup-codes/", two_factor.selfservice_view(two_factor.backup_codes), name="two_factor_backup_codes"),
    # the customer administrator
    path("dashboard/", users.dashboard, name="dashboard"),
    path("dashboard/pushes.json", users.dashboard_pushes, name="dashboard_pushes"),
    path("users/", users.user_list, name="user_list"),
    path("users/new/", users.user_new, name="user_new"),
    path("tenants/<int:tenant_id>/users/new/", users.user_create, name="user_create"),
    path("users/<int:pk>/", users.user_detail, name="user_detail"),
    path("users/<int:pk>/pushes.json", users.user_pushes, name="user_pushes"),
    path("users/<int:pk>/edit/", users.user_edit, name="user_edit"),
    path("users/<int:pk>/line/", users.user_line, name="user_line"),
    path("users/<int:pk>/numbers/add/", users.user_number_add, name="user_number_add"),
    path("users/<int:pk>/numbers/<int:number_id>/release/", users.user_number_release, name="user_number_release"),
    path("users/<int:pk>/pin/", users.user_pin_reset, name="user_pin_reset"),
    path("users/<int:pk>/delete/", users.user_delete, name="user_delete"),
    path("users/<int:pk>/cti/", cti.user_cti, name="user_cti"),
    path("users/<int:pk>/cti/remove/", cti.user_cti_clear, name="user_cti_clear"),
    path("tenants/<int:tenant_id>/crm/", cti.crm_integration, name="crm_integration"),
    path("tenants/<int:tenant_id>/crm/remove/", cti.crm_integration_delete, name="crm_integration_delete"),
    path("import/", include(imports.urlpatterns)),
    path("alerts/", alerts.alert_choices, name="alert_choices"),
    path("api-tokens/", selfservice_api_tokens, name="api_tokens"),
    path("webhooks/", selfservice_webhooks, name="webhooks"),
    path("webhooks/<int:pk>/", selfservice_webhook, name="webhook"),
    # a reseller administrator acting as a customer's administrator
    path("acting/<int:organization_id>/", acting.acting_start, name="acting_start"),
    path("acting/end/", acting.acting_end, name="acting_end"),
    # the end user
    path("my-line/", line.my_line, name="my_line"),
    path("my-line/pushes.json", line.my_line_pushes, name="my_line_pushes"),
]
