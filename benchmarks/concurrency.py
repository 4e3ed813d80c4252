"""Concurrency: N parallel ``generate_image`` calls against a fake vendor that takes 1 s.

Calls that overlap finish in about one vendor latency, not N of them. Each call returns a
1024² PNG (photo-like or high-detail: ``--image``), saved to disk with an inline preview, as
for a real vendor. Peak memory is this process's high-water mark (VmHWM), so run the script
in its own process (run_all does).

Usage::

    uv run python benchmarks/concurrency.py [--calls 16] [--latency 1.0] [--image detailed] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_images import IMAGES
from harness import LoopStallProbe, PhotoFakeProvider, PlainClient, bench_server, bench_settings, peak_rss_mb


async def parallel_calls(
    calls: int, latency: float, size: tuple[int, int], image: str = "photo"
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="concurrency-") as tmp:
        settings = bench_settings(
            Path(tmp), IMAGE_GEN_MCP_FAKE_LATENCY=latency, IMAGE_GEN_MCP_MAX_IN_FLIGHT=max(16, calls)
        )
        fake = PhotoFakeProvider(size, latency=settings.fake_latency_s, image=image)
        server = bench_server(settings, fake)
        async with PlainClient(server) as client:
            # One call first, so imports and first-use costs are not counted as concurrency.
            await client.call_tool("generate_image", {"prompt": "warm-up", "provider": "fake"})
            rss_before = peak_rss_mb()
            async with LoopStallProbe() as probe:
                start = time.perf_counter()
                results = await asyncio.gather(
                    *(
                        client.call_tool("generate_image", {"prompt": f"scene {i}", "provider": "fake"})
                        for i in range(calls)
                    )
                )
                wall = time.perf_counter() - start
        ok = sum(
            1 for r in results if r.structured_content["ok"] and r.structured_content["images"][0]["saved"]
        )
        return {
            "calls": calls,
            "ok": ok,
            "vendor_latency_s": latency,
            "wall_s": wall,
            "speedup_vs_serial": calls * latency / wall,
            "peak_rss_mb": peak_rss_mb(),
            "rss_after_warmup_mb": rss_before,
            "loop_stall_max_ms": probe.worst * 1000,
        }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--calls", type=int, default=16)
    parser.add_argument("--latency", type=float, default=1.0, help="fake vendor latency per call (s)")
    parser.add_argument("--size", default="1024x1024")
    parser.add_argument("--image", default="photo", choices=sorted(IMAGES), help="the vendor's image")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    result = asyncio.run(parallel_calls(args.calls, args.latency, (width, height), args.image))
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"concurrency, {args.image} image: {result['ok']}/{result['calls']} calls "
            f"with a {args.latency:g} s vendor in "
            f"{result['wall_s']:.2f} s ({result['speedup_vs_serial']:.1f}x faster than serial); "
            f"peak RSS {result['peak_rss_mb']:.0f} MB "
            f"(after warm-up {result['rss_after_warmup_mb']:.0f} MB); "
            f"longest event-loop stall {result['loop_stall_max_ms']:.1f} ms"
        )
    return result


if __name__ == "__main__":
    main()
