"""The student network: two small CNNs (scene, wrist), an instruction encoder, proprio in, an action chunk out.

Inputs are exactly what the robot sends (no privileged state):
    scene, wrist: uint8 (B, H, W, 3)   proprio: float32 (B, 8)   tokens: int64 (B, L) from `text.tokenize`
Output: float32 (B, T, 7) in [-1, 1], the next T actions.

Normalisation lives inside the module (buffers), so the checkpoint, TorchScript, ONNX and
int8 forms all take raw observations and agree with each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from policies.student.text import TextEncoder, tokenize


@dataclass
class StudentConfig:
    cameras: tuple[str, ...] = ("scene_rgb", "wrist_rgb")
    image_size: int = 96
    proprio_dim: int = 8
    # Feed the end-effector orientation as the first two columns of its rotation matrix instead of
    # the quaternion: continuous, and the same for q and -q (needs the 8-value proprio layout).
    rotation_features: bool = True
    # LayerNorm over the concatenated features before the head: keypoints, pooled activations, text and
    # proprio arrive on one scale, which steadies training and keeps int8 activation ranges tight.
    feature_norm: bool = True
    action_dim: int = 7
    chunk: int = 4  # T: actions predicted per step
    convs: tuple[tuple[int, int, int], ...] = (
        (16, 8, 4),
        (32, 3, 2),
        (32, 3, 1),
    )  # (channels, kernel, stride)
    text_buckets: int = 8192
    text_embed_dim: int = 64
    text_dim: int = 32
    max_tokens: int = 24
    # Add ordered word pairs to the instruction's tokens (`text.tokenize`): the bag of words then knows
    # which colour comes first ("the red cube on the blue one"). Wants max_tokens ~128.
    word_pairs: bool = False
    hidden: int = 256
    # Outputs of an auxiliary head trained to predict part of the privileged state (the named part's
    # position, say) from the same features as the actions: it makes the encoders ground the
    # instruction in the image. Training only: `forward` never runs it, so exports leave it out.
    aux_dim: int = 0
    # FiLM from the instruction on every conv map ("all") or only on the last ("last"): earlier
    # conditioning lets the small first filters look for the named part's colour and shape.
    film: str = "last"
    execution: str = (
        "first"  # how `runtime.load_student` plays chunks unless told otherwise (chosen on validation)
    )
    extra: dict = field(default_factory=dict)  # free-form notes (task, data), kept in the checkpoint

    def to_dict(self) -> dict:
        return asdict(self)

    def tokenize(self, instruction: str) -> np.ndarray:
        """The token ids this student reads for `instruction` (int64, `max_tokens` long)."""
        return tokenize(instruction, self.text_buckets, self.max_tokens, self.word_pairs)

    @classmethod
    def from_dict(cls, d: dict) -> StudentConfig:
        d = dict(d)
        d.setdefault("rotation_features", False)  # checkpoints from before these options had neither
        d.setdefault("feature_norm", False)
        if "cameras" in d:
            d["cameras"] = tuple(d["cameras"])
        if "convs" in d:
            d["convs"] = tuple(tuple(c) for c in d["convs"])
        return cls(**d)


class SpatialSoftmax(nn.Module):
    """(B, C, H, W) -> (B, 2C) expected x, y of each channel's softmax: where things are, cheaply."""

    def __init__(self, height: int, width: int) -> None:
        super().__init__()
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing="ij")
        self.register_buffer("grid", torch.stack([xs.reshape(-1), ys.reshape(-1)], 1))  # (HW, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        attn = torch.softmax(x.reshape(b, c, h * w), dim=-1)
        return (attn @ self.grid).reshape(b, c * 2)


class ImageEncoder(nn.Module):
    """uint8 NHWC -> features: strided convs, text-conditioned FiLM, spatial softmax + pooled.

    FiLM modulates the last map (`film="last"`) or every map (`"all"`), before its ReLU.
    """

    def __init__(
        self, image_size: int, convs: tuple[tuple[int, int, int], ...], text_dim: int, film: str = "last"
    ) -> None:
        super().__init__()
        if film not in ("last", "all"):
            raise ValueError(f"film must be 'last' or 'all', got {film!r}")
        layers: list[nn.Module] = []
        c_in, size = 3, image_size
        for c_out, k, stride in convs:
            pad = (k - 1) // 2
            layers += [nn.Conv2d(c_in, c_out, k, stride=stride, padding=pad), nn.ReLU()]
            c_in, size = c_out, (size + 2 * pad - k) // stride + 1
        self.convs = nn.Sequential(*layers[:-1])  # FiLM goes before the last ReLU
        self.film = nn.Linear(text_dim, 2 * c_in)
        early = [c for c, _, _ in convs[:-1]] if film == "all" else []
        self.early_films = nn.ModuleList(nn.Linear(text_dim, 2 * c) for c in early)
        self.keypoints = SpatialSoftmax(size, size)
        self.out_dim = 3 * c_in

    def forward(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        x = image.permute(0, 3, 1, 2).float() * (1.0 / 255.0) - 0.5
        for i, layer in enumerate(self.convs):  # conv, ReLU, conv, ..., conv
            x = layer(x)
            if i % 2 == 0 and i // 2 < len(self.early_films):  # an early conv: FiLM before its ReLU
                x = _film(x, self.early_films[i // 2](text))
        x = torch.relu(_film(x, self.film(text)))
        return torch.cat([self.keypoints(x), x.mean(dim=(2, 3))], dim=1)


def _film(x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    gamma, beta = params.unsqueeze(-1).unsqueeze(-1).chunk(2, dim=1)
    return x * (1.0 + gamma) + beta


class StudentNet(nn.Module):
    def __init__(self, cfg: StudentConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.text = TextEncoder(cfg.text_buckets, cfg.text_embed_dim, cfg.text_dim)
        self.encoders = nn.ModuleList(
            ImageEncoder(cfg.image_size, cfg.convs, cfg.text_dim, cfg.film) for _ in cfg.cameras
        )
        self.register_buffer("proprio_mean", torch.zeros(cfg.proprio_dim))
        self.register_buffer("proprio_std", torch.ones(cfg.proprio_dim))
        if cfg.rotation_features and cfg.proprio_dim != 8:
            raise ValueError(
                f"rotation_features needs proprio [x y z qx qy qz qw gripper], got {cfg.proprio_dim}"
            )
        proprio_feat = cfg.proprio_dim + (2 if cfg.rotation_features else 0)
        feat = sum(e.out_dim for e in self.encoders) + cfg.text_dim + proprio_feat
        self.norm = nn.LayerNorm(feat) if cfg.feature_norm else nn.Identity()
        self.head = nn.Sequential(
            nn.Linear(feat, cfg.hidden),
            nn.ReLU(),
            nn.Linear(cfg.hidden, cfg.hidden),
            nn.ReLU(),
            nn.Linear(cfg.hidden, cfg.chunk * cfg.action_dim),
        )
        if cfg.aux_dim:
            self.aux_head = nn.Sequential(nn.Linear(feat, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, cfg.aux_dim))
            self.register_buffer("aux_mean", torch.zeros(cfg.aux_dim))
            self.register_buffer("aux_std", torch.ones(cfg.aux_dim))

    def forward(
        self, scene: torch.Tensor, wrist: torch.Tensor, proprio: torch.Tensor, tokens: torch.Tensor
    ) -> torch.Tensor:
        return self.actions(self.features(scene, wrist, proprio, tokens))

    def features(
        self, scene: torch.Tensor, wrist: torch.Tensor, proprio: torch.Tensor, tokens: torch.Tensor
    ) -> torch.Tensor:
        """The normalised feature vector both heads read."""
        text = self.text(tokens)
        feats = [self.encoders[0](scene, text)]
        if len(self.encoders) > 1:
            feats.append(self.encoders[1](wrist, text))
        feats += [text, self.proprio_features(proprio)]
        return self.norm(torch.cat(feats, dim=1))

    def actions(self, features: torch.Tensor) -> torch.Tensor:
        out = torch.tanh(self.head(features))
        return out.reshape(-1, self.cfg.chunk, self.cfg.action_dim)

    def aux(self, features: torch.Tensor) -> torch.Tensor:
        """The auxiliary prediction, in the normalised units of `aux_mean` / `aux_std`."""
        if not self.cfg.aux_dim:
            raise ValueError("this student has no auxiliary head (aux_dim is 0)")
        return self.aux_head(features)

    def aux_estimate(self, features: torch.Tensor) -> torch.Tensor:
        """The auxiliary prediction in the target's own units (metres, radians): what probes read off."""
        return self.aux(features) * self.aux_std + self.aux_mean

    @torch.no_grad()
    def renormalise_aux(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Switch the auxiliary targets' units to (`mean`, `std`) and rescale the head's last layer to
        match, so `aux_estimate` is unchanged: the head learned in one scaling goes on in another."""
        last = self.aux_head[-1]
        scale = self.aux_std / std
        last.weight.mul_(scale[:, None])
        last.bias.copy_((last.bias * self.aux_std + self.aux_mean - mean) / std)
        self.aux_mean.copy_(mean)
        self.aux_std.copy_(std)

    def proprio_features(self, proprio: torch.Tensor) -> torch.Tensor:
        normalised = (proprio - self.proprio_mean) / self.proprio_std
        if not self.cfg.rotation_features:
            return normalised
        return torch.cat([normalised[:, :3], rotation_6d(proprio[:, 3:7]), normalised[:, 7:]], dim=1)


def rotation_6d(q: torch.Tensor) -> torch.Tensor:
    """(B, 4) quaternions [x y z w] -> (B, 6) first two columns of the rotation matrix."""
    x, y, z, w = q.unbind(dim=1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z),
            2 * (x * y + z * w),
            2 * (x * z - y * w),
            2 * (x * y - z * w),
            1 - 2 * (x * x + z * z),
            2 * (y * z + x * w),
        ],
        dim=1,
    )


def count_macs(model: nn.Module, example: tuple[torch.Tensor, ...]) -> int:
    """Multiply-accumulates of one forward pass, counting Conv2d and Linear layers (the rest is noise)."""
    total = 0

    def conv_hook(m: nn.Conv2d, _inp: tuple, out: torch.Tensor) -> None:
        nonlocal total
        k = m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups
        total += out.numel() * k

    def linear_hook(m: nn.Linear, _inp: tuple, out: torch.Tensor) -> None:
        nonlocal total
        total += out.numel() * m.in_features

    hooks = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            hooks.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            hooks.append(module.register_forward_hook(linear_hook))
    with torch.no_grad():
        model(*example)
    for h in hooks:
        h.remove()
    return total


def example_inputs(cfg: StudentConfig, batch: int = 1) -> tuple[torch.Tensor, ...]:
    s = cfg.image_size
    return (
        torch.randint(0, 255, (batch, s, s, 3), dtype=torch.uint8),
        torch.randint(0, 255, (batch, s, s, 3), dtype=torch.uint8),
        torch.zeros(batch, cfg.proprio_dim),
        torch.randint(1, cfg.text_buckets, (batch, cfg.max_tokens), dtype=torch.int64),
    )
