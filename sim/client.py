"""`Client`: PyBullet's `BulletClient` without its cost per call.

Why: upstream `BulletClient.__getattr__` asks `inspect` whether the function is builtin and
builds a new `functools.partial` on every call, and an env step makes about 50 calls. This
binds each function once per client. `disconnect()` drops the bindings: PyBullet reuses
client ids, and a stale binding would reach whichever world connected next.
"""

from __future__ import annotations

import functools
from typing import Any

import pybullet as p
from pybullet_utils.bullet_client import BulletClient


class Client(BulletClient):
    """A `BulletClient` (DIRECT by default) whose bound pybullet functions are looked up once."""

    def __init__(self, connection_mode: int = p.DIRECT) -> None:
        super().__init__(connection_mode=connection_mode)

    def __getattr__(self, name: str) -> Any:
        attribute = super().__getattr__(name)
        if isinstance(attribute, functools.partial):
            self.__dict__[name] = attribute  # found before __getattr__ from now on
        return attribute

    def disconnect(self) -> None:
        for name in [k for k, v in self.__dict__.items() if isinstance(v, functools.partial)]:
            del self.__dict__[name]
        if self._client >= 0:
            p.disconnect(physicsClientId=self._client)
        self._client = -1
