"""``ModelField``: an attribute of the environment actor that is its pure model's.

The transitions (``actors/transitions``) read and set ``env.tasks``, ``env.run_number``,
``env.user_vars`` ... as attributes of the environment they are given; the values live in
the environment's ``EnvironmentModel`` (``o2ctl.core.envmodel``, or its target), which is
what the durable record is a snapshot of. This descriptor is the one place that maps one
onto the other, so the model stays the single holder of the environment's state.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, cast, overload

V = TypeVar("V")


class ModelField(Generic[V]):
    """An attribute of the environment that is its model's: the transitions read and set
    ``env.tasks``, ``env.run_number``, ... as before, and the model holds them."""

    def __init__(self, of_target: bool = False) -> None:
        self.of_target = of_target
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, env: None, owner: type | None = None) -> ModelField[V]: ...
    @overload
    def __get__(self, env: Any, owner: type | None = None) -> V: ...
    def __get__(self, env: Any | None, owner: type | None = None) -> V | ModelField[V]:
        if env is None:
            return self
        return cast(V, getattr(self._home(env), self.name))

    def __set__(self, env: Any, value: V) -> None:
        setattr(self._home(env), self.name, value)

    def _home(self, env: Any) -> Any:
        return env.model.target if self.of_target else env.model
