"""The served process reuses a call's megabyte buffers instead of faulting them in again, and
leaves a user's own allocator settings alone. Each case runs in a fresh interpreter: the
settings last for the life of a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# What a call does to memory: a few 4 MB buffers, written, then all freed. Page faults are
# counted over 30 such calls after a first one.
PROBE = """
import json, resource, sys
sys.path.insert(0, sys.argv[1])
from entrypoints.allocator import keep_large_buffers
tuned = keep_large_buffers()
def call():
    buffers = [b"x" * 4_000_000 for _ in range(4)]
    return sum(len(b) for b in buffers)
call()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(30):
    call()
print(json.dumps({"tuned": tuned, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
"""

def probe(**env: str) -> dict[str, object]:
    clean = {name: value for name, value in os.environ.items() if not name.startswith(("MALLOC_", "GLIBC_TUN"))}
    done = subprocess.run(  # noqa: S603 -- this interpreter and our own fixed probe code
        [sys.executable, "-c", PROBE, str(REPO)], env={**clean, **env}, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_freed_buffers_are_reused_instead_of_faulted_in_again() -> None:
    tuned = probe()
    # The counterpart, glibc's defaults, shows that the probe measures something.
    untuned = probe(MALLOC_ARENA_MAX="8")
    assert tuned["tuned"] is True and untuned["tuned"] is False
    # 30 calls × 16 MB written: ~117,000 faults of 4 KiB pages when every buffer is fresh
    # (fewer where the kernel backs them with huge pages, but still hundreds), none when kept.
    assert tuned["faults"] < 2_000
    assert untuned["faults"] > 10 * max(tuned["faults"], 30)


@pytest.mark.parametrize("variable", ["MALLOC_ARENA_MAX", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"])
def test_a_users_own_allocator_settings_win(variable: str) -> None:
    value = "glibc.malloc.arena_max=4" if variable == "GLIBC_TUNABLES" else "4"
    assert probe(**{variable: value})["tuned"] is False


def test_the_console_script_sets_them_before_serving(monkeypatch: pytest.MonkeyPatch) -> None:
    from entrypoints import allocator, cli

    called: list[bool] = []
    monkeypatch.setattr(allocator, "keep_large_buffers", lambda: called.append(True) or True)
    monkeypatch.setattr("entrypoints.mcp.worker.serve_worker", lambda settings: None)
    monkeypatch.setattr(cli, "load_settings", lambda: None)
    cli.main(["worker"])
    assert called == [True]
