"""How far a Stack student's hand yaw is off the grasp when it reaches the cube, and what its head reads.

    python docs/experiments/stack_yaw_probe.py assets/student_stack/student.pt runs/stack_yaw/round_0.pt

Rolls each student out (ensemble execution, as the shipped Stack student runs) on test seeds (1,000,000 on, 40
by default) and, at the last step with the hand within 10 mm (xy) of the top cube before the fingers first
hold it (the yaw it grasped with, or the one it hovered at until time ran out), records the hand's yaw off the
nearest grasp (degrees, folded by the cube's 90-degree symmetry: 45 is as far off as it gets), and, for a
student whose auxiliary head predicts `top_grasp_yaw_vector`, how far that estimate is off the cube's grasp
yaw. Medians for the successful and the failed episodes, and the success rate.
"""

from __future__ import annotations

import argparse

import numpy as np
from aux_probe import aux_estimate, load_student

from policies.registry import load_policy
from policies.student.model import StudentNet
from sim.envs import ManufacturingEnv
from sim.geometry import wrap_angle, yaw_of
from sim.tasks.stack import Stack

NEAR_M = 0.010


def _vector_columns(model: StudentNet) -> slice | None:
    """Where the auxiliary head keeps the grasp-yaw vector: its last two outputs when the head has the
    eight of `stack_yaw_distill.json` (top_pose:3, bottom_pose:3, top_grasp_yaw_vector:2), else None."""
    return slice(6, 8) if model.cfg.aux_dim == 8 else None


def _estimated_yaw(model: StudentNet, obs: dict) -> float:
    cos, sin = aux_estimate(model, obs)[_vector_columns(model)]
    return float(np.arctan2(sin, cos) / 4)  # back to the grasp yaw, folded to +-45 degrees


def probe(checkpoint: str, seeds: range) -> dict[str, float]:
    policy, model = load_policy(f"student:{checkpoint}?execution=ensemble"), load_student(checkpoint)
    env = ManufacturingEnv(task="Stack", image_size=model.cfg.image_size)
    rows = []  # (success, hand yaw off the grasp, head's estimate off the grasp), degrees, at the cube
    for seed in seeds:
        obs, info = env.reset(seed=seed)
        policy.reset(obs["instruction"])
        hand_off = head_off = np.nan
        done = held = False
        while not done:
            fields = Stack.unpack_privileged(obs["privileged"])
            near = np.linalg.norm(obs["proprio"][:2] - fields["top_pose"][:2]) < NEAR_M
            held = held or fields["grasped"][0] > 0.5
            if near and not held:
                grasp = float(fields["top_grasp_yaw"][0])
                hand_off = abs(wrap_angle(grasp - yaw_of(np.asarray(obs["proprio"][3:7])), np.pi / 2))
                if _vector_columns(model) is not None:
                    head_off = abs(wrap_angle(grasp - _estimated_yaw(model, obs), np.pi / 2))
            obs, _, terminated, truncated, info = env.step(np.asarray(policy.act(obs)))
            done = terminated or truncated
        rows.append((bool(info["success"]), np.degrees(hand_off), np.degrees(head_off)))
    env.close()
    result = {"success": float(np.mean([r[0] for r in rows]))}
    for outcome in (True, False):
        picked = [r for r in rows if r[0] == outcome]
        name = "success" if outcome else "failure"
        for column, label in ((1, "hand_yaw_off_deg"), (2, "head_yaw_off_deg")):
            values = [r[column] for r in picked if not np.isnan(r[column])]
            result[f"{name}_{label}_median"] = float(np.median(values)) if values else float("nan")
        result[f"{name}_reached_cube"] = sum(not np.isnan(r[1]) for r in picked)
        result[f"{name}_episodes"] = len(picked)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+")
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--seed-start", type=int, default=1_000_000)
    args = parser.parse_args()
    for checkpoint in args.checkpoints:
        result = probe(checkpoint, range(args.seed_start, args.seed_start + args.episodes))
        print(checkpoint, {k: round(v, 2) for k, v in result.items()})


if __name__ == "__main__":
    main()
