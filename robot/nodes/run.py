"""Run one node in this process: `robocell node KIND --params JSON` (the launcher's entry point)."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

NODE_KINDS = {
    "robot": ("robot.nodes.robot_node", "RobotNodeConfig", "RobotNode"),
    "policy": ("robot.nodes.policy_node", "PolicyNodeConfig", "PolicyNode"),
}


def build_config(kind: str, params: dict[str, Any]):
    """The node's config dataclass from launch-file params; unknown keys are an error, not ignored."""
    import importlib

    if kind not in NODE_KINDS:
        raise ValueError(f"unknown node kind {kind!r}; known: {sorted(NODE_KINDS)}")
    module_name, config_name, node_name = NODE_KINDS[kind]
    module = importlib.import_module(module_name)
    config_cls = getattr(module, config_name)
    known = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"{kind} node: unknown parameter(s) {unknown}; known: {sorted(known)}")
    return getattr(module, node_name), config_cls(**params)


def run_node(kind: str, params: dict[str, Any]) -> int:
    node_cls, config = build_config(kind, params)
    return node_cls(config).run()


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=sorted(NODE_KINDS))
    parser.add_argument("--params", default="{}", help="node parameters as a JSON object")
    parser.set_defaults(run=lambda args: run_node(args.kind, json.loads(args.params)))
