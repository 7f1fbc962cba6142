"""Keys never leave through what the service says: the fal key and the job's own OpenAI key."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pydantic import SecretStr

import sora2_widgets as sw
from sora2_widgets.client._redact import Secrets, redact, safe_detail
from tests.client.conftest import Sleeps
from tests.client.fakefal import KEY, FakeFal


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_wrong_key_never_leaks_into_logs(fake: FakeFal, make_client: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    fake.fail(500, "status", times=2)

    async def main() -> None:
        async with make_client(use_stream=False) as client:
            await client.generate("sora2_text_to_video", prompt="hello")

    run(main())
    assert KEY not in caplog.text


OPENAI_KEY = "sk-proj-EchoedBack0123456789abcdef"


def _everything(err: BaseException) -> str:
    return " ".join([str(err), repr(err), repr(getattr(err, "detail", None)), repr(getattr(err, "errors", None))])


def test_the_users_openai_key_is_scrubbed_from_a_submit_error(fake: FakeFal, make_client: Any) -> None:
    fake.reject_api_key = "submit"

    async def main() -> None:
        async with make_client() as client:
            await client.submit("sora2_text_to_video", prompt="hello", api_key=OPENAI_KEY)

    with pytest.raises(sw.ServiceError) as info:
        run(main())
    assert "Incorrect API key provided: **********" in str(info.value)
    assert OPENAI_KEY not in _everything(info.value)


def test_the_users_openai_key_is_scrubbed_from_field_errors(fake: FakeFal, make_client: Any) -> None:
    fake.force_422 = [{"loc": ["body", "api_key"], "msg": f"invalid key {OPENAI_KEY}", "type": "value_error"}]

    async def main() -> None:
        async with make_client() as client:
            await client.submit("sora2_text_to_video", prompt="hello", api_key=OPENAI_KEY)

    with pytest.raises(sw.ValidationError) as info:
        run(main())
    assert "invalid key **********" in str(info.value) and OPENAI_KEY not in _everything(info.value)


@pytest.mark.parametrize("use_stream", [True, False], ids=["stream", "poll"])
def test_the_users_openai_key_is_scrubbed_from_the_jobs_logs_and_error(
    fake: FakeFal, make_client: Any, use_stream: bool
) -> None:
    # The model hands the key to OpenAI, OpenAI refuses it and says which key: in a log line,
    # in the COMPLETED status's error, and on the result URL.
    fake.reject_api_key = "job"
    updates: list[sw.QueueUpdate] = []

    async def main() -> None:
        async with make_client(use_stream=use_stream) as client:
            await client.generate("sora2_text_to_video", prompt="hello", api_key=OPENAI_KEY, on_update=updates.append)

    with pytest.raises(sw.ServiceError) as info:
        run(main())
    assert "Incorrect API key provided: **********" in str(info.value)
    assert OPENAI_KEY not in _everything(info.value)
    assert any("**********" in line.message for u in updates for line in u.logs)
    assert updates[-1].error and "**********" in updates[-1].error
    assert OPENAI_KEY not in repr(updates)


def test_the_users_openai_key_is_scrubbed_from_result_and_retry_errors(
    fake: FakeFal, make_client: Any, sleeps: Sleeps
) -> None:
    fake.result_error = (500, {"detail": f"Incorrect API key provided: {OPENAI_KEY}"}, {})
    errors: list[BaseException] = []

    async def main() -> None:
        async with make_client(use_stream=False) as client:
            job = await client.submit("sora2_text_to_video", prompt="hello", api_key=OPENAI_KEY)
            await client.wait(job)
            with pytest.raises(sw.ServiceError) as failed:
                await client.result(job)
            errors.append(failed.value)
            fake.fail(503, "status", times=100, body={"detail": f"upstream said: bad key {OPENAI_KEY}"})
            with pytest.raises(sw.ServiceError) as exhausted:
                await client.status(job)
            errors.append(exhausted.value)

    run(main())
    assert [("**********" in str(e)) for e in errors] == [True, True]
    assert all(OPENAI_KEY not in _everything(e) for e in errors)


def test_redact_replaces_secrets_and_anything_shaped_like_an_openai_key() -> None:
    data = {"a": ["the key sk-svcacct-ABCDEFGHIJKLMNOPQRST", {"b": "fal secret-1"}], "n": 3}
    assert redact(data, ("secret-1",)) == {"a": ["the key **********", {"b": "fal **********"}], "n": 3}
    assert redact("sk-short", ()) == "sk-short"  # too short to be a key


def test_the_echoed_input_is_dropped_from_error_details() -> None:
    body = {"input": {"api_key": "x"}, "detail": [{"loc": ["body"], "msg": "m", "input": "x", "ctx": {}}, "plain"]}
    assert safe_detail(body) == {"detail": [{"loc": ["body"], "msg": "m"}, "plain"]}


def test_secrets_cover_the_fal_key_and_each_jobs_own() -> None:
    secrets = Secrets(SecretStr("fal-key"))
    secrets.remember("r1", ("job-key",))
    secrets.remember("r2", ())
    assert secrets.of_job("r1") == ("job-key",) and secrets.of_job("r2") == ()
    assert secrets.scrub("fal-key job-key", secrets.of_job("r1")) == "********** **********"
    assert len(secrets.scrub("x" * 900)) == 500
    assert Secrets(None).every(("", "k")) == ("k",)


# -- every part of a secret, in any case (issue 16, class 8) -----------------------------------------
FAL = "falkey-5ecret-7f3a9c1e:d41d8cd98f00b204e980"
KEY_ID, KEY_SECRET = FAL.split(":")


@pytest.mark.parametrize(
    "echo",
    [
        FAL,
        FAL.upper(),
        FAL.lower(),
        KEY_SECRET,
        KEY_SECRET.upper(),
        KEY_ID,
        KEY_ID.swapcase(),
        FAL[:16],  # a server that truncates the key
        FAL[10:22],  # any 12 characters of it
        OPENAI_KEY.upper(),
        OPENAI_KEY.lower()[:16],
        OPENAI_KEY[5:17],
    ],
)
def test_every_part_of_a_secret_is_masked_in_any_case(echo: str) -> None:
    secrets = Secrets(SecretStr(FAL))
    said = f"Incorrect API key provided: {echo}; try again"
    scrubbed = secrets.scrub(said, (OPENAI_KEY,))
    assert scrubbed == "Incorrect API key provided: **********; try again"
    assert redact({"k": [said], echo: 1}, (FAL, OPENAI_KEY)) == {"k": [scrubbed], "**********": 1}


def test_short_or_unrelated_text_is_left_alone() -> None:
    # 11 characters of the key, or text that merely looks keyish, is not a secret.
    text = f"request {FAL[:11]} done; falkey is a word; a sk-8 skater"
    assert redact(text, (FAL,)) == text
    short = "abc:defgh"  # halves below MIN_PART are masked only as the whole key
    assert redact("abc and defgh and abc:defgh", (short,)) == "abc and defgh and **********"


def test_a_letter_that_lowers_to_two_characters_does_not_shift_the_mask() -> None:
    assert redact("İİ" + KEY_SECRET.upper() + "!", (FAL,)) == "İİ**********!"
