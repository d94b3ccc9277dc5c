"""monitor.memory: the CLI fixes glibc's mmap threshold, so freed arrays leave the heap."""

import platform
import subprocess
import sys

import pytest

from monitor import memory

# A 16 MiB array freed raises glibc's default threshold to 16 MiB, so 4 MiB arrays then
# come from the heap; each is followed by a small array that lives on, so the freed ones
# are holes the heap cannot give back. With the threshold fixed, each has a mapping of its
# own, returned when freed. Prints the MiB still resident after freeing 128 MiB.
SCRIPT = """
import sys
import numpy as np
from monitor import memory
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096
if sys.argv[1] == "fixed":
    assert memory.return_freed_arrays()
big = np.ones(16 << 20, dtype=np.uint8)
del big
before = rss()
arrays, kept = [], []
for _ in range(32):
    arrays.append(np.ones(4 << 20, dtype=np.uint8))
    kept.append(np.ones(1 << 10, dtype=np.uint8))
del arrays
print((rss() - before) >> 20)
"""


def _resident_after_freeing(mode: str) -> int:
    return int(subprocess.run([sys.executable, "-c", SCRIPT, mode], check=True, text=True,
                              capture_output=True).stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_freed_arrays_are_returned_at_once() -> None:
    assert _resident_after_freeing("default") >= 100  # what a run's temporaries did
    assert _resident_after_freeing("fixed") < 16


def test_elsewhere_it_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert memory.return_freed_arrays() is False
