"""Run a database build in a child process, so that serving never waits on it.

A build parses and validates every changed briefing: seconds of pure-Python work that, in a
thread of the serving process, holds the GIL and stalls every answer. Here it runs in a child
(`python -m bot.briefing.buildchild DATA_DIR DB_PATH [--force]`, which imports only the build
code: a start of about a quarter of a second) at a lower scheduling priority, which exits when
the build is done and leaves nothing running; the serving process only opens the finished
file.

The child sends back the BuildReport, or the exception the build raised (a BriefingError with
every problem, a StorageError), pickled on its stdout. A child that dies mid-build (killed, out
of memory) leaves its temporary file, which carries its pid: it is removed here at once, the
database is untouched (a build only ever renames a finished file over it), and the caller gets
a StorageError that says what happened. A build whose caller is cancelled is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import sys
from pathlib import Path

from . import build
from .build import BuildReport, StorageError

# The folder holding the `bot` package, put first on the child's path so that it runs this
# very code whatever its working directory.
_ROOT = str(Path(__file__).resolve().parents[2])
BUILD_NICENESS = 10  # the child's scheduling priority (nice): below the serving process


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
    return env


async def build_in_child(data_dir: Path, db_path: Path, *, force: bool = False) -> BuildReport:
    """`build_database(data_dir, db_path, force=force)` in a child process.

    Raises what the build raises, and a StorageError when the child itself died.
    """
    db_path = Path(db_path)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", f"{__package__}.buildchild", str(data_dir), str(db_path),
        *(["--force"] if force else []),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=_child_env())
    # Answers first: on a busy machine the build takes the CPU the serving process leaves.
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, proc.pid, BUILD_NICENESS)
    try:
        out, err = await proc.communicate()
    except BaseException:  # cancelled (a shutdown): the build must not outlive its caller
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        await asyncio.to_thread(build.remove_abandoned_builds, db_path)
        raise
    try:
        result = pickle.loads(out) if proc.returncode == 0 and out else None
    except Exception:  # noqa: BLE001  (a truncated result is reported as a failed build)
        result = None
    if isinstance(result, BuildReport):
        return result
    if isinstance(result, BaseException):
        raise result
    await asyncio.to_thread(build.remove_abandoned_builds, db_path)
    code = proc.returncode or 0
    how = f"was stopped by signal {-code}" if code < 0 else f"exited with status {code}"
    last = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
    raise StorageError(f"the build of {db_path} stopped before it finished (its process {how}"
                       + (f": {last[0]}" if last else "") + "); the database was not changed")


async def build_in_thread(data_dir: Path, db_path: Path, *, force: bool = False) -> BuildReport:
    """`build_in_child`'s stand-in that builds in a thread of this process: for tests that
    fault the build's own functions (a child process would not see their patches)."""
    return await asyncio.to_thread(build.build_database, Path(data_dir), Path(db_path),
                                   force=force)
