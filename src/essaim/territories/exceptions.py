"""Errors raised by the territories services."""


class TerritoryError(ValueError):
    """Bad territory input (unknown code, corrupt reference file...). The message is French, for end users."""
