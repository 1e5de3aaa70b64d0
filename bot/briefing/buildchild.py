"""The build worker's process (see bot/briefing/isolated.py): build on request, send results back.

`python -m bot.briefing.buildchild` imports the build code once, then serves one job at a time
until its stdin closes (the serving process stopped or died): each job is a frame on stdin,
the pickled `(data_dir, db_path, force)`; each answer a frame on stdout, the pickled
BuildReport or the exception `build_database` raised. A frame is an 8-byte big-endian length,
then that many bytes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import struct
import sys
from pathlib import Path
from typing import BinaryIO

FRAME = struct.Struct(">Q")  # the length in front of every frame, both ways


def read_frame(stream: BinaryIO) -> bytes | None:
    """The next frame's bytes, or None at the end of the stream."""
    head = stream.read(FRAME.size)
    if len(head) < FRAME.size:
        return None
    (size,) = FRAME.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None


def frame(payload: bytes) -> bytes:
    """`payload` with its length in front."""
    return FRAME.pack(len(payload)) + payload


def run_job(job: bytes) -> bytes:
    """One build: the pickled report, or the pickled exception it raised."""
    from .build import BuildReport, StorageError, build_database

    data_dir, db_path, force = pickle.loads(job)
    result: BuildReport | BaseException
    try:
        result = build_database(Path(data_dir), Path(db_path), force=bool(force))
    except Exception as exc:  # noqa: BLE001  (sent to the parent, which raises it)
        result = exc
    try:
        return pickle.dumps(result)
    except Exception:  # noqa: BLE001  (an exception that cannot be pickled: its message)
        return pickle.dumps(StorageError(f"{type(result).__name__}: {result}"))


PARENT_ENV = "BRIEFING_BUILD_PARENT"  # the serving process's pid, set by isolated.py
PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when its parent dies


def die_with_parent() -> None:
    """Be killed when the serving process dies (Linux), even in the middle of a build or of
    the imports, when a closed stdin would be noticed only later; elsewhere, stdin's end."""
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    parent = os.environ.get(PARENT_ENV)
    if parent and int(parent) != os.getppid():  # it died before the line above
        sys.exit(0)


def main() -> int:
    """Serve jobs from stdin until it closes."""
    die_with_parent()
    from . import build  # noqa: F401  (the slow imports once, before the first job)

    # The frames get a descriptor of their own, and fd 1 becomes stderr: a stray print (a
    # library's, a debugging line) would otherwise be read as a frame's length and hang the
    # serving process's reload on an answer that never comes.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    jobs = sys.stdin.buffer
    while (job := read_frame(jobs)) is not None:
        answers.write(frame(run_job(job)))
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
