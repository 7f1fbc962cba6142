"""Issue 16 from the shell: history's filters and columns, secrets kept off the command line,
and the emulator's options refused before it starts."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cli_helpers import cli_env, run

from sora2_widgets import History
from tests._secrets import OPENAI_KEY


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def _ledger_with(home: Path, prompts: list[str]) -> list[int]:
    hist = History(home)
    common = {"model_id": "sora2_text_to_video", "endpoint": "fal-ai/sora-2/text-to-video", "mode": "text"}
    ids = [hist.add(**common, provider="emulator", prompt=p, status="completed", cost_micros=400_000) for p in prompts]
    hist.close()
    return ids


def _table(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.strip().splitlines()]


def test_history_shows_the_id_column_and_the_newest_rows_first(home: Path) -> None:
    ids = _ledger_with(home, ["first", "second", "third", "fourth"])
    res = run(home, "history", "--limit", "2")
    assert res.returncode == 0, res.stderr
    header, *rows = _table(res.stdout)
    assert header[0] == "id"
    # The two newest, newest first: what --source needs, and what --help promises.
    assert [int(r[0]) for r in rows] == [ids[3], ids[2]]
    assert "fourth" in rows[0] and "third" in rows[1]
    every = _table(run(home, "history").stdout)[1:]
    assert [int(r[0]) for r in every] == sorted(ids, reverse=True)


def test_history_csv_keeps_the_id(home: Path, tmp_path: Path) -> None:
    ids = _ledger_with(home, ["only"])
    out = tmp_path / "h.csv"
    assert run(home, "history", "--csv", str(out)).returncode == 0
    header, first = out.read_text().splitlines()[:2]
    assert header.split(",")[0] == "id" and first.split(",")[0] == str(ids[0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--status", "bogus"], "argument --status: invalid choice: 'bogus' (choose from 'submitted', 'in_queue'"),
        (["--limit", "-5"], "argument --limit: takes a whole number of 1 or more, got '-5'"),
        (["--limit", "0"], "argument --limit: takes a whole number of 1 or more, got '0'"),
        (["--limit", "ten"], "argument --limit: takes a whole number of 1 or more, got 'ten'"),
        (["--model", "sora3"], "argument --model: invalid choice: 'sora3' (choose from 'sora2_text_to_video'"),
    ],
)
def test_history_refuses_filters_that_cannot_match_instead_of_saying_no_generations(
    home: Path, args: list[str], message: str
) -> None:
    _ledger_with(home, ["kept"])
    res = run(home, "history", *args)
    assert res.returncode == 2 and message in res.stderr.strip().splitlines()[-1], res.stderr
    assert "No generations" not in res.stdout


def test_a_filter_that_matches_nothing_says_so_not_that_the_history_is_empty(home: Path) -> None:
    _ledger_with(home, ["kept"])
    res = run(home, "history", "--status", "failed")
    assert res.returncode == 0 and res.stdout.strip() == "No generations match these filters."


def _api_key_set(home: Path, history_id: int) -> bool:
    hist = History(home)
    try:
        return bool(hist.get(history_id).params.get("api_key_set"))
    finally:
        hist.close()


def test_the_openai_key_can_come_from_a_file_or_stdin_and_never_shows(home: Path, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"api_key": OPENAI_KEY}))
    res = run(home, "generate", "sora2_text_to_video", "A kite", "--param-file", str(secrets), "--json")
    assert res.returncode == 0, res.stderr
    assert _api_key_set(home, json.loads(res.stdout)["history_id"])
    piped = subprocess.run(
        [sys.executable, "-m", "sora2_widgets.cli", "generate", "sora2_text_to_video", "A kite", "--param-file", "-"],
        input=json.dumps({"api_key": OPENAI_KEY, "duration": 4}),
        capture_output=True,
        text=True,
        env=cli_env(home),
        timeout=180,
    )
    assert piped.returncode == 0, piped.stderr
    assert OPENAI_KEY not in res.stdout + res.stderr + piped.stdout + piped.stderr
    # Given twice (the file and the command line) is refused, naming both places, never the key.
    twice = run(home, "generate", "sora2_text_to_video", "x", "--param-file", str(secrets), "--param", "api_key=k")
    assert twice.returncode == 2
    assert f"api_key is given twice (--param-file {secrets} and --param); give it once" in twice.stderr
    assert OPENAI_KEY not in twice.stderr


def test_the_openai_key_can_come_from_the_environment_for_sora_models_only(home: Path) -> None:
    env = {"SORA2_WIDGETS_OPENAI_API_KEY": OPENAI_KEY}
    sora = run(home, "generate", "sora2_text_to_video", "A kite", "--json", env=env)
    assert sora.returncode == 0, sora.stderr
    assert _api_key_set(home, json.loads(sora.stdout)["history_id"])
    kling = run(home, "generate", "kling25_turbo_pro_text_to_video", "Waves", "--json", env=env)
    assert kling.returncode == 0, kling.stderr  # Kling has no api_key input: the variable is not for it
    assert not _api_key_set(home, json.loads(kling.stdout)["history_id"])
    assert OPENAI_KEY not in sora.stdout + sora.stderr + kling.stdout + kling.stderr


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        ("not json", "is not JSON (Expecting value at line 1 column 1)"),
        ("[1, 2]", 'must hold a JSON object of inputs, such as {"api_key": "sk-…"}'),
        ('{"duration": null}', "'duration' is null; leave it out to use the model's default"),
        ('{"duration": NaN}', "holds a number that is not finite (NaN or Infinity)"),
    ],
)
def test_a_param_file_that_is_not_a_json_object_of_values_is_a_usage_error(
    home: Path, tmp_path: Path, contents: str, message: str
) -> None:
    bad = tmp_path / "params.json"
    bad.write_text(contents)
    res = run(home, "generate", "sora2_text_to_video", "x", "--param-file", str(bad))
    assert res.returncode == 2 and message in res.stderr.strip().splitlines()[-1], res.stderr


# -- the emulator ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "99999"], "argument --port: takes a port from 1 to 65535, got '99999'"),
        (["--port", "0"], "argument --port: takes a port from 1 to 65535, got '0'"),
        (["--fps", "0"], "argument --fps: takes a frame rate from 1 to 120, got '0'"),
        (["--fps", "24.5"], "argument --fps: takes a frame rate from 1 to 120, got '24.5'"),
        (["--queue-delay", "nan"], "argument --queue-delay: takes a number of seconds of 0 or more, got 'nan'"),
        (["--latency", "-1"], "argument --latency: takes a number of seconds of 0 or more, got '-1'"),
        (["--status-error-rate", "2"], "argument --status-error-rate: takes a fraction from 0 to 1, got '2'"),
        (["--status-error-code", "200"], "argument --status-error-code: takes a 5xx status code, got '200'"),
        (["--fail-submits", "-1"], "argument --fail-submits: takes a whole number of 0 or more, got '-1'"),
        (["--log-level", "loud"], "argument --log-level: invalid choice: 'loud'"),
        (["--require-key", " "], "argument --require-key: must not be empty"),
        (["--require-key-file", "/no/such/file"], "argument --require-key-file: cannot read '/no/such/file'"),
        (["--require-key", "a", "--require-key-file", "b"], "not allowed with argument --require-key"),
    ],
)
def test_the_emulator_refuses_bad_options_before_it_starts(home: Path, args: list[str], message: str) -> None:
    res = run(home, "emulator", *args)
    assert res.returncode == 2, res.stderr
    assert message in res.stderr.strip().splitlines()[-1] and "Traceback" not in res.stderr
    assert "emulator (SIMULATED results)" not in res.stdout  # never started


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("how", ["file", "env"])
def test_the_emulator_takes_the_key_to_require_from_a_file_or_the_environment(
    home: Path, tmp_path: Path, how: str
) -> None:
    key = "emulator-key-kept-out-of-ps-0123"
    port = _free_port()
    argv = [sys.executable, "-m", "sora2_widgets.cli", "emulator", "--port", str(port), "--log-level", "warning"]
    env = cli_env(home)
    if how == "file":
        key_file = tmp_path / "key.txt"
        key_file.write_text(key + "\n")
        argv += ["--require-key-file", str(key_file)]
    else:
        env["SORA2_WIDGETS_EMULATOR_REQUIRE_KEY"] = key
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/fal-ai/sora-2/text-to-video"
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                without = httpx.post(url, json={"prompt": "x"}, timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[1]
        assert without.status_code == 401
        wrong = httpx.post(url, json={"prompt": "x"}, headers={"Authorization": "Key nope"}, timeout=5)
        assert wrong.status_code == 401
        right = httpx.post(url, json={"prompt": "x"}, headers={"Authorization": f"Key {key}"}, timeout=5)
        assert right.status_code == 200, right.text
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=60)
    assert key not in out + err and key not in " ".join(argv)


def _kept(home: Path, history_id: int) -> bool:
    hist = History(home)
    try:
        record = hist.get(history_id)
        return record.params.get("delete_video") is False
    finally:
        hist.close()


def test_a_sora_video_is_kept_for_remix_by_default_as_in_the_panel(home: Path) -> None:
    default = run(home, "generate", "sora2_text_to_video", "A kite", "--duration", "4", "--json")
    assert default.returncode == 0, default.stderr
    assert _kept(home, json.loads(default.stdout)["history_id"]), "kept unless the user says --no-keep"
    opted_out = run(home, "generate", "sora2_text_to_video", "A kite", "--duration", "4", "--no-keep", "--json")
    assert opted_out.returncode == 0, opted_out.stderr
    assert not _kept(home, json.loads(opted_out.stdout)["history_id"])
    both = run(home, "generate", "sora2_text_to_video", "A kite", "--keep", "--param", "delete_video=true")
    assert both.returncode == 2 and "delete_video is given twice" in both.stderr
    kling = run(home, "generate", "kling25_turbo_pro_text_to_video", "A kite", "--json")
    assert kling.returncode == 0, kling.stderr  # Kling has no delete_video: nothing is added


def _params(home: Path, history_id: int) -> dict[str, object]:
    hist = History(home)
    try:
        return dict(hist.get(history_id).params)
    finally:
        hist.close()


def test_live_models_from_the_shell_take_their_own_spelling_of_a_length(home: Path, tmp_path: Path) -> None:
    from PIL import Image

    veo = run(home, "generate", "veo31_text_to_video", "A kite", "--duration", "8", "--json")
    assert veo.returncode == 0, veo.stderr
    out = json.loads(veo.stdout)
    assert _params(home, out["history_id"])["duration"] == "8s" and out["cost_usd"] == "3.20"
    wrong = run(home, "generate", "veo31_text_to_video", "A kite", "--duration", "5")
    assert wrong.returncode == 2 and "duration must be 4s, 6s or 8s" in wrong.stderr
    still = tmp_path / "start.png"
    Image.new("RGB", (1280, 720), (10, 120, 200)).save(still)
    kling = run(home, "generate", "kling3_standard_image_to_video", "A kite", "--image", str(still), "--json")
    assert kling.returncode == 0, kling.stderr
    sent = _params(home, json.loads(kling.stdout)["history_id"])
    assert "start_image_url" in sent and "image_url" not in sent, sent
    seed = run(home, "generate", "seedance2_fast_text_to_video", "A kite", "--duration", "5", "--aspect-ratio", "16:9")
    assert seed.returncode == 0, seed.stderr
    as_json = run(home, "history", "--limit", "1", "--json")
    assert json.loads(as_json.stdout)[0]["cost_usd"] == "1.2096", "sub-cent money is kept for reports"
