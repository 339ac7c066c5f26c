"""Crash-safe writes, in one place: every script that writes a file goes through here.

A file is written under a temporary name beside its target (`.NAME.tmp-PID`),
flushed to disk and renamed over the target, so a run killed at any instant
leaves the previous file or the new one, never half of one. Folders (a dataset)
are built under a temporary name the same way and swapped into place (atomic_dir).

    with files.atomic_write("results/summary.md", "w") as f:
        f.write(text)
    files.write_json_atomic("runs/x/config.json", config)
"""

import contextlib
import ctypes
import errno
import json
import os
import re
import shutil
import sys
from pathlib import Path


def temporary_name(path, kind="tmp", suffix=""):
    """`.NAME.tmp-PID` beside `path`: hidden, and findable by remove_leftovers once PID is gone.
    `suffix` is for writers that insist on a file name ending (Keras: `.keras`)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}{suffix}")


def fsync_path(path):
    """Flush a file's or a folder's entries to disk, so a crash cannot reorder them."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary path to write `path` through (for writers that want a file name,
    such as Pillow or Keras); on success it is fsynced and renamed over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path, suffix=suffix)
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, path)
        fsync_path(path.parent)
    finally:
        tmp.unlink(missing_ok=True)  # only still there when something failed


@contextlib.contextmanager
def atomic_write(path, mode="w", **open_options):
    """open() for writing, but the target only changes when the block finishes without error."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes whole files: mode 'w' or 'wb', not {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode, **open_options) as f:
            yield f
            f.flush()


def write_bytes_atomic(path, data):
    with atomic_write(path, "wb") as f:
        f.write(data)


def write_text_atomic(path, text):
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_json_atomic(path, data, indent=2):
    with atomic_write(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=indent, sort_keys=True)


# --------------------------------------------------------------------------- folders

# Linux can swap two paths in one step; elsewhere two renames leave a short gap that
# remove_leftovers repairs on the next run.
AT_FDCWD = -100
RENAME_EXCHANGE = 2


def exchange_paths(a, b):
    """Swap two existing paths atomically (renameat2 RENAME_EXCHANGE); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    if renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def replace_dir(new, dest):
    """Move a finished folder into place; at every instant `dest` is the old or the new one."""
    new, dest = Path(new), Path(dest)
    fsync_path(new)
    if not dest.exists():
        os.rename(new, dest)
    elif exchange_paths(new, dest):
        shutil.rmtree(new)  # now holds the previous folder
    else:
        old = temporary_name(dest, "old")
        os.rename(dest, old)
        os.rename(new, dest)
        shutil.rmtree(old, ignore_errors=True)
    fsync_path(dest.parent)


@contextlib.contextmanager
def atomic_dir(out):
    """Yield an empty temporary folder beside `out` to build a folder in (a dataset, an
    ensemble); on success it takes the place of `out` as one unit (replace_dir), on failure it
    goes. What killed runs left beside `out` is cleared first.

    An `out` that is a symlink stands for its target: the target is rebuilt beside itself and
    swapped, and the link stays a link (renaming the link away would leave a real folder in
    its place and a dangling `.tmp`)."""
    out = Path(out)
    if out.is_symlink():
        out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(out)
    tmp = temporary_name(out)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # only still there when something failed


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(out):
    """Delete `.NAME.tmp-PID[suffix]` / `.NAME.old-PID` of dead runs; restore .old if `out` is
    gone."""
    out = Path(out)
    pattern = re.compile(rf"\.{re.escape(out.name)}\.(tmp|old)-(\d+)(\.[\w.]+)?")
    if not out.parent.is_dir():
        return
    for path in sorted(out.parent.iterdir()):
        match = pattern.fullmatch(path.name)
        if not match or pid_alive(int(match[2])):
            continue
        if match[1] == "old" and not out.exists():
            os.rename(path, out)  # killed between the two renames of the fallback swap
        elif path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def file_in_the_way(path):
    """The first of `path` and its parents that exists and is not a folder, or None.

    A folder cannot be made there, and the scripts would find out only when they first write
    into it (after the model loads, after every run trained): they ask before their work."""
    path = Path(path)
    for candidate in (path, *path.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def not_a_folder(option, path, purpose):
    """The refusal of an output option whose folder cannot be made ("--out x is a file, not
    a folder for ..."), or None where it can."""
    blocker = file_in_the_way(path)
    if blocker is None:
        return None
    if blocker == Path(path):
        return f"{option} {path} is a file, not {purpose}"
    return f"{option} {path} cannot be {purpose}: {blocker} is a file"
