"""No client exception keeps the request body (issue 16, class 5).

The schemas refuse text that cannot be encoded before the client is reached; this is the client's
own guard behind them: a body that JSON cannot encode fails with a package error that holds no part
of the body (not in its message, args, repr, nor a chained ``__context__``), and nothing is sent.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import sora2_widgets as sw
from sora2_widgets import get_model
from tests._leak_check import exception_texts
from tests._secrets import OPENAI_KEY
from tests.client.fakefal import KEY, QUEUE, FakeFal


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"note": "a lone surrogate \udc80"}, "text that cannot be encoded as UTF-8, such as a lone surrogate"),
        ({"seed": float("nan")}, "ValueError: a value JSON cannot hold"),
        ({"seed": object()}, "TypeError: a value JSON cannot hold"),
    ],
)
def test_a_body_that_cannot_be_encoded_is_never_kept_in_the_error(extra: dict[str, Any], says: str) -> None:
    fake = FakeFal()
    spec = get_model("sora2_text_to_video")
    body = {"prompt": "a red fox in snow", "api_key": OPENAI_KEY, **extra}

    async def main() -> None:
        async with sw.AsyncFalClient(KEY, queue_url=QUEUE, transport=fake.transport()) as client:
            await client._submit(spec, body)  # past the schema, as a bug in it would let a body through

    with pytest.raises(sw.Sora2Error) as caught:
        asyncio.run(main())
    assert str(caught.value) == f"The POST request body could not be encoded as JSON ({says}); nothing was sent."
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    texts = " ".join(text for _, text in exception_texts(caught.value))
    assert OPENAI_KEY not in texts and "red fox" not in texts
    assert fake.seen == []  # nothing reached the service
