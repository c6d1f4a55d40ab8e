"""Faithful simulators of the PBX platform APIs, with fault injection, served on loopback."""
