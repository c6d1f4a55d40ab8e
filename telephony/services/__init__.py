"""Every write to the PBX mirror: validate, save, and (from the provisioning engine on) plan the
jobs that push the change — one function per use case, one transaction each."""
