"""The `robocell` command: one subcommand per job, each defined in the module that owns it.

Each entry maps a subcommand to ``"module:configure"``; ``configure(parser)`` adds the
subcommand's arguments and sets ``parser.set_defaults(run=callable)``. Modules are
imported only when their subcommand runs, so `robocell launch` never pays for torch.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "launch": ("robot.launcher:configure", "start the nodes of a launch file"),
    "node": ("robot.nodes.run:configure", "run one node (the launcher uses this)"),
    "estop": ("robot.estop:configure", "engage or reset a robot node's e-stop latch"),
    "keys": ("robot.auth:configure", "make a CurveZMQ key pair"),
    "calibrate": ("robot.calibration:configure", "record joint offsets and write a robot description"),
    "train-teacher": ("policies.teachers.sb3_teacher:configure", "train a stable-baselines3 teacher"),
    "collect": ("policies.dataset.collect:configure", "record teacher episodes to HDF5"),
    "distill": ("policies.distill:configure", "behaviour cloning + DAgger into the student"),
    "export": ("policies.export:configure", "export a student to TorchScript / ONNX / int8"),
    "eval": ("policies.evaluation.run:configure", "evaluate a policy over tasks and seeds"),
    "compare": ("policies.evaluation.compare:configure", "compare two evaluation runs"),
    "serve-policy": ("policies.remote:configure", "serve any policy as a remote teacher over ZeroMQ"),
}


def _load(target: str):
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="robocell", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (target, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text)
        if name == chosen:  # import only the module of the command being run
            try:
                _load(target)(command_parser)
            except ModuleNotFoundError as exc:
                parser.error(f"'{name}' is not available: {exc}")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname).1s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
