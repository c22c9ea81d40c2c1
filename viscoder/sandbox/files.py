"""Files of a task's working folder, for every backend: placing the task's input files (e.g.
a benchmark's data.csv), and removing a folder a script may have filled with anything.

Names of input files are relative paths; one that would leave the folder is refused.
``remove_tree`` deletes without recursion and without following links, so a 3000-deep tree or
a symlink planted by a script costs neither the worker's stack nor a host file.
"""

from __future__ import annotations

import base64
import errno
import os
import stat

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def place_files(folder: str, files_b64: dict[str, str]) -> None:
    for name, b64 in files_b64.items():
        rel = os.path.normpath(name)
        if os.path.isabs(rel) or rel == ".." or rel.startswith(".." + os.sep) or rel == ".":
            raise ValueError(f"file name {name!r} leaves the working folder")
        path = os.path.join(folder, rel)
        os.makedirs(os.path.dirname(path) or folder, exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(b64))


def remove_tree(path: str) -> None:
    """Delete ``path`` and everything under it, iteratively: one directory descriptor open at
    a time (a deep tree would exhaust descriptors and PATH_MAX otherwise), going back up with
    ``..``, which is safe because nothing writes to the tree any more. Missing is fine."""
    try:
        fd = os.open(path, _DIR_FLAGS)
    except FileNotFoundError:
        return
    except OSError as exc:
        if exc.errno not in (errno.ENOTDIR, errno.ELOOP):
            raise
        os.unlink(path)  # a file or a link, not a folder
        return
    names: list[str] = []  # the path from ``path`` down to the folder ``fd`` is
    try:
        while True:
            sub = _clear_files(fd)
            if sub is not None:
                try:
                    child = os.open(sub, _DIR_FLAGS, dir_fd=fd)
                except PermissionError:  # a script's chmod 000; we own it or are root
                    os.chmod(sub, 0o700, dir_fd=fd, follow_symlinks=False)
                    child = os.open(sub, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
                names.append(sub)
                continue
            if not names:
                break
            parent = os.open("..", _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = parent
            os.rmdir(names.pop(), dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(path)


def _clear_files(fd: int) -> str | None:
    """Unlink the entries of folder ``fd`` up to its first sub-folder; return that folder's
    name, or None when the folder is now empty."""
    try:
        listing = os.scandir(fd)
    except PermissionError:
        os.fchmod(fd, 0o700)
        listing = os.scandir(fd)
    with listing as entries:
        for entry in entries:
            if stat.S_ISDIR(entry.stat(follow_symlinks=False).st_mode):
                return entry.name
            os.unlink(entry.name, dir_fd=fd)
    return None
