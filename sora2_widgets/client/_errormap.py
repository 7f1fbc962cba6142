"""The package's errors from fal's answers: what went wrong, for which model and request, in plain words.

Every message passes through the client's :class:`~._redact.Secrets`: what the service says is
shown to the user, but never a key it echoed.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from .._catalog import ModelSpec, get_model
from .._errors import (
    AuthError,
    FieldError,
    JobCancelledError,
    ModelUnavailableError,
    RateLimitError,
    ServiceError,
    Sora2Error,
    ValidationError,
)
from ._models import Job
from ._redact import Secrets
from ._responses import Retryable, body_of, field_errors, message_and_type, names_unavailable, request_not_found

__all__ = ["Ctx", "ErrorMap"]


@dataclass
class Ctx:
    """What an error message needs to say: which model, which request, doing what."""

    spec: ModelSpec
    action: str
    request_id: str | None = None
    #: the request's own secrets (its api_key), scrubbed from whatever the service says
    secrets: tuple[str, ...] = ()


class ErrorMap:
    """Builds one client's exceptions; knows the host and where its key came from (never the key)."""

    def __init__(self, host: str, key_source: str | None, secrets: Secrets) -> None:
        self._host = host
        self._key_source = key_source
        self._secrets = secrets

    def context(self, job: Job, action: str) -> Ctx:
        return Ctx(get_model(job.model_id), action, job.request_id, self._secrets.of_job(job.request_id))

    def for_response(self, response: httpx.Response, ctx: Ctx) -> Sora2Error:
        """The exception for a non-retryable HTTP error answer."""
        code = response.status_code
        body = body_of(response)
        message, error_type = message_and_type(body)
        message = self._secrets.scrub(message, ctx.secrets)
        spec = ctx.spec
        if code in (401, 403):
            if self._secrets.key is None:
                return AuthError(
                    f"{self._host} asked for a fal key (HTTP {code}). Set FAL_KEY (https://fal.ai/dashboard/keys).",
                    status_code=code,
                )
            return AuthError(
                f"fal refused the key from {self._key_source} (HTTP {code}). "
                "Check it at https://fal.ai/dashboard/keys, or unset it to use the built-in emulator.",
                status_code=code,
                key_source=self._key_source,
            )
        if code == 422:
            # The field's name comes from the service's `loc` too: it is text the service chose.
            errors = [
                FieldError(self._secrets.scrub(e.field, ctx.secrets), self._secrets.scrub(e.message, ctx.secrets))
                for e in field_errors(body)
            ]
            if spec.is_sora and names_unavailable(message, error_type):
                return ModelUnavailableError(spec.id, spec.endpoint, status_code=code, reason=message[:200])
            return ValidationError(spec.id, errors, from_service=True)
        if code == 404 and ctx.request_id and request_not_found(message):
            return ServiceError(
                f"{spec.name}: request {ctx.request_id} is not known to the service "
                "(wrong id, or it expired). Nothing to wait for.",
                status_code=code,
                request_id=ctx.request_id,
                detail=self._secrets.scrub_detail(body, ctx.secrets),
            )
        # 404/410 means "no such endpoint" only where the URL is the endpoint's own (submit); on a
        # request's URLs it is the request that is unknown or expired.
        retired_endpoint = ctx.action == "submit" and code in (404, 410)
        if spec.is_sora and (retired_endpoint or (400 <= code < 500 and names_unavailable(message, error_type))):
            return ModelUnavailableError(spec.id, spec.endpoint, status_code=code, reason=message[:200])
        if code == 429:
            return RateLimitError(f"fal is rate-limiting requests ({spec.name}); try again shortly.")
        what = f" ({message})" if message else ""
        return ServiceError(
            f"{spec.name}: the {ctx.action} request failed with HTTP {code}{what}.",
            status_code=code,
            request_id=ctx.request_id,
            detail=self._secrets.scrub_detail(body, ctx.secrets),
        )

    def completed(self, job: Job, error: str, error_type: str | None, *, status_code: int | None = None) -> Sora2Error:
        """The exception for a job that finished with an error (COMPLETED + ``error``, or the
        service's error on its result URL)."""
        spec = get_model(job.model_id)
        secrets = self._secrets.of_job(job.request_id)
        error = self._secrets.scrub(error, secrets)
        # error_type may come from a header (X-Fal-Error-Type) or the status JSON: text the service chose.
        error_type = self._secrets.scrub(error_type, secrets) if error_type else error_type
        if spec.is_sora and names_unavailable(error, error_type):
            return ModelUnavailableError(spec.id, spec.endpoint, status_code=status_code, reason=error[:200])
        if (error_type or "") in ("client_cancelled", "cancelled", "request_cancelled") or "cancel" in error.lower():
            return JobCancelledError(job.request_id)
        return ServiceError(
            f"{spec.name} failed: {error}",
            status_code=status_code,
            request_id=job.request_id,
            detail={"error": error, "error_type": error_type},
            job_failed=True,
        )

    @staticmethod
    def exhausted(ctx: Ctx, last: Retryable, tries: int) -> Sora2Error:
        """The exception once retries ran out: the last failure, and what the service said with it."""
        about = f" for request {ctx.request_id}" if ctx.request_id else ""
        if last.status_code == 429:
            return RateLimitError(
                f"fal kept rate-limiting the {ctx.action} request{about} ({tries} tries); try again in a minute.",
                retry_after=last.retry_after,
            )
        tail = " The job is still recorded and can be resumed by its request id." if ctx.request_id else ""
        why = f"{last.why}: {last.message}" if last.message else last.why
        return ServiceError(
            f"{ctx.spec.name}: the {ctx.action} request{about} kept failing ({why}; {tries} tries).{tail}",
            status_code=last.status_code,
            request_id=ctx.request_id,
        )
