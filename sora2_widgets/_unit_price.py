"""The provisional cost of a finished request: fal's billable units × the endpoint's unit price.

fal answers a result with ``x-fal-billable-units`` (what it will bill, in the endpoint's unit: a
second of output for every catalog model) and lists one unit price per endpoint
(``/models/pricing``): "proportional adjustments for resolution/length" are in the units, not
the price. The catalog's price rule gives that listed price: the cheapest rate of one second of
output, silent (a refreshed catalog's rule carries fal's current listing). The emulator derives its
listing the same way, so on it the provisional cost equals the catalog's cost of the job.

Pure, exact, no I/O. The provisional cost is what fal's header implies, not what fal billed: the
billing event (``History.reconcile``) is the truth, and may carry a discount or another price.
"""

from __future__ import annotations

from decimal import Decimal

from ._catalog import ModelSpec
from ._pricing import Billed

__all__ = ["catalog_unit_price", "provisional_cost"]


def catalog_unit_price(spec: ModelSpec) -> Decimal | None:
    """The price of one billing unit (a second of silent output) by the catalog's rule, or ``None``.

    The cheapest per-second rate over the durations and resolutions the model offers (a
    token-metered rule at 1280x720, the one size fal publishes for it). ``None`` when no offered
    choice has a price of its own: the provisional cost then stays unknown, never $0.
    """
    resolutions: tuple[str | None, ...] = spec.resolutions or (None,)
    rates: list[Decimal] = []
    for seconds in spec.durations:
        for res in resolutions:
            try:
                cost = spec.price.cost(Billed(Decimal(seconds), res, False, 1280, 720))
            except ValueError:
                continue
            rates.append(cost / seconds)
    return min(rates) if rates else None


def provisional_cost(spec: ModelSpec, units: Decimal | None) -> Decimal | None:
    """``units`` × the unit price: what fal's header says this request will cost (``None`` if unknown)."""
    if units is None:
        return None
    price = catalog_unit_price(spec)
    return None if price is None else units * price
