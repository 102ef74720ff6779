"""The robocell wire protocol: the whole specification in one module.

A message is a ZeroMQ multipart message ``[topic, header, buffer, ...]``.

* ``topic``: bytes used for PUB/SUB filtering (``b"obs"``, ``b"act"``, ``b"status"`` ...).
* ``header``: a msgpack map ``{"v": PROTOCOL_VERSION, "schema": str, "seq": int,
  "t_ns": int, "meta": map, "bufs": [[name, dtype, shape], ...]}``. ``t_ns`` is the
  sender's wall clock (``time.time_ns()``) at send time.
* one raw buffer per entry of ``bufs``, in order: the bytes of a C-contiguous
  little-endian array. Nothing is pickled; receivers wrap frames with
  ``np.frombuffer`` (zero copy, read-only).

Every schema below names its buffers (dtype and rank) and its meta fields. A
message that does not match raises a `WireError` subclass naming what is wrong.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np

PROTOCOL_VERSION = 1

# Only plain numeric little-endian dtypes travel; anything else is rejected.
ALLOWED_DTYPES = frozenset(
    {"|u1", "|i1", "|b1", "<u2", "<i2", "<i4", "<i8", "<u4", "<u8", "<f2", "<f4", "<f8"}
)


class WireError(ValueError):
    """A malformed message. `kind` is a short stable name used for counting."""

    kind = "malformed"


class BadHeader(WireError):
    kind = "bad_header"


class UnknownSchema(WireError):
    kind = "unknown_schema"


class VersionMismatch(WireError):
    kind = "version_mismatch"


class BufferCountMismatch(WireError):
    kind = "buffer_count"


class BufferSizeMismatch(WireError):
    kind = "buffer_size"


class BadDtype(WireError):
    kind = "bad_dtype"


class BadBuffer(WireError):
    """A buffer is missing, unexpected, or of the wrong rank for its schema."""

    kind = "bad_buffer"


class BadMeta(WireError):
    kind = "bad_meta"


@dataclass(frozen=True)
class BufferSpec:
    name: str  # may be a glob such as "*_rgb" for a family of optional buffers
    dtypes: tuple[str, ...]
    ndims: tuple[int, ...]
    required: bool = True


@dataclass(frozen=True)
class Schema:
    name: str
    buffers: tuple[BufferSpec, ...] = ()
    meta: dict[str, type | tuple[type, ...]] = field(default_factory=dict)  # required fields

    def spec_for(self, buffer_name: str) -> BufferSpec | None:
        for spec in self.buffers:
            if fnmatch.fnmatchcase(buffer_name, spec.name):
                return spec
        return None


_F32 = ("<f4",)
_NUM = (int, float)

SCHEMAS: dict[str, Schema] = {
    s.name: s
    for s in (
        # Robot -> policy, once per control step.
        Schema(
            "observation",
            buffers=(
                BufferSpec("proprio", _F32, (1,)),
                BufferSpec("joint_positions", _F32, (1,)),
                BufferSpec("privileged", _F32, (1,), required=False),
                BufferSpec("*_rgb", ("|u1",), (3,), required=False),
            ),
            meta={"instruction": str, "episode": int, "sim_time": _NUM},
        ),
        # Policy -> robot: one action (7,) or a chunk (T, 7); joint mode: (n,) or (T, n).
        Schema(
            "action",
            buffers=(BufferSpec("action", _F32, (1, 2)),),
            meta={"obs_seq": int, "mode": str},
        ),
        # Robot -> anyone: loop timing, counters, safety events.
        Schema("status", meta={"stats": dict}),
        # Robot -> anyone: the outcome of a finished episode (simulation).
        Schema(
            "episode",
            meta={"episode": int, "instruction": str, "success": bool, "steps": int},
        ),
        # Anyone -> robot: engage (or, with reset, clear) the e-stop latch.
        Schema("estop", meta={"engage": bool, "reason": str}),
    )
}

ACTION_MODES = ("ee_delta", "joint_position")


@dataclass
class Message:
    """A decoded (or to-be-encoded) message."""

    schema: str
    meta: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    seq: int = 0
    t_ns: int = 0
    topic: bytes = b""


def encode(msg: Message) -> list[Any]:
    """Frames for `socket.send_multipart(frames, copy=False)`.

    Arrays are passed as buffers (no copy when already C-contiguous little-endian).
    The message is validated first, so a sender cannot emit what a receiver rejects.
    """
    schema = _schema(msg.schema)
    bufs: list[list[Any]] = []
    frames: list[Any] = []
    for name, array in msg.arrays.items():
        arr = np.asarray(array)
        if not arr.dtype.isnative and arr.dtype.byteorder not in ("|", "="):
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        arr = np.ascontiguousarray(arr)
        dtype = arr.dtype.str
        if dtype not in ALLOWED_DTYPES:
            raise BadDtype(f"buffer {name!r} has dtype {dtype}, expected one of {sorted(ALLOWED_DTYPES)}")
        bufs.append([name, dtype, list(arr.shape)])
        frames.append(arr.data if arr.size else b"")
    header = {
        "v": PROTOCOL_VERSION,
        "schema": msg.schema,
        "seq": int(msg.seq),
        "t_ns": int(msg.t_ns or time.time_ns()),
        "meta": msg.meta,
        "bufs": bufs,
    }
    _check_meta(schema, msg.meta)
    _check_buffers(schema, [(b[0], b[1], tuple(b[2])) for b in bufs])
    try:
        packed = msgpack.packb(header, use_bin_type=True)
    except (TypeError, ValueError) as exc:
        raise BadMeta(f"meta of {msg.schema!r} is not msgpack-serialisable: {exc}") from exc
    return [msg.topic, packed, *frames]


def decode(frames: Sequence[Any]) -> Message:
    """Parse and validate frames from `recv_multipart(copy=False)` (zmq.Frame) or bytes."""
    if len(frames) < 2:
        raise BufferCountMismatch(f"message has {len(frames)} frame(s); expected at least [topic, header]")
    topic = _as_bytes(frames[0])
    try:
        header = msgpack.unpackb(_as_view(frames[1]), raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated exception types
        raise BadHeader(f"header is not valid msgpack: {exc}") from exc
    if not isinstance(header, dict):
        raise BadHeader(f"header is a {type(header).__name__}, expected a map")
    version = header.get("v")
    if version != PROTOCOL_VERSION:
        raise VersionMismatch(f"protocol version {version!r}, this node speaks {PROTOCOL_VERSION}")
    for key, typ in (("schema", str), ("seq", int), ("t_ns", int), ("meta", dict), ("bufs", list)):
        if not isinstance(header.get(key), typ) or isinstance(header.get(key), bool):
            raise BadHeader(f"header field {key!r} is {header.get(key)!r}, expected {typ.__name__}")
    schema = _schema(header["schema"])
    descs = header["bufs"]
    payload = frames[2:]
    if len(descs) != len(payload):
        raise BufferCountMismatch(
            f"{schema.name}: header lists {len(descs)} buffer(s) but {len(payload)} frame(s) follow"
        )
    parsed: list[tuple[str, str, tuple[int, ...]]] = []
    for desc in descs:
        parsed.append(_parse_desc(desc))
    _check_meta(schema, header["meta"])
    _check_buffers(schema, parsed)
    arrays: dict[str, np.ndarray] = {}
    for (name, dtype, shape), frame in zip(parsed, payload, strict=False):
        view = _as_view(frame)
        expected = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        if view.nbytes != expected:
            raise BufferSizeMismatch(
                f"{schema.name}: buffer {name!r} has {view.nbytes} bytes, "
                f"expected {expected} for dtype {dtype} shape {list(shape)}"
            )
        arrays[name] = np.frombuffer(view, dtype=np.dtype(dtype)).reshape(shape)
    return Message(
        schema=schema.name,
        meta=header["meta"],
        arrays=arrays,
        seq=header["seq"],
        t_ns=header["t_ns"],
        topic=topic,
    )


def _schema(name: Any) -> Schema:
    schema = SCHEMAS.get(name) if isinstance(name, str) else None
    if schema is None:
        raise UnknownSchema(f"unknown schema {name!r}; known: {sorted(SCHEMAS)}")
    return schema


def _parse_desc(desc: Any) -> tuple[str, str, tuple[int, ...]]:
    if not (isinstance(desc, list) and len(desc) == 3):
        raise BadHeader(f"buffer descriptor {desc!r} is not [name, dtype, shape]")
    name, dtype, shape = desc
    if not isinstance(name, str):
        raise BadHeader(f"buffer name {name!r} is not a string")
    if not isinstance(dtype, str) or dtype not in ALLOWED_DTYPES:
        raise BadDtype(f"buffer {name!r} has dtype {dtype!r}, expected one of {sorted(ALLOWED_DTYPES)}")
    if not (
        isinstance(shape, list)
        and len(shape) <= 8
        and all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**31 for d in shape)
    ):
        raise BadHeader(f"buffer {name!r} has shape {shape!r}, expected a list of up to 8 sizes >= 0")
    return name, dtype, tuple(shape)


def _check_meta(schema: Schema, meta: Any) -> None:
    if not isinstance(meta, dict):
        raise BadMeta(f"{schema.name}: meta is a {type(meta).__name__}, expected a map")
    for key, typ in schema.meta.items():
        if key not in meta:
            raise BadMeta(f"{schema.name}: meta field {key!r} is missing")
        value = meta[key]
        if not isinstance(value, typ) or (isinstance(value, bool) and typ is not bool):
            raise BadMeta(f"{schema.name}: meta field {key!r} is {value!r}, expected {typ}")
    if schema.name == "action" and meta["mode"] not in ACTION_MODES:
        raise BadMeta(f"action: mode {meta['mode']!r}, expected one of {ACTION_MODES}")


def _check_buffers(schema: Schema, bufs: list[tuple[str, str, tuple[int, ...]]]) -> None:
    names = [b[0] for b in bufs]
    if len(set(names)) != len(names):
        raise BadBuffer(f"{schema.name}: duplicate buffer names {names}")
    for name, dtype, shape in bufs:
        spec = schema.spec_for(name)
        if spec is None:
            raise BadBuffer(f"{schema.name}: unexpected buffer {name!r}")
        if dtype not in spec.dtypes:
            raise BadDtype(f"{schema.name}: buffer {name!r} has dtype {dtype}, expected {list(spec.dtypes)}")
        if len(shape) not in spec.ndims:
            raise BadBuffer(
                f"{schema.name}: buffer {name!r} has rank {len(shape)}, expected rank in {list(spec.ndims)}"
            )
    for spec in schema.buffers:
        if spec.required and spec.name not in names:
            raise BadBuffer(f"{schema.name}: required buffer {spec.name!r} is missing")


def _as_view(frame: Any) -> memoryview:
    buf = getattr(frame, "buffer", frame)  # zmq.Frame exposes .buffer
    return memoryview(buf).cast("B") if not isinstance(buf, bytes) else memoryview(buf)


def _as_bytes(frame: Any) -> bytes:
    return getattr(frame, "bytes", None) or bytes(_as_view(frame))
