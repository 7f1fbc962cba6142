"""A sweep's combinations: prompts × models × the grid's axes, each with a stable key.

A list (or tuple) value is an axis, anything else a fixed setting. A setting a model does not take
is **left out for that model** (and named in the combination's ``skipped``), instead of refusing the
sweep: comparing models that take different settings (Sora's ``resolution``, Kling's
``cfg_scale``) is what a sweep is for, and refusing would force one sweep per model. The
combinations that then coincide are one job. A name that *no* model in the sweep takes is refused:
that is a typo, not a difference between models. Nothing here validates values; ``_plan`` does.

``seconds=[4, 8]`` is the one axis that is not a model input: a length in whole seconds, sent as
each model's own ``duration`` spelling (``"4s"`` for Veo, ``"4"`` for Kling 3.0, ``4`` for Sora),
because a sweep across families has no single ``duration`` value they all take. A length a model
does not offer is sent as given, for the plan's validation to refuse by name.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._catalog import ModelSpec, get_model
from .._errors import ConfigError

__all__ = ["Combination", "combination_key", "default_name", "expand"]

#: Names the sweep sets itself: the prompts and models are the first two arguments.
_RESERVED = ("prompt", "model_id", "source")
#: The length axis in seconds, spelled per model as its ``duration``.
SECONDS = "seconds"


@dataclass(frozen=True)
class Combination:
    """One job of a sweep: its number (1-based, plan order), model, prompt and settings."""

    number: int
    model_id: str
    prompt: str
    #: The settings sent with the prompt (fixed and axis values this model takes).
    params: Mapping[str, Any]
    #: The grid's values for this job, axis by axis, as shown in its label and the plan.
    axes: Mapping[str, Any]
    #: Settings of the grid this model does not take, left out for it.
    skipped: tuple[str, ...] = ()
    key: str = field(default="")
    #: Which prompt (1-based) when the sweep has several; ``None`` with one.
    prompt_number: int | None = None

    def label(self) -> str:
        """``combination 3 (sora2_text_to_video, duration=12)``: how errors and captions name it."""
        parts = [self.model_id]
        if self.prompt_number is not None:
            parts.append(f"prompt {self.prompt_number}")
        parts += [f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in self.axes.items()]
        return f"combination {self.number} ({', '.join(parts)})"

    def request(self) -> dict[str, Any]:
        """What the generator is given: the prompt and the settings."""
        return {"prompt": self.prompt, **self.params}


def _keyable(value: object) -> object:
    # Images may be given as bytes, a path or a PIL image: the key needs their content, not their id().
    if isinstance(value, bytes | bytearray):
        return {"sha256": hashlib.sha256(value).hexdigest()}
    if isinstance(value, Path):
        return str(value)
    tobytes = getattr(value, "tobytes", None)
    if callable(tobytes):
        return {"sha256": hashlib.sha256(tobytes()).hexdigest()}
    raise TypeError(f"cannot key a {type(value).__name__}")


def combination_key(model_id: str, prompt: str, params: Mapping[str, Any], secret: frozenset[str]) -> str:
    """A stable key of one combination: the same model, prompt and settings give the same key in
    any process (secrets are left out: the key is stored in the ledger)."""
    shown = {k: v for k, v in params.items() if k not in secret}
    text = json.dumps(
        {"model": model_id, "prompt": prompt, "params": shown}, sort_keys=True, ensure_ascii=False, default=_keyable
    )
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def default_name(keys: Sequence[str]) -> str:
    """The name of a sweep given none: from its combinations, so the same sweep resumes itself."""
    return "sweep-" + hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:10]


def _as_list(value: object, what: str) -> list[Any]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise ConfigError(f"{what}=", f"must be a string or a non-empty list of strings, got {value!r:.60}")
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(f"{what}=", f"must hold non-empty strings only, got {item!r:.60}")
    if len(set(items)) != len(items):
        raise ConfigError(f"{what}=", "lists the same value twice; each one is a job already")
    return list(items)


def _axes(grid: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The grid as lists of values: an axis as given, a fixed setting as a list of one."""
    out: dict[str, list[Any]] = {}
    for name, value in grid.items():
        if name in _RESERVED:
            raise ConfigError(f"{name}=", "is set by the sweep itself (prompts and models are its first arguments)")
        if isinstance(value, list | tuple):
            if not value:
                raise ConfigError(f"{name}=", "is an empty list; give at least one value")
            seen: list[Any] = []
            for v in value:
                # 4 and 4.0 and True are different inputs (a bool is no number): compared with their type.
                if any(type(v) is type(s) and v == s for s in seen):
                    raise ConfigError(f"{name}=", f"lists {v!r:.40} twice; each value is a job already")
                seen.append(v)
            out[name] = list(value)
        else:
            out[name] = [value]
    return out


def expand(prompts: object, models: object, grid: Mapping[str, Any]) -> list[Combination]:
    """Every combination, prompts outermost, then models, then the axes in the order given.

    Raises (before anything is priced or sent) for empty or repeated prompts and models, an
    unknown model, and a setting no model of the sweep takes."""
    prompt_list = _as_list(prompts, "prompts")
    specs: list[ModelSpec] = [get_model(m) for m in _as_list(models, "models")]
    axes = _axes(grid)
    taken = {spec.id: frozenset(spec.input_model.model_fields) for spec in specs}
    if SECONDS in axes:
        if "duration" in axes:
            raise ConfigError("seconds=", "and duration= are the same setting; give one of them")
        for value in axes[SECONDS]:
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ConfigError("seconds=", f"takes whole seconds above 0 such as [4, 8], got {value!r:.40}")
        taken = {k: v | {SECONDS} if "duration" in v else v for k, v in taken.items()}
    for name in axes:
        if not any(name in fields for fields in taken.values()):
            known = sorted(set().union(*taken.values()) - {"prompt"})
            raise ConfigError(f"{name}=", f"is not a setting of any model in this sweep; they take {', '.join(known)}")
    varying = [n for n, values in axes.items() if len(values) > 1]
    out: list[Combination] = []
    seen: set[str] = set()
    for p_index, prompt in enumerate(prompt_list, 1):
        for spec in specs:
            fields = taken[spec.id]
            skipped = tuple(n for n in axes if n not in fields)
            names = [n for n in axes if n in fields]
            for values in itertools.product(*(axes[n] for n in names)):
                given = dict(zip(names, values, strict=True))
                params = {("duration" if n == SECONDS else n): _spelled(spec, n, v) for n, v in given.items()}
                key = combination_key(spec.id, prompt, params, spec.secret_fields)
                if key in seen:  # a skipped axis made two combinations one job
                    continue
                seen.add(key)
                # A length is shown as the duration it is (the value asked for, in seconds).
                shown = {("duration" if n == SECONDS else n): given[n] for n in varying if n in given}
                number = p_index if len(prompt_list) > 1 else None
                out.append(Combination(len(out) + 1, spec.id, prompt, params, shown, skipped, key, number))
    return out


def _spelled(spec: ModelSpec, name: str, value: Any) -> Any:
    if name != SECONDS:
        return value
    spelled = spec.duration_for(value)
    return value if spelled is None else spelled
