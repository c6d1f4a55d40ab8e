"""Drivers for the PBX platforms: one interface (`base.Driver`), one HTTP client, one error taxonomy."""
