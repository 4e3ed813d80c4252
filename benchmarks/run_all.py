"""Run every benchmark, each in a fresh process (so peak memory and imports are its own).

Usage::

    uv run python benchmarks/run_all.py              # this server's figures
    uv run python benchmarks/run_all.py --with-seed  # plus image-gen-mcp 1.4.0 side by side
                                                     # (creates /tmp/seedvenv the first time)

Without ``--with-seed`` the stdio comparison still runs, against the floor server only.

Wall times move with machine load; run on a quiet machine and compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(script: str, *args: str) -> int:
    print(f"\n$ python benchmarks/{script} {' '.join(args)}".rstrip(), flush=True)
    started = time.perf_counter()
    code = subprocess.run(
        [sys.executable, str(HERE / script), *args], cwd=HERE.parent, check=False
    ).returncode
    print(
        f"  ({time.perf_counter() - started:.0f} s{'' if code == 0 else f', exit code {code}'})", flush=True
    )
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--with-seed", action="store_true", help="also measure image-gen-mcp 1.4.0")
    parser.add_argument("--quick", action="store_true", help="fewer runs (rougher figures)")
    args = parser.parse_args(argv)
    runs, calls = ("5", "20") if args.quick else ("9", "60")
    print(f"python {sys.version.split()[0]} on {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    codes = [run("cold_start.py", "--runs", runs, "--keys", "--floor")]
    for image in ("photo", "detailed"):  # one that JPEG compresses well, one it does not
        codes += [
            run("overhead.py", "--calls", calls, "--image", image),
            run("concurrency.py", "--image", image),
            run("result_size.py", "--image", image),
        ]
    if args.with_seed:
        codes.append(run("compare_seed.py", "--with-seed", "--runs", runs))
    else:  # the floor server side by side, without installing 1.4.0
        codes.append(run("compare_seed.py", "--runs", "0"))
    return max(codes)


if __name__ == "__main__":
    sys.exit(main())
