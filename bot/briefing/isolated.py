"""Run database builds in a child process, so that serving never waits on them.

A build parses and validates every changed briefing: seconds of pure-Python work that, in a
thread of the serving process, holds the GIL and stalls every answer. Here it runs in a child
process at a lower scheduling priority, and the serving process only opens the finished file.

The child is a warm worker (`python -m bot.briefing.buildchild`, see there): started once, it
imports the build code (pydantic's schemas most of all: about 0.4 s of CPU, twenty times a
small build) and then serves one build at a time. Starting a fresh interpreter per reload
spent that CPU on every reload, on a machine already busy serving: it was what slowed answers
during reloads. The worker sends back the BuildReport, or the exception the build raised (a
BriefingError with every problem, a StorageError), pickled.

A worker that dies mid-build (killed, out of memory) leaves its temporary file, which carries
its pid: it is removed here at once, the database is untouched (a build only ever renames a
finished file over it), the caller gets a StorageError that says what happened, and the next
build starts a fresh worker. A build whose caller is cancelled kills the worker (the build
must not outlive its caller). The worker exits when its stdin closes: at `close`, or when the
serving process dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import IO

from . import build
from .build import BuildReport, StorageError
from .buildchild import FRAME, PARENT_ENV, frame

log = logging.getLogger(__name__)

# The folder holding the `bot` package, put first on the child's path so that it runs this
# very code whatever its working directory.
_ROOT = str(Path(__file__).resolve().parents[2])
BUILD_NICENESS = 10  # the child's scheduling priority (nice): below the serving process
STDERR_TAIL = 4096  # bytes of the end of the worker's stderr read when it dies
EXIT_WAIT = 5.0  # seconds a closed worker has to exit before it is killed


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
    env[PARENT_ENV] = str(os.getpid())
    return env


class BuildWorker:
    """A build child kept warm between builds; one build at a time.

    Bound to the event loop it first starts in (asyncio's subprocesses are). `start` makes the
    process ahead of the first build; `close` ends it. Safe to use again after `close`.
    """

    def __init__(self) -> None:
        self._proc: asyncio.subprocess.Process | None = None
        # The worker's stderr: a file, not a pipe, which would need a reader all its life (a
        # full pipe blocks the writer); its last line is quoted when the worker dies.
        self._stderr: IO[bytes] | None = None
        self._lock = asyncio.Lock()  # one build at a time
        self._starting = asyncio.Lock()  # one process: two starts at once must not make two

    @property
    def pid(self) -> int | None:
        """The worker's process id while it runs, else None."""
        proc = self._proc
        return proc.pid if proc is not None and proc.returncode is None else None

    async def start(self) -> None:
        """Start the worker's process unless it runs; returns at once (it imports meanwhile)."""
        async with self._starting:
            await self._start()

    async def _start(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            return
        if self._stderr is not None:
            self._stderr.close()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed with the worker)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", f"{__package__}.buildchild",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=self._stderr, env=_child_env(),
            # Its own session: a terminal's Ctrl-C goes to the serving process, which ends the
            # worker in order (`close`); if the serving process dies the worker is killed
            # (buildchild.die_with_parent) or sees its stdin close.
            start_new_session=True)
        # Answers first: on a busy machine the build takes the CPU the serving process leaves.
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, proc.pid, BUILD_NICENESS)
        self._proc = proc

    def _last_error_line(self) -> str | None:
        """The last line the worker wrote to stderr, if any."""
        if self._stderr is None:
            return None
        with contextlib.suppress(OSError):
            end = self._stderr.seek(0, os.SEEK_END)
            self._stderr.seek(max(0, end - STDERR_TAIL))
            lines = self._stderr.read().decode(errors="replace").strip().splitlines()
            return lines[-1] if lines else None
        return None

    async def build(self, data_dir: Path, db_path: Path, *, force: bool = False) -> BuildReport:
        """`build_database(data_dir, db_path, force=force)` in the worker.

        Raises what the build raises, and a StorageError when the worker died.
        """
        db_path = Path(db_path)
        async with self._lock:
            await self.start()
            proc = self._proc
            assert proc is not None and proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(frame(pickle.dumps((str(data_dir), str(db_path), force))))
                await proc.stdin.drain()
                (size,) = FRAME.unpack(await proc.stdout.readexactly(FRAME.size))
                answer = await proc.stdout.readexactly(size)
            except (asyncio.IncompleteReadError, ConnectionError):
                raise await self._died(proc, db_path) from None
            except BaseException:  # cancelled (a shutdown): the build must not outlive it
                await self._kill(proc, db_path)
                raise
            if self._proc is not proc:  # closed during the build: it exits now
                await self._reap(proc)
                if self._proc is None and self._stderr is not None:
                    self._stderr.close()
                    self._stderr = None
        try:
            result = pickle.loads(answer)
        except Exception:  # noqa: BLE001  (a garbled answer is reported as a failed build)
            result = None
        if isinstance(result, BuildReport):
            return result
        if isinstance(result, BaseException):
            raise result
        await self.close()  # a worker out of step with its answers is not used again
        raise StorageError(f"the build of {db_path} sent back an answer that could not be "
                           "read; the data served did not change (reload again)")

    async def _died(self, proc: asyncio.subprocess.Process, db_path: Path) -> StorageError:
        """The error for a worker that stopped mid-build, once it is reaped and cleaned up."""
        await proc.wait()
        if self._proc is proc:
            self._proc = None  # the next build starts a fresh worker
        await asyncio.to_thread(build.remove_abandoned_builds, db_path)
        code = proc.returncode or 0
        how = f"was stopped by signal {-code}" if code < 0 else f"exited with status {code}"
        last = self._last_error_line()
        log.error("the build worker (pid %d) %s mid-build; the next build starts a new one",
                  proc.pid, how)
        return StorageError(f"the build of {db_path} stopped before it finished (its process "
                            f"{how}" + (f": {last}" if last else "")
                            + "); the database was not changed")

    async def _kill(self, proc: asyncio.subprocess.Process, db_path: Path) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        if self._proc is proc:
            self._proc = None
        await asyncio.to_thread(build.remove_abandoned_builds, db_path)

    @staticmethod
    async def _reap(proc: asyncio.subprocess.Process) -> None:
        """Wait for a worker told to stop (its stdin closed); kill it if it lingers."""
        try:
            await asyncio.wait_for(proc.wait(), EXIT_WAIT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def close(self) -> None:
        """End the worker: at once when idle, after its answer when a build is under way."""
        async with self._starting:  # a worker being started is ended too, not left behind
            await self._close()

    async def _close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        if not self._lock.locked():  # else `build` reaps it after the answer
            await self._reap(proc)
            if self._stderr is not None and self._proc is None:
                self._stderr.close()
                self._stderr = None


async def build_in_child(data_dir: Path, db_path: Path, *, force: bool = False,
                         worker: BuildWorker | None = None) -> BuildReport:
    """`build_database(data_dir, db_path, force=force)` in a child process: `worker`, kept
    warm by its owner, or else a worker for this build alone.

    Raises what the build raises, and a StorageError when the child itself died.
    """
    if worker is not None:
        return await worker.build(data_dir, db_path, force=force)
    once = BuildWorker()
    try:
        return await once.build(data_dir, db_path, force=force)
    finally:
        await once.close()


async def build_in_thread(data_dir: Path, db_path: Path, *, force: bool = False,
                          worker: BuildWorker | None = None) -> BuildReport:
    """`build_in_child`'s stand-in that builds in a thread of this process: for tests that
    fault the build's own functions (a child process would not see their patches).
    `worker` is ignored."""
    return await asyncio.to_thread(build.build_database, Path(data_dir), Path(db_path),
                                   force=force)
