"""sora2-widgets: generate videos with OpenAI's Sora 2 (through fal.ai) from Jupyter.

The public surface is this module; everything else is private and may move.

The names are loaded on first use (PEP 562): ``import sora2_widgets`` stays as cheap as importing
fal_client, while the emulator (numpy, PyAV), pandas and ipywidgets load only when a name that
needs them is touched. Type checkers read the ``TYPE_CHECKING`` imports below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._catalog import MODELS, Mode, ModelSpec, estimate_cost, get_model, models_for, validate_input
    from ._errors import (
        AuthError,
        BudgetExceededError,
        ConfigError,
        FieldError,
        JobCancelledError,
        JobTimeoutError,
        LedgerError,
        ModelUnavailableError,
        RateLimitError,
        ServiceError,
        Sora2Error,
        SubmitUncertainError,
        UnknownModelError,
        ValidationError,
    )
    from ._images import image_to_data_uri
    from ._pricing import CostEstimate, total
    from ._results import VideoResult
    from .catalog._refresh import refresh_catalog
    from .client import AsyncFalClient, Downloaded, FalClient, Job, LogLine, QueueUpdate, RetryPolicy
    from .client._platform import AsyncPlatformClient
    from .client._platform_sync import PlatformClient
    from .client._webhook_verify import verify_webhook as verify_webhook
    from .emulator import Emulator
    from .experiments import Sweep, compare, sweep
    from .generator import Generation, Generator, Progress, generate, generate_many
    from .history import History, HistoryRecord
    from .panel import PanelController, Sora2Panel

__version__ = "0.1.0"

#: Each public name and the module (relative to this package) that defines it.
_WHERE: dict[str, str] = {
    **dict.fromkeys(
        ("MODELS", "Mode", "ModelSpec", "estimate_cost", "get_model", "models_for", "validate_input"), "._catalog"
    ),
    **dict.fromkeys(
        (
            "AuthError",
            "BudgetExceededError",
            "ConfigError",
            "FieldError",
            "JobCancelledError",
            "JobTimeoutError",
            "LedgerError",
            "ModelUnavailableError",
            "RateLimitError",
            "ServiceError",
            "Sora2Error",
            "SubmitUncertainError",
            "UnknownModelError",
            "ValidationError",
        ),
        "._errors",
    ),
    "image_to_data_uri": "._images",
    **dict.fromkeys(("CostEstimate", "total"), "._pricing"),
    "VideoResult": "._results",
    **dict.fromkeys(
        ("AsyncFalClient", "Downloaded", "FalClient", "Job", "LogLine", "QueueUpdate", "RetryPolicy"), ".client"
    ),
    "verify_webhook": ".client._webhook_verify",
    "AsyncPlatformClient": ".client._platform",
    "PlatformClient": ".client._platform_sync",
    "Emulator": ".emulator",
    "refresh_catalog": ".catalog._refresh",
    **dict.fromkeys(("Sweep", "compare", "sweep"), ".experiments"),
    **dict.fromkeys(("Generation", "Generator", "Progress", "generate", "generate_many"), ".generator"),
    **dict.fromkeys(("History", "HistoryRecord"), ".history"),
    **dict.fromkeys(("PanelController", "Sora2Panel"), ".panel"),
}

__all__ = [
    "MODELS",
    "AsyncFalClient",
    "AsyncPlatformClient",
    "AuthError",
    "BudgetExceededError",
    "ConfigError",
    "CostEstimate",
    "Downloaded",
    "Emulator",
    "FalClient",
    "FieldError",
    "Generation",
    "Generator",
    "History",
    "HistoryRecord",
    "Job",
    "JobCancelledError",
    "JobTimeoutError",
    "LedgerError",
    "LogLine",
    "Mode",
    "ModelSpec",
    "ModelUnavailableError",
    "PanelController",
    "PlatformClient",
    "Progress",
    "QueueUpdate",
    "RateLimitError",
    "RetryPolicy",
    "ServiceError",
    "Sora2Error",
    "Sora2Panel",
    "SubmitUncertainError",
    "Sweep",
    "UnknownModelError",
    "ValidationError",
    "VideoResult",
    "__version__",
    "compare",
    "estimate_cost",
    "generate",
    "generate_many",
    "get_model",
    "image_to_data_uri",
    "models_for",
    "refresh_catalog",
    "sweep",
    "total",
    "validate_input",
    "verify_webhook",
]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value  # loaded once: later lookups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
