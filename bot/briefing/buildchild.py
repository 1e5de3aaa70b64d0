"""The build worker's process (see bot/briefing/isolated.py): build on request, send results back.

`python -m bot.briefing.buildchild` imports the build code once, then serves one job at a time
until its stdin closes (the serving process stopped or died): each job is a frame on stdin,
the pickled `(data_dir, db_path, force)`; each answer a frame on stdout, the pickled
BuildReport or the exception `build_database` raised. A frame is an 8-byte big-endian length,
then that many bytes.
"""

from __future__ import annotations

import pickle
import struct
import sys
from pathlib import Path
from typing import BinaryIO

from .build import BuildReport, StorageError, build_database

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


def main() -> int:
    """Serve jobs from stdin until it closes."""
    jobs, answers = sys.stdin.buffer, sys.stdout.buffer
    while (job := read_frame(jobs)) is not None:
        answers.write(frame(run_job(job)))
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
