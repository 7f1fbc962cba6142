"""sora2-widgets: generate videos with OpenAI's Sora 2 (through fal.ai) from Jupyter.

The public surface is this module; everything else is private and may move.
"""

from __future__ import annotations

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
from .client import AsyncFalClient, Downloaded, FalClient, Job, LogLine, QueueUpdate, RetryPolicy
from .client._webhook_verify import verify_webhook as verify_webhook
from .emulator import Emulator
from .generator import Generation, Generator, Progress, generate, generate_many
from .history import History, HistoryRecord
from .panel import PanelController, Sora2Panel

__version__ = "0.1.0"

__all__ = [
    "MODELS",
    "AsyncFalClient",
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
    "Progress",
    "QueueUpdate",
    "RateLimitError",
    "RetryPolicy",
    "ServiceError",
    "Sora2Error",
    "Sora2Panel",
    "SubmitUncertainError",
    "UnknownModelError",
    "ValidationError",
    "VideoResult",
    "__version__",
    "estimate_cost",
    "generate",
    "generate_many",
    "get_model",
    "image_to_data_uri",
    "models_for",
    "total",
    "validate_input",
]
