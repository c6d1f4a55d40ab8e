"""The mirror checked against the PBX: read each server back, match what it holds with the portal's
rows by the drivers' canonical keys, and say what differs, what is missing and what is only there."""
