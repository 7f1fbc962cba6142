"""The package's errors: one plain sentence each, the facts as attributes, catchable as the builtins."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sora2_widgets._errors import (
    BudgetExceededError,
    FieldError,
    JobCancelledError,
    JobTimeoutError,
    ModelUnavailableError,
    Sora2Error,
    SubmitUncertainError,
    UnknownModelError,
    ValidationError,
)


def test_every_error_is_a_sora2error_with_a_title_and_its_message_as_str() -> None:
    errors: list[Sora2Error] = [
        ValidationError("m", [FieldError("duration", "must be 4 or 8")]),
        UnknownModelError("nope", ["a", "b"]),
        ModelUnavailableError("m", "fal-ai/x"),
        SubmitUncertainError("m", "fal-ai/x", "connection reset"),
        BudgetExceededError(budget=Decimal(1), spent=Decimal("0.5"), requested=Decimal("0.8")),
        JobCancelledError("req-1"),
        JobTimeoutError("req-1", 30.0, cancelled=False),
    ]
    titles = {type(e).__name__: e.title for e in errors}
    assert len(set(titles.values())) == len(errors), titles
    for e in errors:
        assert str(e) == e.message
        assert "\n" not in str(e)


def test_validation_error_names_the_field_and_is_a_value_error() -> None:
    e = ValidationError("sora2_text_to_video", [FieldError("duration", "must be 4, 8, 12, 16 or 20 seconds")])
    assert isinstance(e, ValueError)
    assert str(e) == "sora2_text_to_video: invalid input: duration: must be 4, 8, 12, 16 or 20 seconds"
    from_service = ValidationError("m", [], from_service=True)
    assert str(from_service) == "m: the service refused the input: no details given"


def test_a_field_message_that_already_names_its_field_is_not_prefixed_twice() -> None:
    assert str(FieldError("prompt", "prompt is too long")) == "prompt is too long"
    assert str(FieldError("", "something")) == "something"


def test_unknown_model_is_a_key_error_listing_the_known_ids() -> None:
    e = UnknownModelError("sora3", ["sora2_text_to_video"])
    assert isinstance(e, KeyError)
    with pytest.raises(KeyError):
        raise e
    assert "known models: sora2_text_to_video" in str(e)


def test_budget_message_says_what_is_left_and_that_nothing_was_sent() -> None:
    e = BudgetExceededError(budget=Decimal(5), spent=Decimal("4.50"), requested=Decimal("0.80"))
    assert "up to $0.80" in str(e) and "only $0.50 of the $5.00 budget is left" in str(e)
    assert "Nothing was sent" in str(e)
    overspent = BudgetExceededError(budget=Decimal(1), spent=Decimal(2), requested=Decimal("0.1"))
    assert "only $0.00" in str(overspent)


def test_timeout_is_a_timeout_error_and_says_whether_the_job_survives() -> None:
    kept = JobTimeoutError("r", 61.2, cancelled=False)
    assert isinstance(kept, TimeoutError)
    assert "within 61 s" in str(kept) and "can be resumed" in str(kept)
    assert "was cancelled on the service" in str(JobTimeoutError("r", 5, cancelled=True))


def test_submit_uncertain_warns_against_resubmitting() -> None:
    e = SubmitUncertainError("m", "fal-ai/sora-2/text-to-video", "read timeout")
    assert "read timeout" in str(e) and "not retried automatically" in str(e)
