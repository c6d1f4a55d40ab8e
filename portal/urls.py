"""URL map: the staff admin under /admin/, the self-service site at the root."""

from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from portal.views.dashboard import staff_dashboard

urlpatterns = [
    path("admin/dashboard/", admin.site.admin_view(staff_dashboard), name="staff_dashboard"),
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
