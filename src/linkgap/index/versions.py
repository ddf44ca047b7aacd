"""Index versions on disk: build folders, atomic publication, retention.

::

    INDEX_DIR/
      CURRENT                 the published version id (replaced with os.replace)
      versions/<version_id>/  one complete version, never modified after publication
      tmp-<random>/           a build in progress (readers ignore it); its DuckDB
                              temp folder is tmp-<random>/spill, or
                              <--temp-dir>/linkgap-tmp-<random> (named in
                              tmp-<random>/TEMP_DIR so the next build finds it)
      .build.lock             held (flock) by the one build running, never by readers

Publication: the build's folder is fsynced, renamed to ``versions/<id>``, and
``CURRENT`` is replaced atomically. A reader reads ``CURRENT`` and then the
version's files, so it sees the old version or the new one and never takes a
lock. The new version and the one it replaced are kept; older ones go.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "CURRENT",
    "VERSIONS",
    "build_lock",
    "clean_stale_builds",
    "drop_spill_dir",
    "new_build_dir",
    "new_version_id",
    "next_version_id",
    "publish",
    "read_current",
    "spill_dir_for",
    "version_dir",
]

CURRENT = "CURRENT"
VERSIONS = "versions"
_TMP_PREFIX = "tmp-"
_LOCK = ".build.lock"
_TEMP_MARKER = "TEMP_DIR"
_SPILL_PREFIX = "linkgap-"


def new_version_id(now: datetime | None = None) -> str:
    """A version id that sorts by build time and is unique: ``20261128T201530.123Z-3f9a1c``.

    UTC time to the millisecond, then 24 random bits.
    """
    now = now or datetime.now(UTC)
    return f"{now.strftime('%Y%m%dT%H%M%S')}.{now.microsecond // 1000:03d}Z-{secrets.token_hex(3)}"


def next_version_id(index_dir: Path, now: datetime | None = None) -> str:
    """A new version id greater than the published one (call under the build lock)."""
    current = read_current(index_dir)
    while True:
        candidate = new_version_id(now)
        if current is None or candidate[:19] > current[:19]:
            return candidate
        time.sleep(0.002)  # same millisecond as the published version: wait for the next
        now = None


def read_current(index_dir: Path) -> str | None:
    """The published version id, or None when nothing was published yet."""
    try:
        text = (Path(index_dir) / CURRENT).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return text or None


def version_dir(index_dir: Path, version_id: str) -> Path:
    """Where a version lives."""
    return Path(index_dir) / VERSIONS / version_id


@contextlib.contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index's build lock: one build at a time; readers never take it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def clean_stale_builds(index_dir: Path) -> list[str]:
    """Remove ``tmp-*`` folders left by interrupted builds, and their temp folders elsewhere.

    Call under the build lock.
    """
    removed = []
    for entry in Path(index_dir).glob(f"{_TMP_PREFIX}*"):
        marker = entry / _TEMP_MARKER
        if marker.is_file():
            spill = Path(marker.read_text(encoding="utf-8").strip())
            # only ever a folder this module named, never what a damaged marker says
            if spill.name == f"{_SPILL_PREFIX}{entry.name}":
                shutil.rmtree(spill, ignore_errors=True)
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry.name)
    return removed


def spill_dir_for(build_dir: Path, temp_dir: Path | None) -> Path:
    """The folder a build's DuckDB spills to: inside the build folder, or under ``temp_dir``.

    A folder under ``temp_dir`` is named after the build and recorded in the
    build folder, so that the build after a killed one removes it too.
    """
    if temp_dir is None:
        spill = build_dir / "spill"
    else:
        spill = Path(temp_dir).resolve() / f"{_SPILL_PREFIX}{build_dir.name}"
        (build_dir / _TEMP_MARKER).write_text(str(spill) + "\n", encoding="utf-8")
    spill.mkdir(parents=True, exist_ok=True)
    return spill


def drop_spill_dir(build_dir: Path) -> None:
    """Remove a build's temp folder, wherever it is, and its record in the build folder."""
    marker = build_dir / _TEMP_MARKER
    if marker.is_file():
        spill = Path(marker.read_text(encoding="utf-8").strip())
        if spill.name == f"{_SPILL_PREFIX}{build_dir.name}":
            shutil.rmtree(spill, ignore_errors=True)
        marker.unlink(missing_ok=True)
    shutil.rmtree(build_dir / "spill", ignore_errors=True)


def new_build_dir(index_dir: Path) -> Path:
    """A fresh ``tmp-*`` folder for one build."""
    path = Path(index_dir) / f"{_TMP_PREFIX}{secrets.token_hex(8)}"
    path.mkdir(parents=True)
    return path


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for root, _dirs, files in os.walk(path):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(root))


def publish(index_dir: Path, build_dir: Path, version_id: str) -> str | None:
    """Make ``build_dir`` the published version ``version_id``; returns the one it replaced.

    Keeps the new and the previous version, removes older ones.
    """
    index_dir = Path(index_dir)
    versions = index_dir / VERSIONS
    versions.mkdir(exist_ok=True)
    previous = read_current(index_dir)
    _fsync_tree(build_dir)
    target = versions / version_id
    os.rename(build_dir, target)
    _fsync_dir(versions)
    pointer = index_dir / f"{_TMP_PREFIX}current-{secrets.token_hex(4)}"
    with open(pointer, "w", encoding="utf-8") as fh:
        fh.write(version_id + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(pointer, index_dir / CURRENT)
    _fsync_dir(index_dir)
    keep = {version_id, previous}
    for old in versions.iterdir():
        if old.name not in keep:
            # A reader that opened an old version keeps its memory maps: the
            # files stay alive until it closes them.
            shutil.rmtree(old, ignore_errors=True)
    return previous

