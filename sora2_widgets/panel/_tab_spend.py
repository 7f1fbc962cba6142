"""The Spend tab: total spent and budget left, a chart by model and by day, and the tables.

The frames are ``History.spend(by="model")`` and ``History.spend(by="day")``: indexed by
``model_id`` / ``day``, with ``total`` (exact ``Decimal`` USD: the ledger's estimate), ``unknown`` and
``possibly_charged``, and fal's side: ``provisional``, ``billed`` (over ``billed_count`` jobs) and
``difference``, shown once the ledger has any of them, "unknown" where a row has none (never $0);
their float ``*_usd`` twins exist for plotting elsewhere and are not shown.
People read model names and column headers (``_ledger.COLUMN_HEADERS``), not those names; money
made on the emulator is said to be simulated (it is priced like fal's and charged to nobody).
Until something is spent the tab says so in a sentence and draws no chart (an axis of zeros would
only show made-up ticks); an amount axis always starts at $0.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from .._pricing import format_usd
from ._controller import PanelController
from ._ledger import COLUMN_HEADERS, model_name
from ._widgets import HIDDEN, cls, esc, show

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["SpendTab", "spend_chart", "spend_figure"]


def _rows(frame: pd.DataFrame | None) -> int:
    return 0 if frame is None else len(frame)


def _table(frame: pd.DataFrame | None, *, max_rows: int = 200) -> str:
    """A spend frame as an escaped HTML table (``DataFrame.to_html`` would not escape everything we show)."""
    if frame is None or len(frame) == 0:
        return "<i>Nothing yet.</i>"
    frame = frame.reset_index()
    # The float *_usd columns exist for charts; the table shows the exact amounts.
    frame = frame[[c for c in frame.columns if not str(c).endswith("_usd")]]
    if not _has_billing(frame):
        # fal's figures appear once the ledger has any; until then four columns of "unknown" say nothing.
        frame = frame[[c for c in frame.columns if c not in _BILLING_HEADERS]]
    elif "total" in frame.columns:
        # Side by side: the estimate ("Spent"), then fal's figures, then the unknown submits.
        rest = [c for c in frame.columns if c not in _BILLING_HEADERS]
        at = rest.index("total") + 1
        frame = frame[[*rest[:at], *(c for c in _BILLING_HEADERS if c in frame.columns), *rest[at:]]]
    if "model_id" in frame.columns:
        frame = frame.assign(model_id=[model_name(str(m)) for m in frame["model_id"]])
    headers = {**COLUMN_HEADERS, **_BILLING_HEADERS}
    head = "".join(f"<th>{esc(headers.get(str(c), str(c)))}</th>" for c in frame.columns)
    body = []
    for row in frame.head(max_rows).itertuples(index=False):
        cells = []
        for name, value in zip(frame.columns, row, strict=True):
            num = (isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)) or name in _BILLING_HEADERS
            shown = _cell(str(name), value)
            cells.append(f'<td class="sw-num">{esc(shown)}</td>' if num else f"<td>{esc(shown)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="sw-table"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


#: fal's side of a spend frame → table headers (beside ``Spent``, the ledger's own estimate).
_BILLING_HEADERS = {
    "provisional": "Provisional (fal's units)",
    "billed": "Billed by fal",
    "billed_count": "Jobs billed",
    "difference": "Billed − spent",
}


def _has_billing(frame: pd.DataFrame) -> bool:
    known = [frame[c].notna().any() for c in ("provisional", "billed") if c in frame.columns]
    return bool(any(known))


def signed_usd(amount: Decimal) -> str:
    """``+$0.10`` / ``-$0.10``: a difference reads as one."""
    return ("-" if amount < 0 else "+") + format_usd(abs(amount))


def _cell(name: str, value: Any) -> Any:
    """What a table cell shows: money as dollars, an unknown amount as "unknown" (never $0)."""
    if value is None and name in ("provisional", "billed"):
        return "unknown"
    if value is None and name == "difference":
        return "—"
    if isinstance(value, Decimal):
        return signed_usd(value) if name == "difference" else format_usd(value)
    return value


def _series(frame: pd.DataFrame | None) -> tuple[list[str], list[float]]:
    """Labels (the index: model id or day) and exact totals of a spend frame, as chart input."""
    if frame is None or len(frame) == 0:
        return [], []
    return [str(v) for v in frame.index], [float(v) for v in frame["total"]]


def spend_chart(by_model: pd.DataFrame | None, by_day: pd.DataFrame | None) -> bytes:
    """Spend by model and by day as one PNG (Agg; no pyplot, so the user's backend is untouched);
    no bytes while nothing has been spent."""
    fig = spend_figure(by_model, by_day)
    if fig is None:
        return b""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", transparent=True)
    return buf.getvalue()


def spend_figure(by_model: pd.DataFrame | None, by_day: pd.DataFrame | None) -> Figure | None:
    """The chart's figure: spend by model beside spend by day; ``None`` while nothing was spent."""
    models, model_usd = _series(by_model)
    days, day_usd = _series(by_day)
    if not any(v > 0 for v in (*model_usd, *day_usd)):
        return None  # bars of $0 would sit on matplotlib's made-up -0.05…0.05 axis
    from matplotlib.figure import Figure

    fig = Figure(figsize=(640 / 96, 2.6), dpi=192)  # 640 CSS px wide, crisp on HiDPI screens
    fig.patch.set_alpha(0.0)  # transparent: the panel's own background shows through
    axes = fig.subplots(1, 2)
    _bars(axes[0], [model_name(m) for m in models], model_usd, "by model")
    _bars(axes[1], days, day_usd, "by day")
    fig.tight_layout()
    return fig


def _bars(ax: Any, labels: list[str], values: list[float], title: str) -> None:
    """One axis of the chart: horizontal bars by model (first on top), vertical bars by day."""
    # Mid grey reads at about the same contrast on white and on near-black (light and dark themes).
    ink, bar = "#777777", "#4f8fd6"
    # At least this many bar slots per axis: one bar must not fill the whole axis.
    min_slots = 3
    ax.set_facecolor("none")
    slots = range(len(labels))
    pad = max(0.0, (min_slots - len(labels)) / 2)
    if title == "by model":
        bars = ax.barh(list(slots), values, height=0.6, color=bar)
        ax.set_yticks(list(slots), labels)
        ax.set_ylim(-0.5 - pad, len(labels) - 0.5 + pad)
        ax.invert_yaxis()  # first model on top, as in the table below
    else:
        bars = ax.bar(list(slots), values, width=0.6, color=bar)
        ax.set_xticks(
            list(slots), labels, rotation=30 if len(labels) > 5 else 0, ha="right" if len(labels) > 5 else "center"
        )
        ax.set_xlim(-0.5 - pad, len(labels) - 0.5 + pad)
    if 0 < len(labels) <= 6:  # amounts on the bars while they fit; the tables below have them all
        ax.bar_label(bars, labels=[f"${v:,.2f}" for v in values], color=ink, fontsize=9, padding=2)
        # Room for the amount printed past the end of the longest bar.
        if title == "by model":
            ax.margins(x=0.2)
        else:
            ax.margins(y=0.2)
    # Amounts are never negative: the axis starts at $0, whatever room the margins asked for.
    if title == "by model":
        ax.set_xlim(left=0)
    else:
        ax.set_ylim(bottom=0)
    ax.set_title(f"Spend {title} (USD)", color=ink, fontsize=11)
    ax.tick_params(colors=ink, labelsize=9)
    for spine in ax.spines.values():
        spine.set_color(ink)


class SpendTab:
    """The Spend tab's widgets, redrawn from the controller's spend frames and budget."""

    def __init__(self, ctl: PanelController) -> None:
        self._ctl = ctl
        self.spend_summary = w.HTML()
        # Hidden until it has PNG bytes: an empty Image shows the browser's broken-image icon.
        # Shown at the figure's own size (640 px, 2x pixels), so its 9-11 pt text is not scaled down.
        from ._player import MediaPlayer  # anywidget loads with the tab, not with the panel

        # Streamed like the thumbnails (``_player.py``): the PNG is not widget state in a saved notebook.
        self.spend_chart = cls(
            MediaPlayer(b"", "image/png", kind="image", label="spend chart", width="640px"), "sw-spend-chart"
        )
        self.spend_chart.layout.width = "640px"
        self.spend_chart.layout.max_width = "100%"
        self.spend_chart.layout.display = HIDDEN
        self.spend_tables = w.HTML()
        self.box = cls(w.VBox([self.spend_summary, self.spend_chart, self.spend_tables]), "sw-spend")

    def draw(self) -> None:
        ctl = self._ctl
        by_model, by_day = ctl.spend_frames()
        self.spend_summary.value = f"<b>{esc(self._summary(by_model))}</b>"
        by_user = ctl.spend_by_user()
        if _rows(by_model) or _rows(by_day) or _rows(by_user):
            self.spend_tables.value = (
                f"<div class='sw-box-title'>By model</div>{_table(by_model)}"
                f"<div class='sw-box-title'>By day</div>{_table(by_day)}"
                + ("" if by_user is None else f"<div class='sw-box-title'>By person</div>{_table(by_user)}")
            )
        else:
            self.spend_tables.value = ""  # empty tables under headers would repeat the summary's sentence
        png = spend_chart(by_model, by_day)
        if png and self.spend_chart.source != png:
            self.spend_chart.set_source(png, "image/png")  # the bytes first, then show: never an empty image
        show(self.spend_chart, bool(png))

    def _summary(self, by_model: pd.DataFrame | None) -> str:
        ctl = self._ctl
        left = ctl.budget_left
        spent = ctl.spent()
        simulated = ctl.simulated_spent()
        summary = f"Total spent: {format_usd(spent)}" if spent else "Nothing spent yet"
        if simulated and simulated == spent:
            summary += " (simulated on the emulator: nothing was charged)"
        elif simulated:
            summary += (
                f" ({format_usd(spent - simulated)} on fal.ai, {format_usd(simulated)} simulated on the emulator)"
            )
        if left is not None and ctl.budget is not None:
            summary += f" · budget left: {format_usd(left)} of {format_usd(ctl.budget)}"
        count = 0 if by_model is None else int(by_model["unknown"].sum())
        if by_model is not None and count:
            maybe = sum(by_model["possibly_charged"], Decimal(0))
            summary += (
                f" · possibly charged: up to {format_usd(maybe)} for {count} job{'s' if count != 1 else ''}"
                " whose submit outcome is unknown (not counted above)"
            )
        return summary + _billed_summary(by_model)


def _billed_summary(by_model: pd.DataFrame | None) -> str:
    """fal's billed total beside the estimate, once the ledger has fal's figures; unknown is said so."""
    if by_model is None or "billed" not in by_model.columns or not _has_billing(by_model):
        return ""
    billed = [b for b in by_model["billed"] if b is not None]
    if not billed:
        return " · billed by fal: unknown yet (reconcile reads it with an admin key)"
    jobs = int(by_model["billed_count"].sum())
    diff = sum((d for d in by_model["difference"] if d is not None), Decimal(0))
    return (
        f" · billed by fal: {format_usd(sum(billed, Decimal(0)))} for {jobs} job{'s' if jobs != 1 else ''}"
        f" ({signed_usd(diff)} against the estimate)"
    )
