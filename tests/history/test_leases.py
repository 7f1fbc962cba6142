"""Leases: one live owner per unfinished row; a lease whose owner died or expired is taken over."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sora2_widgets.history import _leases, new_owner_token
from tests.team.backends import open_history

from .ledger_rows import add

HOST = _leases._HOST


def test_an_owner_token_names_this_host_and_process() -> None:
    host, pid, nonce = new_owner_token().split(":")
    assert (host, pid) == (HOST, str(os.getpid())) and len(nonce) == 10
    assert new_owner_token() != new_owner_token()


def test_a_lease_is_dead_when_free_mine_or_expired() -> None:
    now, me = 1000.0, new_owner_token()
    alive = f"{HOST}:{os.getpid()}:other"  # another generator in this (running) process
    assert _leases.lease_is_dead(None, None, now, me)
    assert _leases.lease_is_dead(me, now + 60, now, me)
    assert not _leases.lease_is_dead(alive, now + 60, now, me)
    assert _leases.lease_is_dead(alive, now - 1, now, me)
    assert _leases.lease_is_dead(alive, None, now, me)
    # Another machine's process cannot be checked: only expiry frees its lease.
    assert not _leases.lease_is_dead("elsewhere.invalid:1:x", now + 60, now, me)


@pytest.mark.skipif(os.name != "posix", reason="pid liveness is checked on POSIX only")
def test_a_lease_of_a_process_that_is_gone_is_dead_at_once() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert _leases.lease_is_dead(f"{HOST}:{gone.pid}:x", 10**12, 1000.0, new_owner_token())


def test_each_unfinished_row_is_claimed_by_one_owner_until_released(tmp_path: Path) -> None:
    h = open_history(tmp_path)
    running = add(h, status="in_progress", cost=None)
    unsaved = add(h, video_url="https://media.invalid/v.mp4")  # completed, the video never saved here
    add(h)  # completed, nothing to download
    add(h, status="failed", cost="0")
    a, b = f"{HOST}:{os.getpid()}:a", f"{HOST}:{os.getpid()}:b"
    assert [r.id for r in h.claim(a, 60)] == [running, unsaved]
    assert h.get(running).id == running and h.claim(b, 60) == []
    assert h.renew_leases(a, 60) == 2
    h.release(running, b)  # not b's lease: left alone
    assert h.claim(b, 60) == []
    h.release(running, a)
    assert h.claim(b, 60, provider="fal") == []
    assert [r.id for r in h.claim(b, 60, exclude={unsaved})] == [running]
