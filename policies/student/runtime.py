"""Run a trained student as a `Policy`, from any of its saved forms.

    load_student("assets/student/student.pt")        # checkpoint (float32; config + weights)
    load_student("assets/student/student.ts")        # TorchScript export
    load_student("assets/student/student.int8.ts")   # TorchScript, dynamic int8 Linear layers
    load_student("assets/student/student.onnx")      # ONNX, run with onnxruntime

Every form takes the raw observation (uint8 images, proprio, instruction tokens) and returns
an action chunk (T, 7); normalisation is inside the network. Inference runs on one thread by
default, under `torch.inference_mode`. `execution` picks what `act` returns (default: the mode
saved with the student, `StudentConfig.execution`):
    "first"     the first row of a fresh chunk every step (closed loop)
    "queue"     play a chunk out row by row, predicting again when it runs out
    "ensemble"  average the rows that all recent chunks predict for this step (ACT's temporal ensembling)
    "chunk"     the whole (T, 7) chunk, for a robot node that plays chunks out itself
"""

from __future__ import annotations

import json
import warnings
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from policies.base import Observation
from policies.student.model import StudentConfig, StudentNet, example_inputs

CHECKPOINT_FORMAT = "robocell-student"
META_KEY = "student.json"  # TorchScript extra file / ONNX metadata key holding the config
EXECUTION_MODES = ("first", "queue", "ensemble", "chunk")

Backend = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def save_checkpoint(path: Path, model: StudentNet, meta: dict | None = None) -> None:
    """Write a self-describing checkpoint (plain tensors + JSON-able dicts; loads with weights_only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    blob = {
        "format": CHECKPOINT_FORMAT,
        "config": model.cfg.to_dict(),
        "state_dict": state,
        "meta": meta or {},
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(blob, tmp)
    tmp.replace(path)


def load_checkpoint(path: str | Path) -> tuple[StudentNet, dict]:
    """(model in eval mode, meta) from a `save_checkpoint` file."""
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or blob.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a {CHECKPOINT_FORMAT} checkpoint (format={blob.get('format')!r})")
    model = StudentNet(StudentConfig.from_dict(blob["config"]))
    model.load_state_dict(blob["state_dict"])
    return model.eval(), blob.get("meta", {})


def compiled(model: StudentNet) -> torch.nn.Module:
    """The model traced and frozen by TorchScript: same numbers, about a quarter less Python overhead."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.freeze(torch.jit.trace(model.eval(), example_inputs(model.cfg), check_trace=False))


def torch_backend(module: torch.nn.Module) -> Backend:
    def run(scene: np.ndarray, wrist: np.ndarray, proprio: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out = module(
                torch.from_numpy(scene),
                torch.from_numpy(wrist),
                torch.from_numpy(proprio),
                torch.from_numpy(tokens),
            )
        return out.numpy()

    return run


def onnx_backend(path: Path, threads: int = 1) -> tuple[Backend, StudentConfig]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    if META_KEY not in meta:
        raise ValueError(f"{path} lacks the {META_KEY!r} metadata that `robocell export` writes")
    names = [i.name for i in session.get_inputs()]

    def run(scene: np.ndarray, wrist: np.ndarray, proprio: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        feeds = dict(
            zip(("scene", "wrist", "proprio", "tokens"), (scene, wrist, proprio, tokens), strict=True)
        )
        return session.run(None, {n: feeds[n] for n in names})[0]

    return run, StudentConfig.from_dict(json.loads(meta[META_KEY]))


class StudentPolicy:
    """The student behind the `Policy` interface. Not thread-safe; one instance per episode stream."""

    def __init__(
        self, backend: Backend, cfg: StudentConfig, execution: str | None = None, ensemble_k: float = 0.5
    ):
        execution = execution or cfg.execution
        if execution not in EXECUTION_MODES:
            raise ValueError(f"execution {execution!r}, expected one of {EXECUTION_MODES}")
        self.backend, self.cfg, self.execution, self.ensemble_k = backend, cfg, execution, ensemble_k
        self._tokens = np.zeros((1, cfg.max_tokens), dtype=np.int64)
        self._queue: deque[np.ndarray] = deque()
        self._history: deque[tuple[int, np.ndarray]] = deque(maxlen=cfg.chunk)
        self._step = 0
        self._wrist_blank = np.zeros((1, cfg.image_size, cfg.image_size, 3), dtype=np.uint8)

    def reset(self, instruction: str) -> None:
        self._tokens = self.cfg.tokenize(instruction)[None]
        self._queue.clear()
        self._history.clear()
        self._step = 0

    def predict_chunk(self, observation: Observation) -> np.ndarray:
        """The raw (T, 7) chunk for `observation` (uses the instruction given to `reset`)."""
        images = [self._image(observation, key) for key in self.cfg.cameras]
        scene = images[0]
        wrist = images[1] if len(images) > 1 else self._wrist_blank
        proprio = np.asarray(observation["proprio"], dtype=np.float32).reshape(1, -1)
        if proprio.shape[1] != self.cfg.proprio_dim:
            raise ValueError(f"proprio has {proprio.shape[1]} values, expected {self.cfg.proprio_dim}")
        return self.backend(scene, wrist, proprio, self._tokens)[0]

    def act(self, observation: Observation) -> np.ndarray:
        if self.execution == "queue":
            if not self._queue:
                self._queue.extend(self.predict_chunk(observation))
            return self._queue.popleft().astype(np.float32)
        chunk = self.predict_chunk(observation)
        if self.execution == "chunk":
            return chunk.astype(np.float32)
        if self.execution == "first":
            return chunk[0].astype(np.float32)
        self._history.append((self._step, chunk))
        rows = [(self._step - start, c[self._step - start]) for start, c in self._history]
        weights = np.exp(-self.ensemble_k * np.array([age for age, _ in rows], dtype=np.float32))
        action = (weights[:, None] * np.stack([r for _, r in rows])).sum(0) / weights.sum()
        self._step += 1
        return action.astype(np.float32)

    def _image(self, observation: Observation, key: str) -> np.ndarray:
        if key not in observation:
            raise KeyError(f"observation lacks camera {key!r}; the student was trained on {self.cfg.cameras}")
        img = np.asarray(observation[key])
        size = self.cfg.image_size
        if img.shape[:2] != (size, size):  # nearest-neighbour resize, no extra dependency
            rows = np.arange(size) * img.shape[0] // size
            cols = np.arange(size) * img.shape[1] // size
            img = img[rows][:, cols]
        return np.ascontiguousarray(img[None, :, :, :3], dtype=np.uint8)


def load_student(path: str, execution: str | None = None, threads: int = 1) -> StudentPolicy:
    """A `Policy` from a checkpoint (.pt), TorchScript (.ts, incl. .int8.ts) or ONNX (.onnx) file.

    `execution` defaults to the mode saved with the student (`StudentConfig.execution`, picked on
    validation seeds by `robocell distill`). Sets torch's intra-op threads to `threads` (default 1:
    the student is sized for one core).
    A spec may carry options after "?", e.g. `student:assets/student/student.pt?execution=ensemble`.
    """
    path, _, query = path.partition("?")
    for option in filter(None, query.split("&")):
        key, _, value = option.partition("=")
        if key == "execution":
            execution = value
        elif key == "threads":
            threads = int(value)
        else:
            raise ValueError(f"unknown student option {key!r} in {option!r}; expected execution= or threads=")
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"student file {file} does not exist")
    torch.set_num_threads(threads)
    suffix = file.suffix.lower()
    if suffix in (".pt", ".pth"):
        model, _ = load_checkpoint(file)
        return StudentPolicy(torch_backend(compiled(model)), model.cfg, execution)
    if suffix == ".ts":
        extra = {META_KEY: ""}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript still works in torch 2.13
            module = torch.jit.load(str(file), map_location="cpu", _extra_files=extra)
        if not extra[META_KEY]:
            raise ValueError(f"{file} lacks the {META_KEY!r} extra file that `robocell export` writes")
        return StudentPolicy(
            torch_backend(module.eval()), StudentConfig.from_dict(json.loads(extra[META_KEY])), execution
        )
    if suffix == ".onnx":
        backend, cfg = onnx_backend(file, threads)
        return StudentPolicy(backend, cfg, execution)
    raise ValueError(f"student file {file} has suffix {suffix!r}; expected .pt, .pth, .ts or .onnx")
