"""Atomic file writes: a reader sees the old file or the new one, never half of one.

The recipe is the usual POSIX one (see e.g. the ``rename(2)`` man page and LWN's
"Ensuring data reaches disk"): write to a temporary file *in the same folder* (rename is
only atomic within one file system), flush and ``fsync`` it, ``os.replace`` it over the
target, then ``fsync`` the folder so the rename itself survives a power cut.

If the writer fails (an exception) the temporary file is removed and the old file is
untouched. If the process is killed (``kill -9``) between creating the temporary file and
the rename, the old file is still untouched; a stray hidden ``.NAME.*.tmp`` file may be
left beside it, which is harmless and is never read by listcare.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import IO

from .exceptions import OutputError

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text"]

_TMP_SUFFIX = ".tmp"


def _umask() -> int:
    """The process umask, read without changing it where the OS lets us (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    # Fallback: the only portable way; briefly sets the umask (not thread-safe).
    old = os.umask(0o022)
    os.umask(old)
    return old


def _fsync_dir(directory: str) -> None:
    """Make a rename in *directory* durable; a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike,
    mode: str = "w",
    *,
    encoding: str | None = None,
    newline: str | None = None,
    private: bool = False,
) -> Iterator[IO]:
    """Open *path* for writing so that it is replaced atomically when the block ends.

    ``mode`` is ``"w"`` (text; *encoding* defaults to UTF-8) or ``"wb"``. The file gets
    the mode of the file it replaces, or ``0666 & ~umask`` when new; ``private=True``
    makes it owner-only (``0600``) in either case (state files, lists with addresses).

    Example::

        with atomic_write("out/clean.csv", encoding="utf-8", newline="") as f:
            f.write(text)
    """
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', not {mode!r}")
    binary = "b" in mode
    if binary and (encoding is not None or newline is not None):
        raise ValueError("encoding and newline are for text mode only")
    path = os.fspath(path)
    target = os.path.abspath(path)
    directory, name = os.path.split(target)
    if os.path.isdir(target):
        raise OutputError(f"Cannot write {path!r}: it is a folder. Give a file name.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=_TMP_SUFFIX, dir=directory)
    except FileNotFoundError as exc:
        if os.path.isdir(directory):  # e.g. /proc: there, but no file can be made in it
            raise OutputError(f"Cannot write {path!r}: {exc.strerror or exc}.") from exc
        raise OutputError(
            f"Cannot write {path!r}: the folder {directory!r} does not exist. Create it first."
        ) from exc
    except OSError as exc:
        raise OutputError(f"Cannot write {path!r}: {exc.strerror or exc}.") from exc

    try:
        # mkstemp creates 0600; give the file the permissions a plain open() would have
        # (or keep those of the file being replaced), unless it must stay private.
        if private:
            perm = 0o600
        else:
            try:
                perm = os.stat(target).st_mode & 0o7777
            except FileNotFoundError:
                perm = 0o666 & ~_umask()
        if hasattr(os, "fchmod"):  # POSIX; Windows has no such permissions to set
            os.fchmod(fd, perm)
        if binary:
            f = os.fdopen(fd, "wb")
        else:
            f = os.fdopen(fd, "w", encoding=encoding or "utf-8", newline=newline)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise

    try:
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        # a full disk, a quota, an I/O error while writing: the old file stays, and the
        # error is an output error (exit code 73), not a traceback
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise OutputError(
            f"Cannot write {path!r}: {exc.strerror or exc}. The previous file is unchanged."
        ) from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, private: bool = False) -> None:
    """Replace *path* atomically with *data*."""
    with atomic_write(path, "wb", private=private) as f:
        f.write(data)


def atomic_write_text(
    path: str | os.PathLike,
    text: str,
    *,
    encoding: str = "utf-8",
    newline: str | None = None,
    private: bool = False,
) -> None:
    """Replace *path* atomically with *text* (UTF-8 unless told otherwise)."""
    with atomic_write(path, "w", encoding=encoding, newline=newline, private=private) as f:
        f.write(text)
