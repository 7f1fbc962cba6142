"""Which generator the panel starts jobs on and which ledger it reads, and closing what it made.

Given nothing, the panel makes its own generator (on the emulator without a key, on fal.ai with
one) over the ledger it reads, with its budget; a key typed later makes a new generator on the
same ledger and budget. What the panel made it closes; a generator or ledger the user passed in
stays open (it is theirs, and may still run their jobs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

from pydantic import SecretStr

from ..client import AsyncFalClient, mark_emulator_announced
from ..generator import Generator
from ..history import History
from ._protocols import GeneratorLike, HistoryLike

__all__ = ["GeneratorFactory", "GeneratorSlot", "default_generator"]

log = logging.getLogger("sora2_widgets.panel")

#: Makes a generator for a key (``None``: no key, the emulator); tests pass one that returns fakes.
GeneratorFactory = Callable[[SecretStr | None], GeneratorLike | None]


def default_generator(key: SecretStr | None, *, history: HistoryLike | None, budget: Decimal | None) -> GeneratorLike:
    """The panel's own generator: it writes to the ledger the panel reads and enforces the panel's budget."""
    if history is not None and not isinstance(history, History):
        # The generator writes rows, leases and budget checks: only the real ledger takes them.
        raise TypeError("the panel makes its generator on a sora2_widgets.History; pass generator= with your ledger")
    if key is None:
        # No key: the client will fall back to the emulator. The panel's badge says so, so the
        # client's logged notice (a red stderr box above the panel in JupyterLab) is not needed.
        mark_emulator_announced()
        return Generator(history=history, budget=budget)
    return Generator(client=AsyncFalClient(key=key), history=history, budget=budget)


def _close_quietly(thing: GeneratorLike | HistoryLike, what: str) -> None:
    """Close what the panel made; a failure to close is logged, never raised into a widget callback."""
    try:
        thing.close()
    except Exception:
        log.exception("could not close %s", what)


class GeneratorSlot:
    """The current generator and ledger, and the ones the panel made itself (and so closes)."""

    def __init__(
        self,
        generator: GeneratorLike | None,
        history: HistoryLike | None,
        *,
        key: SecretStr | None,
        budget: Decimal | None,
        factory: GeneratorFactory | None,
    ) -> None:
        self._factory = factory
        self.history = generator.history if history is None and generator is not None else history
        self._owned_history: HistoryLike | None = None
        self._owned_generators: list[GeneratorLike] = []
        if generator is None:
            if self.history is None and factory is None:
                self.history = self._owned_history = History()
            generator = self._make(key, budget)
            if generator is not None:
                self._owned_generators.append(generator)
        elif budget is not None:
            # The budget lives on the generator: it enforces it atomically with the ledger row.
            generator.budget = budget
        self.generator = generator
        if self.history is None and generator is not None:
            self.history = generator.history
        if self.history is None:
            self.history = self._owned_history = History()

    def _make(self, key: SecretStr | None, budget: Decimal | None) -> GeneratorLike | None:
        if self._factory is None:
            return default_generator(key, history=self.history, budget=budget)
        generator = self._factory(key)
        if generator is not None and budget is not None and generator.budget is None:
            generator.budget = budget
        return generator

    def switch(self, key: SecretStr | None, budget: Decimal | None) -> GeneratorLike | None:
        """Make the generator for a new key, on the same ledger and budget; returns the one it replaced
        (to :meth:`retire` once its jobs end), or ``None`` when no generator could be made."""
        generator = self._make(key, budget)
        if generator is None:
            return None
        old, self.generator = self.generator, generator
        self._owned_generators.append(generator)
        self.history = generator.history
        return old

    def retire(self, generator: GeneratorLike, *, busy: bool) -> None:
        """Close a generator the panel made and no longer uses, unless a job still runs on it (``busy``)."""
        if not any(generator is g for g in self._owned_generators) or generator is self.generator or busy:
            return
        self._owned_generators = [g for g in self._owned_generators if g is not generator]
        _close_quietly(generator, "the previous generator")

    def close(self) -> None:
        """Close every generator and the ledger the panel made (not the user's)."""
        for generator in list(self._owned_generators):
            _close_quietly(generator, "the panel's generator")
        self._owned_generators = []
        if self._owned_history is not None:
            self._owned_history.close()
        self._owned_history = None
