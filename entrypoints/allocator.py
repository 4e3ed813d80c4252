"""glibc's allocator, told to reuse the few-megabyte buffers of a call, in two arenas.

Every call allocates and frees buffers of 2-4 MB: the vendor's base64 and bytes, the
inflated PNG rows, the decoded pixels. By default glibc serves such sizes from fresh ``mmap``
regions (or trims them off the heap as soon as they are freed), so the next call faults
every page back in, zeroed: on a 1024² detailed image the preview's decode took 17 ms this
way and 9 ms with the pages kept. Fixing the two thresholds keeps them in the heap for reuse.

Kept memory is kept per arena, and glibc gives threads up to eight arenas per core: with the
event loop, the preview workers and the store's threads each freeing into its own, the peak
RSS of sixteen parallel calls rose by 30 MB. Two arenas bring it below what it was with
neither setting (benchmarks/compare_seed.py: 229 MB against 242 MB); the threads that share
an arena contend only for the large blocks, a few per call.

Only glibc has ``mallopt`` (musl, macOS and Windows are left alone), and a user's own
``MALLOC_*`` or ``GLIBC_TUNABLES`` settings win: with any of them set, nothing is changed.
"""

from __future__ import annotations

import ctypes
import os
import sys

# mallopt's parameter numbers (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
# Blocks up to this size come from the heap (32 MiB is glibc's ceiling on 64-bit)...
MMAP_THRESHOLD = 32 * 1024 * 1024
# ...and up to this much free memory stays at its top instead of going back to the system.
TRIM_THRESHOLD = 64 * 1024 * 1024
ARENAS = 2


def keep_large_buffers() -> bool:
    """Set the thresholds and the arena count (before threads start); True when glibc took
    them all."""
    user_settings = any(name.startswith(("MALLOC_", "GLIBC_TUNABLES")) for name in os.environ)
    if not sys.platform.startswith("linux") or user_settings:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    # Both or neither: setting one alone turns off glibc's adaptive thresholds and keeps the
    # other at its 128 KiB default, which is worse than leaving both alone.
    if mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1:
        return False
    return mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and mallopt(_M_ARENA_MAX, ARENAS) == 1
