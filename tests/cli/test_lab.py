"""``sora2-widgets lab``: JupyterLab really starts on the quickstart, with the user's JupyterLab options,
as root too (containers and CI), and an installed wheel carries the notebook it opens."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from cli_helpers import REPO, cli_env

from sora2_widgets.cli import lab_command, parse_args

NOTEBOOKS = ("01_quickstart.ipynb", "02_prompt_experiments.ipynb", "03_spend_report.ipynb")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """However the test ended: nothing of the server may outlive it."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def _served(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> httpx.Response:
    """``url``'s answer once JupyterLab is up (it can take minutes on two busy cores)."""
    deadline = time.monotonic() + 240
    answer: httpx.Response | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"sora2-widgets lab exited {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            answer = httpx.get(url, timeout=10)
            if answer.status_code == 200:
                return answer
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} never answered 200 ({answer}):\n{log_path.read_text()[-4000:]}")


def test_lab_opens_the_quickstart_in_the_data_folder_and_prints_its_url(tmp_path: Path) -> None:
    home, runtime, cwd = tmp_path / "home", tmp_path / "jupyter-runtime", tmp_path / "checkout"
    cwd.mkdir()
    port = _free_port()
    env = cli_env(home, {"JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config")})
    # The user's JupyterLab options, then one after "--" (no token, so this test can read the API).
    cmd = [sys.executable, "-m", "sora2_widgets.cli", "lab", "--no-browser", "--port", str(port)]
    cmd += ["--ServerApp.port_retries=0", "--", "--IdentityProvider.token="]
    log_path = tmp_path / "lab.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _served(f"http://127.0.0.1:{port}/api/status", proc, log_path)
        # The URL a person is told to open (with --no-browser) is the quickstart's, not the Launcher's.
        deadline = time.monotonic() + 60
        printed: list[str] = []
        while not printed and time.monotonic() < deadline:
            printed = re.findall(rf"http://127\.0\.0\.1:{port}/\S+", log_path.read_text())
            time.sleep(0.2)
        assert printed, log_path.read_text()[-4000:]
        page = httpx.URL(printed[0])
        assert page.path == "/lab/tree/01_quickstart.ipynb", printed
        assert httpx.get(page, timeout=30).status_code == 200
        # That path's notebook is the shipped quickstart, and the "Next" links' targets are beside it.
        model = _served(f"http://127.0.0.1:{port}/api/contents/01_quickstart.ipynb", proc, log_path).json()
        shipped = json.loads((REPO / "notebooks" / "01_quickstart.ipynb").read_text())
        assert [c["source"] for c in model["content"]["cells"]] == [
            "".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in shipped["cells"]
        ]
        text = "".join(c["source"] for c in model["content"]["cells"])
        links = re.findall(r"\]\((0[23]_[a-z_]+\.ipynb)\)", text)
        assert sorted(set(links)) == ["02_prompt_experiments.ipynb", "03_spend_report.ipynb"]
        for link in links:
            assert httpx.get(f"http://127.0.0.1:{port}/api/contents/{link}", timeout=30).status_code == 200
        # The copies live in the data folder; the folder the command ran in gains nothing.
        assert sorted(p.name for p in (home / "notebooks").iterdir()) == sorted(NOTEBOOKS)
        assert list(cwd.iterdir()) == []
        assert f"Notebooks in {home / 'notebooks'}" in log_path.read_text()

        # SIGTERM to the process we started stops the server itself: no orphan keeps the port.
        proc.terminate()
        proc.wait(timeout=60)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=5)
    finally:
        _stop(proc)


def test_lab_keeps_an_edited_copy_and_copies_only_what_is_missing(tmp_path: Path) -> None:
    from sora2_widgets.cli._lab import _shipped, copy_notebooks

    source = _shipped()
    assert source is not None
    work = tmp_path / "work"
    work.mkdir()
    (work / "01_quickstart.ipynb").write_text("my edits")
    assert copy_notebooks(source, work) == ["02_prompt_experiments.ipynb", "03_spend_report.ipynb"]
    assert (work / "01_quickstart.ipynb").read_text() == "my edits"
    assert copy_notebooks(source, work) == []


def test_lab_hands_jupyterlab_the_options_it_does_not_know() -> None:
    args = parse_args(["lab", "--no-browser", "--port", "8888", "--dir", "w", "--", "--dir", "x"])
    assert args.dir == "w"
    assert args.lab_args == ["--no-browser", "--port", "8888", "--dir", "x"]  # the "--" itself is ours
    nb = Path("/w/01_quickstart.ipynb")
    cmd = lab_command(Path("/w"), nb, args.lab_args, as_root=True)
    assert cmd[1:] == [
        "-m",
        "jupyterlab",
        "--ServerApp.root_dir=/w",
        "--allow-root",
        "--LabApp.default_url=/lab/tree/01_quickstart.ipynb",
        "--no-browser",
        "--port",
        "8888",
        "--dir",
        "x",
        "/w/01_quickstart.ipynb",
    ]
    assert "--LabApp.default_url=/lab/tree/01_quickstart.ipynb" in lab_command(Path("/w"), nb, [], as_root=False)
    own = ["--LabApp.default_url=/lab/tree/mine.ipynb"]
    assert lab_command(Path("/w"), nb, own, as_root=False).count("--LabApp.default_url=/lab/tree/mine.ipynb") == 1
    assert "--allow-root" not in lab_command(Path("/w"), nb, [], as_root=False)
    # The user's own choice either way is kept, never doubled or overridden.
    assert lab_command(Path("/w"), nb, ["--allow-root"], as_root=True).count("--allow-root") == 1
    assert "--allow-root" not in lab_command(Path("/w"), nb, ["--ServerApp.allow_root=False"], as_root=True)
    # Only lab passes unknown options on; the other subcommands still refuse them.
    with pytest.raises(SystemExit) as refused:
        parse_args(["history", "--no-browser"])
    assert refused.value.code == 2


@pytest.mark.slow
def test_an_installed_wheel_carries_the_notebooks_lab_opens(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(wheels)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert built.returncode == 0, built.stderr[-4000:]
    (wheel,) = wheels.glob("sora2_widgets-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for name in NOTEBOOKS:
            assert f"sora2_widgets/_notebooks/{name}" in names
        zf.extractall(site)  # what pip install does with a wheel's files
    # From the installed copy, away from the checkout: the CLI finds the notebook inside the package.
    found = subprocess.run(
        [sys.executable, "-c", "from sora2_widgets.cli._lab import _quickstart; print(_quickstart())"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**cli_env(tmp_path / "home"), "PYTHONPATH": str(site)},
        timeout=120,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == str(site / "sora2_widgets" / "_notebooks" / "01_quickstart.ipynb")
