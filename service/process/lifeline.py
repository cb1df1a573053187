"""A child process that dies with its parent.

When a process is killed outright (SIGKILL, the OOM killer), its children
are not told: they are re-parented and live on. A captcha render process
left that way holds about 58 MB for nothing, and a worker of `loibinh serve`
left that way keeps serving on the port after its supervisor is gone. Linux
lets a child ask for a signal when its parent dies (PR_SET_PDEATHSIG);
children call `die_with_parent` first thing.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when `parent` dies; if it
    already has, exit now. Elsewhere than on Linux: nothing is done.

    The kernel sends the signal when the parent's *thread* that started
    this process ends, not only the whole parent: start such children from
    a thread that lives as long as the parent (the main thread, or a pool
    thread kept to the end)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_PDEATHSIG): {os.strerror(errno)}")
    # The parent may have died between starting this process and the call
    # above: then no signal will ever come, and the new parent is someone else.
    if os.getppid() != parent:
        os._exit(1)
