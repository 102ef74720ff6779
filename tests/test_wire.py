"""The wire protocol: round trips, each malformed-message class, and a fuzzed decoder."""

from __future__ import annotations

import contextlib

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from robot import wire

EXAMPLES = {
    "observation": wire.Message(
        "observation",
        {"instruction": "put the red cube in the left bin", "episode": 3, "sim_time": 1.25},
        {
            "proprio": np.arange(8, dtype=np.float32),
            "joint_positions": np.linspace(-1, 1, 7).astype(np.float32),
            "privileged": np.ones(12, dtype=np.float32),
            "scene_rgb": np.random.default_rng(0).integers(0, 255, (96, 96, 3), dtype=np.uint8),
            "wrist_rgb": np.zeros((96, 96, 3), dtype=np.uint8),
        },
        seq=41,
        topic=b"obs",
    ),
    "action": wire.Message("action", {"obs_seq": 41, "mode": "ee_delta"},
                           {"action": np.zeros((4, 7), np.float32)}, seq=7, topic=b"act"),
    "status": wire.Message("status", {"stats": {"steps": 10, "latency_ms": {"p50": 0.5}}}, seq=1),
    "episode": wire.Message("episode", {"episode": 0, "instruction": "x", "success": True, "steps": 80}),
    "estop": wire.Message("estop", {"engage": True, "reason": "operator"}),
}


def frames_of(msg: wire.Message) -> list[bytes]:
    return [bytes(memoryview(f)) for f in wire.encode(msg)]


@pytest.mark.parametrize("schema", sorted(wire.SCHEMAS))
def test_round_trip_every_schema(schema: str) -> None:
    assert schema in EXAMPLES, "every schema needs a round-trip example"
    msg = EXAMPLES[schema]
    out = wire.decode(frames_of(msg))
    assert (out.schema, out.seq, out.topic, out.meta) == (msg.schema, msg.seq, msg.topic, msg.meta)
    assert out.t_ns > 0
    assert set(out.arrays) == set(msg.arrays)
    for name, array in msg.arrays.items():
        assert out.arrays[name].dtype == array.dtype
        np.testing.assert_array_equal(out.arrays[name], array)


def test_arrays_are_zero_copy_views_of_frames() -> None:
    frames = frames_of(EXAMPLES["observation"])
    out = wire.decode(frames)
    image = out.arrays["scene_rgb"]
    assert not image.flags.owndata and not image.flags.writeable  # a view on the received frame


def test_encode_does_not_copy_contiguous_arrays() -> None:
    image = np.zeros((96, 96, 3), np.uint8)
    msg = wire.Message("observation", dict(EXAMPLES["observation"].meta),
                       {"proprio": np.zeros(8, np.float32), "joint_positions": np.zeros(7, np.float32),
                        "scene_rgb": image})
    frames = wire.encode(msg)
    view = frames[-1]
    assert isinstance(view, memoryview) and np.shares_memory(np.asarray(view), image)


def _header(frames: list[bytes]) -> dict:
    return msgpack.unpackb(frames[1], raw=False)


def _with_header(frames: list[bytes], **changes) -> list[bytes]:
    header = _header(frames)
    header.update(changes)
    return [frames[0], msgpack.packb(header, use_bin_type=True), *frames[2:]]


def test_rejects_bad_header() -> None:
    frames = frames_of(EXAMPLES["action"])
    with pytest.raises(wire.BadHeader, match="msgpack"):
        wire.decode([frames[0], b"\xc1\xff", *frames[2:]])
    with pytest.raises(wire.BadHeader, match="map"):
        wire.decode([frames[0], msgpack.packb([1, 2]), *frames[2:]])
    with pytest.raises(wire.BadHeader, match="seq"):
        wire.decode(_with_header(frames, seq="seven"))


def test_rejects_unknown_schema() -> None:
    with pytest.raises(wire.UnknownSchema, match="teleport"):
        wire.decode(_with_header(frames_of(EXAMPLES["action"]), schema="teleport"))


def test_rejects_version_mismatch() -> None:
    with pytest.raises(wire.VersionMismatch, match="version 99"):
        wire.decode(_with_header(frames_of(EXAMPLES["action"]), v=99))


def test_rejects_wrong_buffer_count() -> None:
    frames = frames_of(EXAMPLES["action"])
    with pytest.raises(wire.BufferCountMismatch, match="1 buffer"):
        wire.decode(frames[:2])
    with pytest.raises(wire.BufferCountMismatch, match="frame"):
        wire.decode(frames[:1])


def test_rejects_wrong_buffer_size() -> None:
    frames = frames_of(EXAMPLES["action"])
    with pytest.raises(wire.BufferSizeMismatch, match="'action' has 108 bytes, expected 112"):
        wire.decode([*frames[:2], frames[2][:-4]])


def test_rejects_bad_dtype() -> None:
    frames = frames_of(EXAMPLES["action"])
    header = _header(frames)
    header["bufs"][0][1] = "|O"
    with pytest.raises(wire.BadDtype, match="'action' has dtype '|O'"):
        wire.decode(_with_header(frames, bufs=header["bufs"]))
    header["bufs"][0][1] = "<f8"  # allowed on the wire, not for this schema
    with pytest.raises(wire.BadDtype, match="expected"):
        wire.decode([frames[0], msgpack.packb({**header}), frames[2] + frames[2]])
    with pytest.raises(wire.BadDtype):
        wire.encode(wire.Message("action", {"obs_seq": 1, "mode": "ee_delta"},
                                 {"action": np.array(["a"], dtype=object)}))


def test_rejects_missing_or_unexpected_buffers_and_bad_meta() -> None:
    with pytest.raises(wire.BadBuffer, match="required buffer 'action'"):
        wire.encode(wire.Message("action", {"obs_seq": 1, "mode": "ee_delta"}, {}))
    with pytest.raises(wire.BadBuffer, match="unexpected buffer 'secret'"):
        wire.encode(wire.Message("action", {"obs_seq": 1, "mode": "ee_delta"},
                                 {"action": np.zeros(7, np.float32), "secret": np.zeros(1, np.float32)}))
    with pytest.raises(wire.BadBuffer, match="rank 3"):
        wire.encode(wire.Message("action", {"obs_seq": 1, "mode": "ee_delta"},
                                 {"action": np.zeros((1, 1, 7), np.float32)}))
    with pytest.raises(wire.BadMeta, match="'obs_seq' is missing"):
        wire.encode(wire.Message("action", {"mode": "ee_delta"}, {"action": np.zeros(7, np.float32)}))
    with pytest.raises(wire.BadMeta, match="mode 'fly'"):
        wire.encode(wire.Message("action", {"obs_seq": 1, "mode": "fly"}, {"action": np.zeros(7, np.float32)}))


_header_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats()
    | st.text(max_size=8) | st.binary(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    header=st.dictionaries(
        st.sampled_from(["v", "schema", "seq", "t_ns", "meta", "bufs", "x"]), _header_values, max_size=7
    ),
    buffers=st.lists(st.binary(max_size=64), max_size=4),
)
def test_decoder_never_crashes_on_random_headers(header: dict, buffers: list[bytes]) -> None:
    with contextlib.suppress(wire.WireError):
        wire.decode([b"t", msgpack.packb(header, use_bin_type=True), *buffers])


@settings(max_examples=300, deadline=None)
@given(
    schema=st.sampled_from(sorted(wire.SCHEMAS)),
    bufs=st.lists(
        st.tuples(st.sampled_from(["action", "proprio", "joint_positions", "scene_rgb", "x"]),
                  st.sampled_from(sorted(wire.ALLOWED_DTYPES) + ["|O", "<U4", ">f4", 5]),
                  st.lists(st.integers(-2, 5), max_size=4)),
        max_size=4,
    ),
    payload=st.lists(st.binary(max_size=128), max_size=5),
    meta=st.dictionaries(st.sampled_from(["obs_seq", "mode", "instruction", "episode", "sim_time"]),
                         _header_values, max_size=5),
)
def test_decoder_never_crashes_on_random_buffers(schema, bufs, payload, meta) -> None:
    header = {"v": wire.PROTOCOL_VERSION, "schema": schema, "seq": 1, "t_ns": 1, "meta": meta,
              "bufs": [list(b) for b in bufs]}
    with contextlib.suppress(wire.WireError):
        wire.decode([b"t", msgpack.packb(header, use_bin_type=True), *payload])


@given(st.binary(max_size=256))
def test_decoder_never_crashes_on_random_bytes(blob: bytes) -> None:
    with contextlib.suppress(wire.WireError):
        wire.decode([b"t", blob])
