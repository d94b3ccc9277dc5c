"""Errors that carry a message for the user; entry points print them as one line."""


class UserError(Exception):
    """Bad input or a state the user can fix; never shown with a traceback."""
