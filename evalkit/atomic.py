"""Writing a file so a crash leaves the old version or the new one, never half of either.

The content goes to a temporary file beside the target, is flushed to disk,
and is renamed over the target. The new file gets the permissions an ordinary
new file would (mkstemp's private 0600 would hide reports from a central team).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def shared_file_mode() -> int:
    """Return the mode a new file gets under the current umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomically(path: Path, content: bytes | str, *, mode: int | None = None) -> Path:
    """Write ``content`` to ``path`` atomically and return the path."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, shared_file_mode() if mode is None else mode)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path
