"""The customer self-service site at `/`: customer administrators manage their organization's users
and numbers, end users their own line. Views are thin: reads come from
`telephony.selectors_selfservice`, every write goes through a `telephony.services` function."""
