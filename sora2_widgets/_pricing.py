"""Money: the closed set of price-rule kinds, estimates before a job and the actual cost after it.

Pure and exact: every amount is a ``Decimal`` of US dollars, never a float. An estimate is a
range when the price depends on something the service decides (``resolution="auto"`` on Sora 2
Pro, Seedance's ``"auto"`` duration or aspect); it is a single value (low == high) whenever the
price is known up front.

A rule prices one :class:`Billed` (seconds, resolution, audio, frame size); the catalog lists
the ``Billed`` values a request may turn out to be, and the estimate spans their prices. The
kinds, as a catalog entry writes them (``"price": {"kind": ...}``):

* ``per_second``: USD per second of output, by resolution and by audio;
* ``base_plus_per_second``: a price for the first seconds, plus a price per extra second;
* ``flat``: one price per video;
* ``per_token``: USD per 1,000 tokens, tokens = width × height × seconds × 24 / 1024;
* ``remix_by_source``: USD per second of the remixed source video.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

__all__ = [
    "BasePlusPerSecond",
    "Billed",
    "CostEstimate",
    "Flat",
    "PerSecond",
    "PerToken",
    "PriceRule",
    "RemixBySource",
    "format_usd",
    "resolution_of",
    "rule_from_data",
    "seconds_of",
    "total",
]

CENT = Decimal("0.01")
#: Costs are kept to the micro-dollar (the ledger's unit): a token price has long fractions.
MICRO = Decimal("0.000001")


def format_usd(amount: Decimal) -> str:
    """``Decimal("0.4")`` → ``"$0.40"``; sub-cent amounts keep their digits (``$0.035``)."""
    if amount == amount.quantize(CENT):
        return f"${amount.quantize(CENT, rounding=ROUND_HALF_UP):,}"
    return f"${amount.normalize():,f}"


def plain_usd(amount: Decimal) -> str:
    """For machines (JSON, CSV): ``"0.40"``, and sub-cent digits kept (``"1.2096"``), never rounded away."""
    if amount == amount.quantize(CENT):
        return str(amount.quantize(CENT, rounding=ROUND_HALF_UP))
    return f"{amount.normalize():f}"


@dataclass(frozen=True)
class CostEstimate:
    """What a job will cost: ``low == high`` when exact, a range when the service decides.

    ``unconfirmed``: the price comes from a fact the catalog marks *to confirm* (sources disagree).
    """

    low: Decimal
    high: Decimal
    note: str = ""
    unconfirmed: bool = False

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
        text = format_usd(self.low) if self.is_exact else f"{format_usd(self.low)}–{format_usd(self.high)}"
        return f"{text} (unconfirmed price)" if self.unconfirmed else text

    def __add__(self, other: object) -> CostEstimate:
        if isinstance(other, CostEstimate):
            return CostEstimate(
                self.low + other.low, self.high + other.high, unconfirmed=self.unconfirmed or other.unconfirmed
            )
        if isinstance(other, (int, Decimal)) and not isinstance(other, bool):
            return CostEstimate(self.low + other, self.high + other, unconfirmed=self.unconfirmed)
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
    short = min(width, height)
    if short >= 2000:
        return "4k"
    if short >= 1000:
        return "1080p"
    return "720p" if short >= 600 else "480p"


def seconds_of(value: Any) -> int:
    """Durations arrive as ``8`` (Sora), ``"10"`` (Kling) or ``"8s"`` (Veo); money needs one form."""
    return int(str(value).removesuffix("s"))


@dataclass(frozen=True)
class Billed:
    """What one job is priced on. ``None`` where it is unknown (a size before the result)."""

    seconds: Decimal
    resolution: str | None = None
    audio: bool = False
    width: int | None = None
    height: int | None = None


class PriceRule(Protocol):
    """How one model is priced. ``describe()`` is the hint shown next to the model's name."""

    @property
    def reads(self) -> frozenset[str]:
        """The facts of :class:`Billed` this rule reads ("resolution", "audio", "size")."""
        ...

    def cost(self, billed: Billed) -> Decimal: ...

    def describe(self) -> str: ...


def _usd(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"a price must be written as text or a whole number (exact), got {value!r}")
    return Decimal(value)


@dataclass(frozen=True)
class Rate:
    """One row of a per-second table: a resolution (``"*"``: any) and audio (``None``: either)."""

    resolution: str
    audio: bool | None
    usd: Decimal


@dataclass(frozen=True)
class PerSecond:
    """A price per second of output, by resolution and by audio (most specific row wins)."""

    rates: tuple[Rate, ...]

    @property
    def reads(self) -> frozenset[str]:
        out = set()
        if any(r.resolution != "*" for r in self.rates):
            out.add("resolution")
        if any(r.audio is not None for r in self.rates):
            out.add("audio")
        return frozenset(out)

    def rate(self, resolution: str | None, audio: bool) -> Decimal:
        def fits(r: Rate) -> bool:
            return r.resolution in ("*", resolution) and r.audio in (None, audio)

        rows = sorted((r for r in self.rates if fits(r)), key=lambda r: (r.resolution == "*", r.audio is None))
        if rows:
            return rows[0].usd
        if resolution is None:
            # Resolution unknown even after the fact: the highest rate, never under-report.
            return max(r.usd for r in self.rates if r.audio in (None, audio))
        priced = ", ".join(dict.fromkeys(r.resolution for r in self.rates))
        raise ValueError(f"no price for resolution {resolution!r}; priced: {priced}")

    def cost(self, billed: Billed) -> Decimal:
        return self.rate(billed.resolution, billed.audio) * billed.seconds

    def describe(self) -> str:
        # "$0.20/s ($0.40/s with audio), @4k $0.40/s ($0.60/s with audio)": one part per resolution.
        parts = []
        for resolution in dict.fromkeys(r.resolution for r in self.rates):
            rows = {r.audio: r.usd for r in self.rates if r.resolution == resolution}
            plain = rows.get(None, rows.get(False))
            text = f"{format_usd(plain)}/s" if plain is not None else ""
            if True in rows:
                with_audio = f"{format_usd(rows[True])}/s with audio"
                text = f"{text} ({with_audio})" if text else with_audio
            parts.append(text if resolution == "*" else f"{text} @{resolution}")
        return ", ".join(parts)


@dataclass(frozen=True)
class BasePlusPerSecond:
    """A flat price for the first ``base_seconds`` plus a price per extra second (Kling 2.5)."""

    base: Decimal
    base_seconds: int
    per_extra_second: Decimal
    reads: frozenset[str] = frozenset()

    def cost(self, billed: Billed) -> Decimal:
        return self.base + self.per_extra_second * max(Decimal(0), billed.seconds - self.base_seconds)

    def describe(self) -> str:
        return f"{format_usd(self.base)} for {self.base_seconds} s + {format_usd(self.per_extra_second)}/extra s"


@dataclass(frozen=True)
class Flat:
    """One price per video, whatever its length."""

    usd: Decimal
    reads: frozenset[str] = frozenset()

    def cost(self, billed: Billed) -> Decimal:
        return self.usd

    def describe(self) -> str:
        return f"{format_usd(self.usd)}/video"


@dataclass(frozen=True)
class PerToken:
    """Token-metered (Seedance): tokens = width × height × seconds × 24 / 1024, priced per 1,000."""

    usd_per_1000: Decimal
    reads: frozenset[str] = frozenset({"size"})

    def tokens(self, billed: Billed) -> Decimal:
        if not billed.width or not billed.height:
            raise ValueError("a token price needs the video's width and height")
        return Decimal(billed.width * billed.height) * billed.seconds * 24 / 1024

    def cost(self, billed: Billed) -> Decimal:
        return (self.tokens(billed) * self.usd_per_1000 / 1000).quantize(MICRO, rounding=ROUND_HALF_UP)

    def describe(self) -> str:
        per_second = self.cost(Billed(Decimal(1), width=1280, height=720))
        return f"{format_usd(self.usd_per_1000)}/1k tokens (≈{format_usd(per_second)}/s at 1280x720)"


@dataclass(frozen=True)
class RemixBySource:
    """A remix: USD per second of the source video it keeps the length of."""

    usd_per_second: Decimal
    reads: frozenset[str] = frozenset()

    def cost(self, billed: Billed) -> Decimal:
        return self.usd_per_second * billed.seconds

    def describe(self) -> str:
        return f"{format_usd(self.usd_per_second)}/s"


def rule_from_data(data: Mapping[str, Any]) -> PriceRule:
    """A rule from a catalog entry's ``price`` object; an unknown kind or a bad field raises ``ValueError``."""
    kind = data.get("kind")
    if kind == "per_second":
        rows: Sequence[Mapping[str, Any]] = data["rates"]
        rates = tuple(Rate(str(r.get("resolution", "*")), r.get("audio"), _usd(r["usd"])) for r in rows)
        if not rates:
            raise ValueError("a per_second price needs at least one rate")
        return PerSecond(rates)
    if kind == "base_plus_per_second":
        return BasePlusPerSecond(_usd(data["base"]), int(data["base_seconds"]), _usd(data["per_extra_second"]))
    if kind == "flat":
        return Flat(_usd(data["usd"]))
    if kind == "per_token":
        return PerToken(_usd(data["usd_per_1000_tokens"]))
    if kind == "remix_by_source":
        return RemixBySource(_usd(data["usd_per_second"]))
    kinds = "per_second, base_plus_per_second, flat, per_token or remix_by_source"
    raise ValueError(f"price kind must be {kinds}, got {kind!r}")
