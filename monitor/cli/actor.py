"""Who a command acts as, for the audit trails: the login name, else "cli"."""

from __future__ import annotations

import getpass


def default_actor() -> str:
    """The login name ($USER, $LOGNAME, the uid's passwd entry), else "cli": a container
    running as an arbitrary uid has neither the variables nor an entry, and getpass raises
    (KeyError before Python 3.13, OSError since)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"
