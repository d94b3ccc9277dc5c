"""How the process hands freed memory back to the system.

A scoring run of a big token allocates and frees arrays of tens to hundreds of MB, stage
after stage. glibc serves an allocation above its mmap threshold from a mapping of its
own, returned to the system when freed; but it raises that threshold to the size of each
mapped block freed, up to 32 MiB, so a run's later temporaries come from the heap, where
freed memory stays resident and fragments. At 10^7 transfers that held ~300 MiB more at
the peak (bench/score.py). A fixed threshold keeps every array of a few pages or more in
its own mapping; small objects are unaffected.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
MMAP_THRESHOLD = 1048576


def return_freed_arrays() -> bool:
    """Fix glibc's mmap threshold at MMAP_THRESHOLD; False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
