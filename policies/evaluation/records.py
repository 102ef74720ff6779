"""The durable record of a campaign: `episodes.jsonl`, one JSON object per finished episode.

What a caller can rely on:

* a record is on disk (written, flushed and fsynced) before the next one starts
  being written, so a `kill -9` loses at most the episodes still running;
* reopening drops a torn last line (the write the kill interrupted) and truncates
  it away, so later appends start on a clean line;
* records are keyed by (task, robot, seed); a key seen twice keeps the first record;
* an exclusive lock on ``DIR/.lock`` stops two campaigns writing one directory.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Record = dict[str, Any]
EpisodeKey = tuple[str, str, int]

# Fields that depend on the machine and the moment, not on the policy and seed.
# Everything else in a record is reproducible.
TIMING_FIELD = "timing"


def episode_key(record: Record) -> EpisodeKey:
    return str(record["task"]), str(record["robot"]), int(record["seed"])


def without_timing(record: Record) -> Record:
    """The reproducible part of a record: what two runs of the same campaign must agree on."""
    return {k: v for k, v in record.items() if k != TIMING_FIELD}


def read_records(path: Path) -> list[Record]:
    """Valid records of a log, deduplicated by key, in file order; a torn last line is ignored."""
    records, _ = _scan(path)
    return records


class EpisodeLog:
    """An append-only, crash-safe episode log (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.records, valid_bytes = _scan(self.path)
        if self.path.exists() and self.path.stat().st_size > valid_bytes:
            log.warning("%s: dropping a torn last line (%d bytes)", self.path,
                        self.path.stat().st_size - valid_bytes)
            os.truncate(self.path, valid_bytes)
        self.keys: set[EpisodeKey] = {episode_key(r) for r in self.records}
        self._file = open(self.path, "ab")  # noqa: SIM115 - closed in close()

    def append(self, record: Record) -> bool:
        """Durably append `record`; returns False (and writes nothing) if its key is already logged."""
        key = episode_key(record)
        if key in self.keys:
            return False
        line = json.dumps(record, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"
        self._file.write(line.encode())
        self._file.flush()
        os.fsync(self._file.fileno())
        self.keys.add(key)
        self.records.append(record)
        return True

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> EpisodeLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DirectoryLock:
    """An exclusive, non-blocking `flock` on DIR/.lock; the kernel releases it if the process dies."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / ".lock"
        self._fd: int | None = None

    def __enter__(self) -> DirectoryLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RuntimeError(f"{self.path.parent} is in use by another evaluation "
                               f"(lock {self.path})") from None
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to a temporary file, fsync, then rename: readers never see half a file."""
    write_bytes_atomic(path, (json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n").encode())


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _scan(path: Path) -> tuple[list[Record], int]:
    """Parse a log: (deduplicated valid records, byte length of the part ending in a complete line)."""
    if not path.exists():
        return [], 0
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1  # everything after the last newline is a torn write
    records: list[Record] = []
    seen: set[EpisodeKey] = set()
    for number, line in enumerate(data[:end].splitlines(), start=1):
        if not line.strip():
            continue
        record = _parse(line, path, number)
        if record is None:
            continue
        key = episode_key(record)
        if key in seen:
            log.warning("%s:%d: duplicate episode %s ignored", path, number, key)
            continue
        seen.add(key)
        records.append(record)
    return records, end


def _parse(line: bytes, path: Path, number: int) -> Record | None:
    try:
        record = json.loads(line)
        episode_key(record)
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("%s:%d: unreadable record skipped (%s)", path, number, exc)
        return None
    return record if isinstance(record, dict) else None


def records_by_key(records: Iterable[Record]) -> dict[EpisodeKey, Record]:
    return {episode_key(r): r for r in records}
