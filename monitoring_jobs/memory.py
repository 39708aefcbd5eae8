"""Arrow's allocator: jemalloc rather than pyarrow's default, mimalloc, on Linux.

A day's stages run side by side in threads, each allocating and freeing Arrow buffers of tens of megabytes (file
reads, conversions to pandas, compute kernels). With mimalloc a 5M-row day peaked at 3.8-4.3 GB, with jemalloc at
3.5-3.65 GB (five interleaved runs each): mimalloc keeps what one thread freed for that thread, jemalloc's arenas
hand it to the next allocation. Memory a process has not touched before costs time as well: the kernel zeroes every
new page (on the benchmark's VMs about 1.8 s of CPU a GB), so the day got faster too (system time 11.8-15.2 s to
10.5-13.1 s, wall median 22.2 s to 21.4 s, every pair faster).

Arrow reads ``ARROW_DEFAULT_MEMORY_POOL`` once, when its default pool is first used. So, as ``monitoring_jobs.cpu``
does for numpy, the package sets it when it is imported before pyarrow (the CLI, the Dagster code location and the
benchmark import it first), and never over a value that is set. Only on Linux, where pyarrow's wheels carry jemalloc;
a build without it would warn and keep its default.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, MutableMapping

ARROW_SETTING = "ARROW_DEFAULT_MEMORY_POOL"
JEMALLOC = "jemalloc"


def prefer_jemalloc(environ: MutableMapping[str, str] = os.environ, modules: Mapping[str, object] = sys.modules,
                    platform: str = sys.platform) -> bool:
    """Ask Arrow for jemalloc as its default pool; nothing is done when pyarrow is imported already, the setting is
    set, or the system is not Linux. Returns whether it asked."""
    if "pyarrow" in modules or ARROW_SETTING in environ or platform != "linux":
        return False
    environ[ARROW_SETTING] = JEMALLOC
    return True
