"""Process identity and lifetime (Linux).

A saved pid alone can name a stranger: pids are reused once their process has ended. The
pair (pid, identity), where the identity is the boot and the kernel's start time of the
process, names one process for good, so a restarted app can tell its own job still running
from an unrelated process that got the same pid.

A process killed with SIGKILL runs no clean-up, and the workers of a `spawn` process pool
would then wait forever for tasks on a queue nobody writes (each worker holds the queue's
write end itself, so it never sees end-of-file); the pool's resource tracker lives as long
as any of them. `worker_pool` gives every worker a watcher that ends it as soon as the
process that created the pool has ended, whichever thread of it created the worker."""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import select
import threading
import time
from pathlib import Path
from typing import Callable, Dict, Optional

_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def process_identity(pid: int) -> Optional[str]:
    """'<boot id>:<start time in clock ticks>' of the living process `pid`, else None (no such
    process, or a zombie: ended but not yet reaped by its parent)."""
    try:
        stat = Path(f"/proc/{int(pid)}/stat").read_text()
        boot = _BOOT_ID.read_text().strip()
    except (OSError, ValueError):
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "; comm may hold spaces
    if fields[0] in ("Z", "X"):
        return None
    return f"{boot}:{fields[19]}"  # field 22 of proc_pid_stat(5): starttime


def is_alive(pid: Optional[int], identity: Optional[str]) -> bool:
    """True while the process that had `identity` when it was saved is still running."""
    return pid is not None and identity is not None and process_identity(pid) == identity


def descendants(pid: int) -> Dict[int, str]:
    """{pid: identity} of every living process below `pid` (children, grandchildren, ...):
    what must end with it (the reliability tests and bench/orphans.py check that it does)."""
    parents: Dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(text[text.rindex(")") + 2:].split()[1])
    found: Dict[int, str] = {}
    frontier = [pid]
    while frontier:
        p = frontier.pop()
        for child, parent in parents.items():
            if parent == p and child not in found:
                identity = process_identity(child)
                if identity is not None:
                    found[child] = identity
                    frontier.append(child)
    return found


def end_with_parent(parent_pid: int) -> None:
    """In a child process: exit at once when `parent_pid` (this process's parent) ends.

    A daemon thread waits on a pidfd of the parent, which becomes readable when the whole
    parent process has ended (PR_SET_PDEATHSIG would fire when the creating *thread* ends,
    which for a pool started from a short-lived thread is too early). Where pidfds are not
    available the thread checks the parent pid once a second instead."""
    try:
        pidfd: Optional[int] = os.pidfd_open(parent_pid)
    except (AttributeError, OSError):
        pidfd = None
    if os.getppid() != parent_pid:  # it ended before the watch began: we were reparented
        os._exit(1)

    def watch() -> None:
        if pidfd is not None:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            poller.poll()  # readable once the parent process has ended
        else:
            while os.getppid() == parent_pid:
                time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="npp-end-with-parent", daemon=True).start()


def _start_worker(parent_pid: int, initializer: Optional[Callable[[], None]]) -> None:
    end_with_parent(parent_pid)
    if initializer is not None:
        initializer()


def worker_pool(workers: int, initializer: Optional[Callable[[], None]] = None) -> cf.ProcessPoolExecutor:
    """A `spawn` process pool whose workers end when this process ends, however it ends.

    `initializer` (a module-level function) runs in each worker after the watch is set up."""
    return cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=_start_worker, initargs=(os.getpid(), initializer))
