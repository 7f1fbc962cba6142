"""Money: price rules, estimates before a job and the actual cost after it.

Pure and exact: every amount is a ``Decimal`` of US dollars, never a float. An
estimate is a range because some prices depend on what the service decides
(``resolution="auto"`` on Sora 2 Pro image-to-video); it is a single value (low
== high) whenever the price is known up front.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

__all__ = [
    "BasePlusPerSecond",
    "CostEstimate",
    "PerSecond",
    "PriceRule",
    "format_usd",
    "resolution_of",
    "total",
]

CENT = Decimal("0.01")


def format_usd(amount: Decimal) -> str:
    """``Decimal("0.4")`` → ``"$0.40"``; sub-cent amounts keep their digits (``$0.035``)."""
    if amount == amount.quantize(CENT):
        return f"${amount.quantize(CENT, rounding=ROUND_HALF_UP):,}"
    return f"${amount.normalize():,f}"


@dataclass(frozen=True)
class CostEstimate:
    """What a job will cost: ``low == high`` when exact, a range when the service decides."""

    low: Decimal
    high: Decimal
    note: str = ""

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")

    @classmethod
    def exact(cls, amount: Decimal | int | str) -> CostEstimate:
        value = Decimal(amount)
        return cls(value, value)

    @property
    def is_exact(self) -> bool:
        return self.low == self.high

    def __str__(self) -> str:
        if self.is_exact:
            return format_usd(self.low)
        return f"{format_usd(self.low)}–{format_usd(self.high)}"

    def __add__(self, other: object) -> CostEstimate:
        if isinstance(other, CostEstimate):
            return CostEstimate(self.low + other.low, self.high + other.high)
        if isinstance(other, (int, Decimal)) and not isinstance(other, bool):
            return CostEstimate(self.low + other, self.high + other)
        return NotImplemented

    # sum() starts from 0: 0 + estimate must work.
    __radd__ = __add__


def total(estimates: Iterable[CostEstimate]) -> CostEstimate:
    """The panel's total over a selection; an empty selection costs exactly $0."""
    return sum(estimates, CostEstimate.exact(0))


def resolution_of(width: int | None, height: int | None) -> str | None:
    """The billing resolution of a delivered video, from its real frame size."""
    if not width or not height:
        return None
    return "1080p" if min(width, height) >= 1000 else "720p"


class PriceRule(Protocol):
    """How one model is priced. ``describe()`` is the hint shown next to the model's name."""

    def estimate(self, seconds: Iterable[int], resolutions: Iterable[str]) -> CostEstimate: ...

    def actual(self, seconds: int, resolution: str | None) -> Decimal: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class PerSecond:
    """A price per second of output, possibly by resolution (``"*"`` for any resolution)."""

    rates: Mapping[str, Decimal]

    def rate(self, resolution: str | None) -> Decimal:
        if resolution is not None and resolution in self.rates:
            return self.rates[resolution]
        if "*" in self.rates:
            return self.rates["*"]
        raise ValueError(f"no price for resolution {resolution!r}; priced: {', '.join(self.rates)}")

    def estimate(self, seconds: Iterable[int], resolutions: Iterable[str]) -> CostEstimate:
        secs = list(seconds)
        rates = [self.rate(r) for r in resolutions]
        return CostEstimate(min(rates) * min(secs), max(rates) * max(secs))

    def actual(self, seconds: int, resolution: str | None) -> Decimal:
        if resolution is None:
            # Resolution unknown even after the fact: charge the highest rate, never under-report.
            return max(self.rates.values()) * seconds
        return self.rate(resolution) * seconds

    def describe(self) -> str:
        if set(self.rates) == {"*"}:
            return f"{format_usd(self.rates['*'])}/s"
        return ", ".join(f"{format_usd(v)}/s @{k}" for k, v in self.rates.items())


@dataclass(frozen=True)
class BasePlusPerSecond:
    """A flat price for the first ``base_seconds`` plus a price per extra second (Kling)."""

    base: Decimal
    base_seconds: int
    per_extra_second: Decimal

    def actual(self, seconds: int, resolution: str | None = None) -> Decimal:
        return self.base + self.per_extra_second * max(0, seconds - self.base_seconds)

    def estimate(self, seconds: Iterable[int], resolutions: Iterable[str]) -> CostEstimate:
        costs = [self.actual(s) for s in seconds]
        return CostEstimate(min(costs), max(costs))

    def describe(self) -> str:
        return f"{format_usd(self.base)} for {self.base_seconds} s + {format_usd(self.per_extra_second)}/extra s"


def seconds_of(value: Any) -> int:
    """Durations arrive as ``8`` (Sora) or ``"10"`` (Kling); money needs one form."""
    return int(str(value).rstrip("s"))
