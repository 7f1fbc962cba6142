"""Write the example notebooks in ``notebooks/`` from the cell sources below.

Why a script: the notebooks are reviewed as Python here (diffs of JSON notebooks are unreadable),
they are stored without outputs and with stable cell ids (so a re-run changes nothing unless a cell
changed), and ``tests/notebooks`` checks that the committed files are exactly what this writes.

    python tools/make_notebooks.py            # rewrite notebooks/*.ipynb
    python tools/make_notebooks.py --check    # exit 1 if a committed notebook differs
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

KERNEL = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}

Cell = tuple[str, str]  # ("md" | "code", source)

QUICKSTART: list[Cell] = [
    (
        "md",
        """\
# Sora 2 from Jupyter: the panel

The cell below opens the **sora2-widgets** panel. Where the videos come from:

* **No `FAL_KEY` in the environment** (as here on Binder): the built-in **emulator**. It is offline
  and free, answers exactly like fal.ai's queue API, and renders real MP4 videos with your prompt
  drawn on the frames. Everything below works the same way, so you can try it all safely.
* **`FAL_KEY` set before Jupyter started**: the real Sora 2 models on [fal.ai](https://fal.ai),
  billed to your fal account. The label at the top of the panel says which one you are talking to.

Never paste a key into a notebook cell: it would be saved with the notebook. Set it in the shell
(`export FAL_KEY=...`) and restart Jupyter, or paste it into the panel's *fal key* field and press
Enter (the field is cleared at once; the key is kept in memory only, never in the notebook).""",
    ),
    ("code", "import sora2_widgets as sw\n\npanel = sw.Sora2Panel()\npanel"),
    (
        "md",
        """\
## Making a video

1. **Pick a tab**: *Text → video*, *Image → video* or *Remix*. Each lists only the models of that
   mode; tick one or several to compare them on the same prompt.
2. **Write the prompt.** The counter shows the limit of your selection: 5000 characters for Sora,
   500 as soon as a non-Sora model (Kling) is ticked.
3. **Settings** follow the selection: Sora's duration (4, 8, 12, 16, 20 s) and aspect ratio
   appear only when a Sora model is ticked, the resolution only for a *Pro* model, Kling's own
   settings only for Kling.
4. **Keep for remix**: Sora deletes a video on the service side after delivery unless you ask it
   not to. Tick it if you may want to remix the video later; it then appears in the *Remix* tab.
5. **The cost label** is the exact price of what you are about to start (a range where the price
   depends on the result, e.g. *auto* resolution). Nothing is spent before you click **Generate**.
6. **Generate** starts one job per ticked model, concurrently. Each card shows the status, queue
   position, elapsed time and the latest log line, with a **Cancel** button; the video plays in
   the card as soon as it is ready, and is saved on disk.

## History and spend

Every job is recorded in a local history (SQLite under `~/.sora2_widgets`, or
`$SORA2_WIDGETS_HOME`) from the moment it is submitted, so nothing is lost if the kernel dies.
The *History* tab shows it as a table, the *Spend* tab shows the money by model and by day.
Set `SORA2_WIDGETS_BUDGET=25` (USD) in the environment to refuse jobs beyond a budget.

## Next

* [02_prompt_experiments.ipynb](02_prompt_experiments.ipynb): a sweep of prompts × models ×
  durations without the panel, with a side-by-side grid of the results and their costs.
* [03_spend_report.ipynb](03_spend_report.ipynb): spend by model and by day, with charts, exported
  to CSV.""",
    ),
]

EXPERIMENTS: list[Cell] = [
    (
        "md",
        """\
# Prompt experiments: prompts × models × durations

A sweep is every combination of a few prompts, models and settings, run as one: `sw.sweep` checks
and prices each combination before anything is sent, runs them concurrently, and records them in
the ledger under the sweep's name, so running the same cell again resumes instead of paying twice.
`sw.compare` then lays the videos out side by side, plays them in step, and keeps your stars and
notes in the ledger. Without `FAL_KEY` this runs on the free built-in emulator.

The sweep is kept small (4 and 8 s, 720p) so that it stays quick and, on fal.ai, cheap. Check the
plan and the estimate below before running it against the real service.""",
    ),
    (
        "code",
        """\
import sora2_widgets as sw

PROMPTS = [
    "A paper boat drifting down a rain-soaked street at dusk, cinematic",
    "A hummingbird hovering over a red flower, slow-motion macro shot",
]
MODELS = ["sora2_text_to_video", "sora2_text_to_video_pro"]

# A list is an axis of the grid; a single value is the same for every job.
# resolution: the Pro model's default is 1080p, at $0.50/s instead of $0.30/s.
experiment = sw.sweep(PROMPTS, MODELS, name="boat-and-bird", duration=[4, 8], resolution="720p")
experiment.plan[["model_id", "prompt", "duration", "est_high_usd"]]""",
    ),
    ("code", 'print(f"{len(experiment)} videos, at most ${experiment.estimate.high:.2f} on fal.ai")'),
    (
        "md",
        """\
## Run it

One failure does not sink the others, and the budget is checked for the whole sweep before the
first job is sent. Run the cell again: the jobs already done are skipped.""",
    ),
    (
        "code",
        """\
results = experiment.run(budget=20, max_concurrency=8)
print(f"{(results['status'] == 'completed').sum()} of {len(results)} videos ready")
results[["model_id", "prompt", "duration", "status", "cost_usd", "seconds"]]""",
    ),
    (
        "md",
        """\
## Side by side

One row per prompt, one column per model. Play, pause and the position bar move every video
together; the sound comes from the video under the pointer. Click a video to enlarge it. The stars
and notes under each video are saved to the ledger as you set them.""",
    ),
    ("code", 'sw.compare(experiment, rows="prompt", cols="model")'),
    (
        "md",
        """\
Any two columns make a grid, and `where` narrows it: here the Pro model's videos, by duration.""",
    ),
    (
        "code",
        """\
sw.compare(experiment, rows="prompt", cols="duration", where={"model": "sora2_text_to_video_pro"})""",
    ),
    (
        "md",
        """\
## What it cost, and what you thought

Ratings and notes live in the ledger (`History().df`'s `rating` and `notes`), so they are here after
a kernel restart, and the History tab of the panel can filter by them.""",
    ),
    (
        "code",
        """\
results = experiment.results
print(f"Spent on this sweep: ${results['cost_usd'].sum():.2f}")
results.pivot_table(
    index="prompt", columns=["model_id", "duration"], values="cost_usd", aggfunc="sum", margins=True
)""",
    ),
    ("code", 'experiment.results[["model_id", "prompt", "duration", "rating", "notes"]]'),
]

SPEND: list[Cell] = [
    (
        "md",
        """\
# Spend report

Everything the panel and `sw.generate` start is recorded in the history (`sw.History()`), with
the exact price of each job. This notebook sums it by model and by day, charts it, and exports
it to CSV for a spreadsheet or an expense report.""",
    ),
    (
        "code",
        """\
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.ticker import StrMethodFormatter

import sora2_widgets as sw

hist = sw.History()
print(hist)""",
    ),
    (
        "md",
        """\
On a fresh emulator (e.g. on Binder) the history is empty: the next cell then makes three short
demo videos, for free, so that there is something to report. With a real `FAL_KEY` it does
nothing.""",
    ),
    (
        "code",
        """\
with sw.FalClient() as client:
    on_emulator = client.provider == "emulator"
if hist.df.empty and on_emulator:
    sw.generate_many(
        [
            {"model_id": "sora2_text_to_video", "prompt": "A lighthouse in a storm", "duration": 4},
            {"model_id": "sora2_text_to_video", "prompt": "A lighthouse at dawn", "duration": 8},
            {"model_id": "sora2_text_to_video_pro", "prompt": "A lighthouse at night", "duration": 4,
             "resolution": "720p"},
        ]
    )
df = hist.df
print(f"{len(df)} generations, ${hist.total_spent():.2f} spent in total")
df[["created_at", "model_id", "status", "duration", "cost_usd", "prompt"]].tail(10)""",
    ),
    (
        "md",
        """\
## What fal billed

Each job's cost above is the catalog's price of what was made: our estimate. fal says two more
things: the *provisional* cost (the billable units its result announced × the unit price, recorded
with the result) and the *billed* cost (its billing event, exact). `hist.reconcile()` reads the
billing events; on fal it needs `FAL_ADMIN_KEY`, a key with ADMIN scope, and asks only about jobs
that finished at least 5 minutes ago. Without it the billed cost stays unknown, never $0.""",
    ),
    (
        "code",
        """\
import datetime as dt

try:
    # The emulator bills at once; fal records a billing event up to about 5 minutes after a job.
    report = hist.reconcile(settle=dt.timedelta(0) if on_emulator else dt.timedelta(minutes=5))
    print("\\n".join(report.lines()))
except (sw.ConfigError, sw.AuthError) as exc:  # no admin key: one sentence, nothing becomes $0
    print(exc)""",
    ),
    ("md", "## By model"),
    ("code", 'by_model = hist.spend(by="model")\nby_model'),
    ("md", "## By day (UTC)"),
    ("code", 'by_day = hist.spend(by="day")\nby_day'),
    (
        "md",
        """\
## Estimated, provisional and billed, side by side

`estimated` is the ledger's cost (`total`); `billed` is summed over `billed_count` jobs, and
`difference` is billed − estimated over those jobs. "unknown" means fal's figure is not in (yet).""",
    ),
    (
        "code",
        """\
columns = ["count", "total", "provisional", "billed", "billed_count", "difference"]
hist.spend(by="model")[columns].rename(columns={"total": "estimated"}).fillna("unknown")""",
    ),
    (
        "code",
        """\
fig, (ax_model, ax_day) = plt.subplots(1, 2, figsize=(11, 3.5), constrained_layout=True)
by_model["total_usd"].plot.barh(ax=ax_model, color="#4c78a8")
ax_model.set_title("Spend by model")
ax_model.set_xlabel("USD")
ax_model.xaxis.set_major_formatter(StrMethodFormatter("${x:,.2f}"))
by_day["total_usd"].plot.bar(ax=ax_day, color="#f58518", rot=0)
ax_day.set_title("Spend by day (UTC)")
ax_day.set_ylabel("USD")
ax_day.yaxis.set_major_formatter(StrMethodFormatter("${x:,.2f}"))
plt.show()""",
    ),
    (
        "md",
        """\
## Export

The CSV keeps the exact amounts as integer micro-dollars (`cost_micros`) next to the float
`cost_usd`, and the parameters of each job as JSON. No key or secret is ever in the history.""",
    ),
    (
        "code",
        """\
export_dir = Path("exports")
export_dir.mkdir(exist_ok=True)
history_csv = hist.to_csv(export_dir / "history.csv")
by_model.to_csv(export_dir / "spend_by_model.csv")
by_day.to_csv(export_dir / "spend_by_day.csv")
for path in sorted(export_dir.glob("*.csv")):
    print(f"{path}  ({path.stat().st_size} bytes)")""",
    ),
]

BOOKS: dict[str, list[Cell]] = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_prompt_experiments.ipynb": EXPERIMENTS,
    "03_spend_report.ipynb": SPEND,
}


def build(name: str, cells: list[Cell]) -> nbformat.NotebookNode:
    nb = new_notebook(metadata=KERNEL)
    stem = name.split("_", 1)[0]
    for i, (kind, source) in enumerate(cells):
        cell = new_markdown_cell(source) if kind == "md" else new_code_cell(source)
        cell["id"] = f"nb{stem}-{i:02d}"  # stable ids: regenerating must not churn the diff
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render(name: str, cells: list[Cell]) -> str:
    return nbformat.writes(build(name, cells)) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, cells in BOOKS.items():
        path = NOTEBOOKS / name
        text = render(name, cells)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date (run python tools/make_notebooks.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
