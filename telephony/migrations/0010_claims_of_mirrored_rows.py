"""Claims for what the portal already mirrors, from the identities the rows hold (the drivers'
canonical keys as of this migration). Where two rows hold one object, the older row keeps it and
the other is left without a claim: its next push then meets the conflict instead of overwriting."""

from django.db import IntegrityError, migrations, transaction


def _tenant_key(kind, tenant):
    if kind == "xc5":
        return tenant.xc5_guid
    if kind == "xelion":
        return f"db:{tenant.xelion_database_id}" if tenant.xelion_database_id is not None else ""
    if kind == "xelion_pm":
        return f"pm:{tenant.xelion_tenant_id}" if tenant.xelion_tenant_id else ""
    return ""


def _entity_key(kind, entity):
    if kind == "xcu":
        return str(entity.xcu_id) if entity.xcu_id is not None else ""
    if kind in ("xelion", "xelion_pm") and entity.xelion_oid:
        return f"{entity.tenant.name}/{entity.xelion_oid}"
    return ""


def _user_key(kind, user):
    if kind == "xcu":
        return str(user.xcu_id) if user.xcu_id is not None else ""
    if kind == "xc5":
        return user.xc5_guid
    if kind in ("xelion", "xelion_pm") and user.xelion_oid:
        return f"{user.tenant.name}/{user.xelion_oid}"
    return ""


def claim_existing(apps, schema_editor):
    claim_model = apps.get_model("telephony", "BackendClaim")
    content_type = apps.get_model("contenttypes", "ContentType")

    def claim(platform_id, kind, key, model_name, pk):
        if not key:
            return
        target_type, _ = content_type.objects.get_or_create(app_label="telephony", model=model_name)
        try:
            with transaction.atomic():
                claim_model.objects.create(
                    platform_id=platform_id, kind=kind, key=key, target_type=target_type, target_id=pk
                )
        except IntegrityError:
            pass  # an older row holds it

    for tenant in apps.get_model("telephony", "Tenant").objects.select_related("server__platform").order_by("pk"):
        platform = tenant.server.platform
        claim(platform.pk, "tenant", _tenant_key(platform.kind, tenant), "tenant", tenant.pk)
    entities = apps.get_model("telephony", "Entity").objects.select_related("tenant__server__platform")
    for entity in entities.order_by("pk"):
        platform = entity.tenant.server.platform
        claim(platform.pk, "entity", _entity_key(platform.kind, entity), "entity", entity.pk)
    users = apps.get_model("telephony", "PbxUser").objects.select_related("tenant__server__platform")
    for user in users.order_by("pk"):
        platform = user.tenant.server.platform
        claim(platform.pk, "user", _user_key(platform.kind, user), "pbxuser", user.pk)
    for mirror in apps.get_model("telephony", "LineTemplateMirror").objects.order_by("pk"):
        if mirror.xcu_id is not None:
            claim(mirror.platform_id, "template", str(mirror.xcu_id), "linetemplatemirror", mirror.pk)


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("telephony", "0009_backend_claims"),
    ]

    operations = [migrations.RunPython(claim_existing, migrations.RunPython.noop)]
