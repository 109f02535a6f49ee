"""What the CPU can do, and process settings that make CPU training and inference faster."""

from __future__ import annotations

import ctypes
import functools
import sys
from pathlib import Path

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_supports_bf16() -> bool:
    """True when the CPU has native bfloat16 arithmetic (AVX512-BF16 or AMX)."""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


@functools.lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Ask glibc to keep large freed blocks instead of returning them to the OS.

    Transformer steps allocate and free the same large activation buffers over and
    over; with glibc's defaults each one is a fresh mmap and page faults (measured
    here: ~15% of a LoRA training step). Returns False where this is not glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30))
    except (OSError, AttributeError):
        return False
