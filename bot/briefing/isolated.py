"""Run a database build in a child process, so that serving never waits on it.

A build parses and validates every changed briefing: seconds of pure-Python work that, in a
thread of the serving process, holds the GIL and stalls every answer. Here it runs in a
process forked from a small server that has the build code imported (multiprocessing's
`forkserver`: no copy of the bot's memory, no discord import, a start of milliseconds), one
process per build, which exits when the build is done. The serving process only opens the
finished file.

A child that dies mid-build (killed, out of memory) leaves its temporary file, which carries its
pid; it is removed here at once, the database is untouched (the build only ever renames a
finished file over it), and the caller gets a StorageError that says what happened.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from . import build
from .build import BuildReport, StorageError

_context_lock = threading.Lock()
_context: multiprocessing.context.BaseContext | None = None


def _mp_context() -> multiprocessing.context.BaseContext:
    """forkserver where the platform has it (preloading the build code), else spawn."""
    global _context
    with _context_lock:
        if _context is None:
            methods = multiprocessing.get_all_start_methods()
            if "forkserver" in methods:
                forkserver = multiprocessing.get_context("forkserver")
                forkserver.set_forkserver_preload([build.__name__])
                _context = forkserver
            else:
                _context = multiprocessing.get_context("spawn")
        return _context


def _build_in_child(data_dir: Path, db_path: Path, force: bool) -> BuildReport:
    return build.build_database(data_dir, db_path, force=force)


async def build_in_child(data_dir: Path, db_path: Path, *, force: bool = False) -> BuildReport:
    """`build_database(data_dir, db_path, force=force)` in a child process.

    Raises what the build raises (BriefingError with every problem, StorageError), and a
    StorageError when the child itself died.
    """
    pool = ProcessPoolExecutor(max_workers=1, mp_context=_mp_context())
    loop = asyncio.get_running_loop()
    try:
        future = pool.submit(_build_in_child, Path(data_dir), Path(db_path), force)
        return await asyncio.wrap_future(future, loop=loop)
    except BrokenProcessPool:
        # What a killed child leaves: its temporary file (its pid is dead now).
        await asyncio.to_thread(build.remove_abandoned_builds, Path(db_path))
        raise StorageError(f"the build of {db_path} stopped before it finished (its process "
                           "was killed or ran out of memory); the database was not changed"
                           ) from None
    finally:
        # The child exits once idle; waiting for it here would hold the event loop.
        pool.shutdown(wait=False, cancel_futures=True)



async def build_in_thread(data_dir: Path, db_path: Path, *, force: bool = False) -> BuildReport:
    """`build_in_child`'s stand-in that builds in a thread of this process: for tests that
    fault the build's own functions (a child process would not see their patches)."""
    return await asyncio.to_thread(build.build_database, Path(data_dir), Path(db_path),
                                   force=force)
