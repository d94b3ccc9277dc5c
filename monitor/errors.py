"""Errors that carry a message for the user; entry points print them as one line."""


class UserError(Exception):
    """Bad input or a state the user can fix; never shown with a traceback."""


class NotFound(UserError):
    """The thing asked for does not exist (HTTP 404)."""


class Conflict(UserError):
    """The request contradicts the current state, e.g. an invalid status change (HTTP 409)."""
