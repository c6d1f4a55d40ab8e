"""Imports every driver module so that each registers itself with `base.register`."""

from telephony.backends import xc5, xcu, xelion  # noqa: F401
