"""How much memory this process may still allocate, read from the system without a dependency.

Used by :func:`theory._checks.check_memory` to refuse, up front and with the estimate, a recording schedule or a
trajectory that would not fit (instead of an abort inside XLA or numpy).
"""
from __future__ import annotations

__all__ = ["available_memory", "format_bytes"]


def available_memory() -> int | None:
    """Bytes this process may still allocate: the smallest of its limits that can be read, else None.

    Sources, all without a dependency: the address-space limit ``resource.getrlimit(RLIMIT_AS)`` (minus
    what the process already maps), the cgroup limit ``memory.max`` (v2) or ``memory.limit_in_bytes`` (v1)
    minus the cgroup's current usage, and ``MemAvailable`` of ``/proc/meminfo``.
    """
    candidates = []
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
            used = 0
            try:
                with open("/proc/self/statm") as handle:
                    used = int(handle.read().split()[0]) * resource.getpagesize()
            except (OSError, ValueError, IndexError):
                pass
            candidates.append(max(soft - used, 0))
    except (ImportError, OSError, ValueError):
        pass
    for limit_path, usage_path in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit_path) as handle:
                text = handle.read().strip()
            if text == "max" or int(text) >= 2**60:
                continue
            usage = 0
            try:
                with open(usage_path) as handle:
                    usage = int(handle.read().strip())
            except (OSError, ValueError):
                pass
            candidates.append(max(int(text) - usage, 0))
        except (OSError, ValueError):
            continue
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    candidates.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    return min(candidates) if candidates else None


def format_bytes(count: float) -> str:
    """``count`` bytes for a message: '1.5 GiB', '12 MiB', '300 B'."""
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{int(count)} B"
