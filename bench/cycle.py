"""watcher's cycle inside a running process, as the daemon (`watcher run`) does it.

`watcher check` pays for the interpreter, the imports and the configuration on every
run; the daemon pays that once and then polls. This process loads the runtime once
(settings from the WATCHER_* environment, like `watcher check`), then runs one full
cycle (every source polled, the outbox dispatched) per line read on stdin and prints
one JSON line per cycle: wall and CPU seconds of the cycle, peak RSS (VmHWM) of the process so
far, and the poll summary. It stops at end of input, or after ``--max-cycles``.

As `watcher run` does, it runs without docstrings (the runner starts it with ``-OO``;
watcher.service.relaunch says why), tunes malloc before polling and hands free memory back
after the last poll of a cycle (watcher.service.memory), and it imports the daemon's own modules
(watcher.service.schedule, with APScheduler) so that their size counts in the peak.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), in MB. Not ``ru_maxrss``: Linux keeps
    that across fork and exec, so it would start at the size of the benchmark runner."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def serve(max_cycles: int) -> None:
    import watcher.service.schedule  # noqa: F401  (the daemon's modules are resident in `watcher run`)
    from watcher.pipeline import dispatch_outbox, poll_source
    from watcher.service.memory import release_free_memory, tune_malloc
    from watcher.service.runtime import Runtime

    tune_malloc()

    runtime = Runtime.load()
    runtime.init_database(isolated_migration=True)  # as `watcher run`: no Alembic resident
    loop = asyncio.get_running_loop()
    async with runtime.network():
        for _ in range(max_cycles):
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            wall, cpu = time.perf_counter(), time.process_time()
            reports = await asyncio.gather(
                *(poll_source(runtime, s, force=True) for s in runtime.sources.values()))
            release_free_memory()  # as Daemon._poll does after the last poll in flight
            polled = time.perf_counter()
            dispatch = await dispatch_outbox(runtime, limit=1000)
            print(json.dumps({
                "wall_s": time.perf_counter() - wall,
                "cpu_s": time.process_time() - cpu,
                "peak_rss_mb": peak_rss_mb(),
                "documents": sum(r.documents for r in reports),
                "sent": dispatch.sent,
                "dispatch_s": time.perf_counter() - polled,  # sending the cycle's emails
                "errors": [r.error for r in reports if r.error],
            }), flush=True)


def main() -> None:
    # Not __doc__: under -OO there is none.
    parser = argparse.ArgumentParser(description="watcher's cycle in a long-lived process")
    parser.add_argument("--max-cycles", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(serve(args.max_cycles))


if __name__ == "__main__":
    main()
