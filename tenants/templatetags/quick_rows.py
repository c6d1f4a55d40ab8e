"""`{% quick_result_list cl %}`: Django's `result_list` with each row drawn in one piece
(tenants.admin_rows.quick_result_list); templates/admin/change_list.html uses it."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.admin.templatetags.base import InclusionAdminNode

from tenants.admin_rows import quick_result_list

register = template.Library()


@register.tag(name="quick_result_list")
def quick_result_list_tag(parser: Any, token: Any) -> InclusionAdminNode:
    return InclusionAdminNode(
        parser, token, func=quick_result_list, template_name="change_list_results.html", takes_context=False
    )
