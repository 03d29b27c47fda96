"""The alerts admin: one module per kind of object."""

from alerts.admin import channels, history, rules, silences  # noqa: F401
