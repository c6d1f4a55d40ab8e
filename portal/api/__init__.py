"""The portal's REST API under /api/v1/ (Django REST Framework, schema by drf-spectacular).

It is the same portal, not a second one: every list is a scoped selector (`tenants.access`), every
write is the service the admin and the self-service site call, so jobs, history, sync state and
refusals are the same. A token acts with exactly its login's rights."""
