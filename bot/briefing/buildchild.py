"""The child process of a build (see bot/briefing/isolated.py): build, send the result back.

`python -m bot.briefing.buildchild DATA_DIR DB_PATH [--force]` runs `build_database` and writes
the BuildReport, or the exception it raised, pickled, to stdout. It imports only the build code,
so that it starts fast.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from .build import BuildReport, StorageError, build_database


def main(argv: list[str]) -> int:
    """The child: build, and write the report or the exception, pickled, to stdout."""
    force = "--force" in argv
    data_dir, db_path = (Path(a) for a in argv if a != "--force")
    result: BuildReport | BaseException
    try:
        result = build_database(data_dir, db_path, force=force)
    except Exception as exc:  # noqa: BLE001  (sent to the parent, which raises it)
        result = exc
    try:
        payload = pickle.dumps(result)
    except Exception:  # noqa: BLE001  (an exception that cannot be pickled: its message)
        payload = pickle.dumps(StorageError(f"{type(result).__name__}: {result}"))
    sys.stdout.buffer.write(payload)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
