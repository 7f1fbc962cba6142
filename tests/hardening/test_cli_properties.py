"""Properties of the command line's argument parsing over generated argv (issue 16).

``sora2_widgets.cli.parse_args`` (and, for ``generate``, the conversion of its options into a
checked request: ``checked_request``) either succeeds, or ends in argparse's exit 2 with one
error line, or raises an error of the package whose message is one line. The emulator's parser
likewise. No secret typed on the command line ever appears in what is printed.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

import sora2_widgets as sw
from sora2_widgets import cli
from sora2_widgets.emulator._serve import build_parser as emulator_parser
from sora2_widgets.emulator._serve import required_key
from tests._secrets import OPENAI_KEY
from tests.hardening._garbage import FILES, any_char, tricky_text
from tests.hardening._profile import examples
from tests.hardening.test_validation_properties import assert_clean_refusal

MODEL_IDS = [m.id for m in sw.MODELS]
INPUT_NAMES = sorted({n for m in sw.MODELS for n in m.input_model.model_fields})

# A token of argv: what a shell hands over, lone surrogates included (undecodable bytes arrive so).
token = st.one_of(st.text(any_char, max_size=12), tricky_text)
number_text = st.one_of(
    st.integers(-30, 30).map(str), st.floats(allow_nan=True).map(repr), st.sampled_from(["4", "8.0", "10", "0.5"])
)
value = st.one_of(token, number_text, st.sampled_from(["16:9", "9:16", "720p", "auto", "sora-2", "1", "$5", "1,500"]))
param_value = st.one_of(
    value,
    st.sampled_from(['["a","b"]', "[1", "null", "NaN", "true", '"8"', "8", "{}", '{"a": 1}', ""]),
)
image = st.one_of(
    token,
    st.sampled_from(
        [str(FILES / n) for n in ("good.png", "cut.png", "text.png", "folder.png", "missing.png", "bitmap.bmp")]
        + ["data:text/plain,hello", "https://example.com/a.png", "ftp://x/y.png", "data:image/png;base64,AAAA"]
    ),
)

# What a typed option must never read as "not given" (issue 16: --duration null became 4 s).
nullish = st.sampled_from(["null", "None", "", " ", "nan", "NaN", "true", "[]", "{}", '""'])
GENERATE_OPTIONS: dict[str, st.SearchStrategy[str] | None] = {
    "--duration": st.one_of(number_text, nullish, value),
    "--aspect-ratio": value,
    "--resolution": value,
    "--image": image,
    "--source": st.one_of(number_text, nullish, value),
    "--video-id": value,
    "--negative-prompt": token,
    "--cfg-scale": st.one_of(number_text, nullish, value),
    "--budget": st.one_of(nullish, value),
    "--keep": None,
    "--json": None,
    "--quiet": None,
    "--param": st.builds(
        lambda k, v: f"{k}={v}", st.one_of(st.sampled_from(INPUT_NAMES), st.text(any_char, max_size=6)), param_value
    ),
    "--param-file": st.one_of(token, st.sampled_from([str(FILES / "text.png"), str(FILES / "folder.png")])),
}


def _units(options: dict[str, st.SearchStrategy[str] | None]) -> st.SearchStrategy[list[str]]:
    """One option as argv tokens: ``[--flag]``, ``[--opt, value]``, ``[--opt=value]``, or stray tokens."""

    def unit(name: str) -> st.SearchStrategy[list[str]]:
        values = options[name]
        if values is None:
            return st.just([name])
        return st.one_of(st.tuples(st.just(name), values).map(list), values.map(lambda v: [f"{name}={v}"]))

    named = st.sampled_from(sorted(options)).flatmap(unit)
    stray = st.lists(token, min_size=1, max_size=2)  # a word where none belongs: one in eight units
    return st.one_of(*[named] * 7, stray)


def _argv(units: st.SearchStrategy[list[str]], head: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    return st.builds(lambda h, us: h + [t for u in us for t in u], head, st.lists(units, max_size=5)).filter(
        # --help prints the help and exits 0: tested in tests/cli; here it would only stop the parse.
        lambda argv: not any(t.startswith("-h") or t.startswith("--h") for t in argv)
    )


#: Named options and the input each fills.
NAMED = {
    "--duration": "duration",
    "--aspect-ratio": "aspect_ratio",
    "--resolution": "resolution",
    "--image": "image_url",
    "--source": "source",
    "--video-id": "video_id",
    "--negative-prompt": "negative_prompt",
    "--cfg-scale": "cfg_scale",
    "--keep": "delete_video",
}
#: Values a model takes, so that some argv get past the parser and exercise the request check.
PLAUSIBLE: dict[str, st.SearchStrategy[str] | None] = {
    "--duration": st.sampled_from(["4", "8", "12", "5", "10", "8.0"]),
    "--aspect-ratio": st.sampled_from(["16:9", "9:16", "auto", "1:1"]),
    "--resolution": st.sampled_from(["720p", "1080p", "auto"]),
    "--image": st.sampled_from([str(FILES / "good.png"), "https://example.com/a.png"]),
    "--video-id": st.just("video_123"),
    "--cfg-scale": st.sampled_from(["0", "0.5", "1"]),
    "--budget": st.sampled_from(["5", "$12.50", "0"]),
    "--keep": None,
    "--param": st.sampled_from(["model=sora-2", "detect_and_block_ip=true", 'character_ids=["c1"]', "cfg_scale=0.2"]),
}
generate_argv = _argv(
    st.one_of(_units(GENERATE_OPTIONS), _units(PLAUSIBLE), st.just(["--param", f"api_key={OPENAI_KEY}"])),
    st.tuples(
        st.one_of(*[st.sampled_from(MODEL_IDS)] * 5, token),
        st.one_of(token, st.sampled_from(["A paper boat on a rainy street", "Waves at dusk"])),
    ).map(lambda mp: ["generate", *mp]),
)
other_argv = _argv(
    _units(
        {
            "--status": st.one_of(value, st.sampled_from(["completed", "unknown", "bogus"])),
            "--limit": st.one_of(number_text, value),
            "--model": st.one_of(st.sampled_from(MODEL_IDS), value),
            "--csv": token,
            "--by": st.one_of(st.sampled_from(["model", "day", "mode", "provider"]), value),
            "--since": st.one_of(st.sampled_from(["2026-01-01", "2026-13-01", "last week"]), value),
        }
    ),
    st.sampled_from([["history"], ["spend"], ["emulator"], ["frobnicate"], []]),
)
emulator_argv = _argv(
    _units(
        {
            name: st.one_of(number_text, value, st.sampled_from(["0", "65535", "99999", "-1", "nan", "1e3"]))
            for name in (
                "--port",
                "--fps",
                "--queue-delay",
                "--progress-time",
                "--queue-depth",
                "--latency",
                "--fail-submits",
                "--retry-after",
                "--status-error-rate",
                "--status-error-code",
                "--drop-streams",
                "--truncate-downloads",
                "--slow-result",
                "--retired-status",
                "--seed",
                "--render-workers",
                "--log-level",
                "--require-key",
                "--require-key-file",
            )
        }
    ),
    st.just([]),
)


def parse(parse_fn: Any, argv: list[str]) -> tuple[Any, int | None, str]:
    """``parse_fn(argv)``: its result, or the exit code argparse chose, and what it printed."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            return parse_fn(argv), None, err.getvalue()
        except SystemExit as exc:
            return None, exc.code if isinstance(exc.code, int) else -1, err.getvalue()


def assert_one_line_usage_error(code: int | None, printed: str) -> None:
    assert code == 2, (code, printed)
    last = printed.rstrip("\n").splitlines()[-1]
    # argparse prints the usage, then one "prog: error: message" line: the message is that line.
    assert ": error: " in last, printed
    assert printed.count(": error: ") == 1 and printed.endswith(last + "\n")
    assert last.isprintable(), last
    assert OPENAI_KEY not in printed


@pytest.mark.usefixtures("no_openai_key_env")
@examples(300)
@given(argv=generate_argv)
def test_generate_arguments_parse_into_a_checked_request_or_a_one_line_refusal(argv: list[str]) -> None:
    args, code, printed = parse(cli.parse_args, argv)
    if args is None:
        event("refused by argparse")
        assert_one_line_usage_error(code, printed)
        return
    assert args.command == "generate" and isinstance(args.params, dict)
    assert args.params["prompt"] == argv[2]
    # Every option given is in the request: none was read as "not given" (--duration null → 4 s).
    for option, name in NAMED.items():
        if option == "--image":
            name = _start_frame(argv[1]) if argv[1] in MODEL_IDS else "image_url"
        if any(t == option or t.startswith(option + "=") for t in argv):
            assert name in args.params and args.params[name] is not None, (option, args.params)
    try:
        spec, params, estimate = cli.checked_request(args)
    except Exception as exc:
        event(f"refused: {type(exc).__name__}")
        assert_clean_refusal(exc)
        return
    event("accepted")
    # Accepted: every value is one the model takes, exactly as given (no null became a default).
    assert spec.id == args.model
    if estimate is not None:
        assert 0 <= estimate.low <= estimate.high
    if "duration" in params:
        assert params["duration"] is not None and not isinstance(params["duration"], bool)


def _start_frame(model: str) -> str:
    """The input ``--image`` fills: the model's start frame (``start_image_url`` for Kling 3.0)."""
    fields = sw.get_model(model).image_fields
    return fields[0] if fields else "image_url"


TYPED = ["--duration", "--cfg-scale", "--source", "--budget", "--image", "--param"]


@pytest.mark.usefixtures("no_openai_key_env")
@examples(160)
@given(
    model=st.sampled_from(MODEL_IDS),
    option=st.sampled_from(TYPED),
    raw=st.one_of(nullish, number_text, value),
    key=st.sampled_from(INPUT_NAMES),
    joined=st.booleans(),
)
def test_a_typed_option_is_read_as_given_or_refused_never_dropped(
    model: str, option: str, raw: str, key: str, joined: bool
) -> None:
    given_value = f"{key}={raw}" if option == "--param" else raw
    tokens = [f"{option}={given_value}"] if joined else [option, given_value]
    args, code, printed = parse(cli.parse_args, ["generate", model, "A paper boat", *tokens])
    if args is None:
        assert_one_line_usage_error(code, printed)
        return
    name = key if option == "--param" else {"--image": _start_frame(model)}.get(option, option[2:].replace("-", "_"))
    if option == "--budget":
        assert args.budget is not None and args.budget >= 0  # a Decimal from the one amount parser
        return
    assert name in args.params and args.params[name] is not None, (tokens, args.params)
    if option != "--param" or name == "prompt":
        return
    # A --param value is JSON when it parses as JSON, text otherwise: never a guess in between.
    got = args.params[name]
    assert isinstance(got, (str, int, float, bool, list, dict)) and not (isinstance(got, float) and got != got)


@examples(120)
@given(argv=other_argv)
def test_history_spend_and_unknown_commands_parse_or_refuse_in_one_line(argv: list[str]) -> None:
    args, code, printed = parse(cli.parse_args, argv)
    if args is None:
        assert_one_line_usage_error(code, printed)
        return
    if args.command == "history":
        assert args.limit >= 1
        assert args.status is None or args.status in ("submitted", "in_queue", "in_progress", "completed",
                                                      "failed", "cancelled", "unavailable", "unknown")  # fmt: skip
        assert args.model is None or args.model in MODEL_IDS
    elif args.command == "spend":
        assert args.by in ("model", "day", "mode", "provider")


@pytest.mark.usefixtures("no_openai_key_env")
@examples(120)
@given(argv=emulator_argv)
def test_emulator_arguments_are_in_range_or_refused_in_one_line_before_starting(argv: list[str]) -> None:
    def parse_all(a: list[str]) -> Any:
        parser = emulator_parser()
        args = parser.parse_args(a)
        return args, required_key(args, parser)

    result, code, printed = parse(parse_all, argv)
    if result is None:
        assert_one_line_usage_error(code, printed)
        return
    args, key = result
    assert 1 <= args.port <= 65535 and 1 <= args.fps <= 120
    assert 500 <= args.status_error_code <= 599 and 0 <= args.status_error_rate <= 1
    for seconds in (args.queue_delay, args.progress_time, args.latency, args.retry_after, args.slow_result):
        assert 0 <= seconds < float("inf")
    assert key is None or key.strip()


@pytest.fixture
def no_openai_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cli.OPENAI_KEY_ENV, raising=False)
    monkeypatch.delenv("SORA2_WIDGETS_EMULATOR_REQUIRE_KEY", raising=False)
