"""The CTI credential columns of a users import (`cti_client_id` and the write-only
`cti_client_secret`, `cti_refresh_token`, `cti_device_code`): a user's OAuth credentials at the CRM
of its tenant's CRM integration.

Checked with the rules of a single change (`telephony.services.cti.credentials_applied`), against
the tenant's integration and the credentials already stored, both loaded once for the whole file;
a file without these columns loads nothing. An empty cell keeps what is stored. Secrets are taken
as written, never repeated in a message or the preview, and saved with their jobs through
`cti_credentials_set_many` in the import's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from telephony.imports.base import Cells, RowInvalid
from telephony.imports.columns import ColumnMap
from telephony.models import CrmIntegration, CtiUserCredentials, PbxUser, ProvisioningBatch
from telephony.services.cti import credentials_applied, cti_credentials_set_many, integration_refusal

CLIENT_ID = "cti_client_id"
SECRET_COLUMNS = ("cti_client_secret", "cti_refresh_token", "cti_device_code")
CTI_COLUMNS = (CLIENT_ID, *SECRET_COLUMNS)
FIELD_OF = {column: column.removeprefix("cti_") for column in CTI_COLUMNS}
COLUMN_OF = {field: column for column, field in FIELD_OF.items()}
HIDDEN = "••••"


@dataclass(slots=True)
class CtiChange:
    """A row's new credentials (validated, not saved) and the integration that pushes them."""

    credentials: CtiUserCredentials
    integration: CrmIntegration
    secrets_given: tuple[str, ...]  # the secret columns the row fills (for the preview, never their values)


class UserCti:
    """The tenants' CRM integrations and their users' stored credentials, for one import."""

    def __init__(self, column_map: ColumnMap, tenant_ids: Iterable[int], *, lock: bool):
        self.present = [column for column in CTI_COLUMNS if column in column_map]
        tenant_ids = list(tenant_ids)
        self.integrations = {i.tenant_id: i for i in CrmIntegration.objects.filter(tenant_id__in=tenant_ids)}
        stored = CtiUserCredentials.objects.filter(user__tenant_id__in=tenant_ids)
        if lock:
            stored = stored.select_for_update()
        self.stored = {credentials.user_id: credentials for credentials in stored}

    @classmethod
    def of(cls, column_map: ColumnMap, tenant_ids: Iterable[int], *, lock: bool) -> UserCti | None:
        """None for a file without CTI columns: it costs nothing."""
        if not any(column in column_map for column in CTI_COLUMNS):
            return None
        return cls(column_map, tenant_ids, lock=lock)

    def check(self, tenant: Any, existing: PbxUser | None, cells: Cells) -> CtiChange | None:
        """The row's change of credentials; None when its CTI cells are empty or say what is stored."""
        given = {}
        for column in self.present:
            value = cells.secret(column) if column in SECRET_COLUMNS else cells.get(column)
            if value:
                given[FIELD_OF[column]] = value
        if not given:
            return None
        stored = self.stored.get(existing.pk) if existing is not None else None
        if stored is not None and given == {"client_id": stored.client_id}:
            return None  # what the export wrote, read back
        integration = self.integrations.get(tenant.pk)
        refusal = integration_refusal(tenant, integration)
        if refusal:
            raise RowInvalid(COLUMN_OF[next(iter(given))], refusal)
        credentials = stored if stored is not None else CtiUserCredentials()
        try:
            changed = credentials_applied(credentials, integration, **given)
        except ValidationError as error:
            raise RowInvalid.of(_problems(error, given)) from None
        if not changed:
            return None
        return CtiChange(credentials, integration, tuple(COLUMN_OF[f] for f in given if COLUMN_OF[f] in SECRET_COLUMNS))

    @staticmethod
    def shown(change: CtiChange | None) -> dict[str, str]:
        if change is None:
            return {}
        shown = {CLIENT_ID: change.credentials.client_id}
        shown.update((column, HIDDEN) for column in change.secrets_given)
        return shown


def _problems(error: ValidationError, given: dict[str, str]) -> list[tuple[str, str]]:
    """(column, message) of each refused value; a message that would repeat a secret is not shown."""
    secrets = [value for field, value in given.items() if COLUMN_OF[field] in SECRET_COLUMNS]
    problems = []
    for field, messages in error.message_dict.items():
        column = COLUMN_OF.get(field, "")
        for message in messages:
            if any(secret in message for secret in secrets):
                message = _("is not a value the CTI service takes.")
            problems.append((column, message))
    return problems or [("", _("is not a value the CTI service takes."))]


def write_credentials(
    rows: list[Any], ids: dict[tuple[int, str], int], *, actor: Any, batch: ProvisioningBatch
) -> None:
    """Save the rows' credentials and write their jobs (after the rows' users: a new user's
    credentials need its id, and their push waits for the user's)."""
    changes = []
    for row in rows:
        if row.cti is None:
            continue
        tenant, username = row.state.tenant, row.values[0]
        user_id = row.existing.pk if row.existing is not None else ids[(tenant.id, username)]
        # the user as its job names it: the row's (new) username, the tenant already loaded
        row.cti.credentials.user = PbxUser(id=user_id, tenant=tenant, username=username)
        changes.append((row.cti.credentials, row.cti.integration))
    if changes:
        cti_credentials_set_many(changes, actor=actor, batch=batch)
