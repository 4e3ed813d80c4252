"""Per-call overhead: our own time for one ``generate_image`` against an instant fake vendor.

The vendor answers at once with a 1024² PNG, photo-like or high-detail (``--image``; see
``bench_images.IMAGES``), so
everything measured is ours and the framework's: routing, policy, the filesystem store (hash,
atomic writes, fsync), the inline preview (decode + WebP), the structured result and the MCP
round trip through fastmcp's in-process ``Client``. The breakdown times the heavy steps alone.

Usage::

    uv run python benchmarks/overhead.py [--calls 60] [--size 1024x1024] [--image detailed] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_images import IMAGES
from harness import LoopStallProbe, PhotoFakeProvider, PlainClient, bench_server, bench_settings, summarize

from adapters.filesystem_store import FilesystemImageStore
from domain.images import GeneratedImage
from entrypoints.allocator import keep_large_buffers
from entrypoints.mcp.previews import _decoded, make_preview


async def per_call(
    size: tuple[int, int], calls: int, inline: str = "preview", warmup: int = 5, image: str = "photo"
) -> dict[str, Any]:
    """Wall time per sequential call (median, p95) and CPU time per call (all threads: wall
    time suffers when the machine is busy, CPU time much less)."""
    with tempfile.TemporaryDirectory(prefix="overhead-") as tmp:
        settings = bench_settings(Path(tmp))
        server = bench_server(settings, PhotoFakeProvider(size, image=image))
        samples: list[float] = []
        async with PlainClient(server) as client:
            args = {"prompt": "a lighthouse at dusk", "provider": "fake", "inline": inline}
            for _ in range(warmup):
                await client.call_tool("generate_image", args)
            cpu_start = time.process_time()
            async with LoopStallProbe() as probe:
                for _ in range(calls):
                    start = time.perf_counter()
                    result = await client.call_tool("generate_image", args)
                    samples.append(time.perf_counter() - start)
            cpu_ms = (time.process_time() - cpu_start) * 1000 / calls
        image = result.structured_content["images"][0]
        assert image["width"] == size[0] and image["saved"], image
        return {
            **summarize(samples),
            "cpu_ms_per_call": cpu_ms,
            "loop_stall_max_ms": probe.worst * 1000,
            "inline": image["inline"],
            "png_bytes": image["byte_size"],
        }


def _median_ms(fn: Any, repeats: int = 15, clock: Any = time.perf_counter) -> float:
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return sorted(times)[repeats // 2] * 1000


def breakdown(size: tuple[int, int], image: str = "photo") -> dict[str, float]:
    """Where one call's time goes: its heavy steps, each timed alone (median CPU ms of this
    thread, which a busy machine moves far less than wall time; the store's fsyncs wait on
    the disk, so saving is wall time). The preview includes its decode (libdeflate and
    libspng; Pillow's alone for comparison); saving hashes and
    writes the image, its sidecar and the index entry, each fsynced; JSON is the image block
    of the result as the MCP SDK serializes it."""
    from mcp.types import ImageContent
    from PIL import Image

    data = IMAGES[image](*size)
    settings = bench_settings(Path(tempfile.gettempdir()))
    generated = GeneratedImage(data, "image/png", size[0], size[1], "fake", "fake-image")

    def decode() -> None:
        assert _decoded(data) is not None

    def decode_by_pillow() -> None:
        Image.open(io.BytesIO(data)).load()

    import base64

    import pybase64

    payload = base64.b64encode(data).decode("ascii")  # as the vendor's JSON carries it

    def preview() -> Any:
        return make_preview(
            data, "image/png", budget_chars=settings.preview_budget_chars,
            max_edge=settings.preview_max_edge, keep_alpha=False,
        )  # fmt: skip

    made = preview()
    assert made is not None

    def result_json() -> None:
        ImageContent(type="image", data=made.base64(), mimeType=made.media_type).model_dump_json()

    cpu = time.thread_time
    with tempfile.TemporaryDirectory(prefix="overhead-store-") as tmp:
        store = FilesystemImageStore(tmp)
        save_ms = _median_ms(lambda: store._save(generated, None, {"prompt": "x"}))
    steps = {
        "vendor_base64_decode": _median_ms(lambda: pybase64.b64decode(payload, validate=True), clock=cpu),
        "vendor_base64_decode_stdlib": _median_ms(lambda: base64.b64decode(payload), clock=cpu),
        "png_decode": _median_ms(decode, clock=cpu),
        "png_decode_pillow": _median_ms(decode_by_pillow, clock=cpu),
        "preview": _median_ms(preview, clock=cpu),
        "sha256": _median_ms(lambda: hashlib.sha256(data).hexdigest(), clock=cpu),
        "store_save_wall": save_ms,
        "preview_json": _median_ms(result_json, clock=cpu),
    }
    steps["preview_after_decode"] = steps["preview"] - steps["png_decode"]
    return steps


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--size", default="1024x1024", help="WIDTHxHEIGHT of the vendor's image")
    parser.add_argument("--image", default="photo", choices=sorted(IMAGES), help="the vendor's image")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    keep_large_buffers()  # as the console script does before it serves
    width, height = (int(v) for v in args.size.lower().split("x"))
    size = (width, height)
    results: dict[str, Any] = {
        "preview": asyncio.run(per_call(size, args.calls, image=args.image)),
        "no_inline": asyncio.run(per_call(size, args.calls, inline="none", image=args.image)),
        "steps": breakdown(size, args.image),
    }
    if args.json:
        print(json.dumps(results))
        return results
    for name in ("preview", "no_inline"):
        r = results[name]
        print(
            f"overhead per call, {args.image} {args.size} {r['png_bytes'] / 1e6:.2f} MB PNG, "
            f"inline={r['inline']:<7}: "
            f"median {r['median_ms']:5.1f} ms, p95 {r['p95_ms']:5.1f} ms, CPU {r['cpu_ms_per_call']:5.1f} ms "
            f"({r['n']} calls; longest event-loop stall {r['loop_stall_max_ms']:.1f} ms)"
        )
    print("  steps alone (median ms): " + ", ".join(f"{k} {v:.1f}" for k, v in results["steps"].items()))
    return results


if __name__ == "__main__":
    main()
