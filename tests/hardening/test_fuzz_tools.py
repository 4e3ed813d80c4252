"""Hypothesis-generated tool arguments and image payloads through the in-process MCP client.

Every call must end in a result or an isError result with a known, non-``internal`` code;
nothing may be written outside the output root, and nothing may leave the machine (the
resolver is replaced so that no name resolves and every address literal is private).
Deterministic (``derandomize``) and bounded so CI stays fast and stable.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import string
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.png import solid_png
from domain.errors import ERROR_CODES
from entrypoints.container import build_container
from entrypoints.mcp.server import build_mcp_server
from tests.conftest import make_settings

PNG = solid_png(12, 9)
FUZZ = settings(
    max_examples=70,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """Output root with a symlink that leads out, and a sentinel folder outside it."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    return {"tmp": tmp_path, "root": root, "outside": outside}


@pytest.fixture
async def server(layout: dict[str, Path], monkeypatch: pytest.MonkeyPatch):
    async def no_network(host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple]:
        # Names never resolve; address literals (all private in the strategies) pass through
        # to the fetcher's checks, which must refuse them before any connection.
        if host and (host[0].isdigit() or ":" in host):
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (host, port))]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", no_network)
    config = make_settings(
        layout["root"],
        IMAGE_GEN_MCP_RETRIES=1,
        IMAGE_GEN_MCP_FAKE_FAULT_RATE=0.15,
        IMAGE_GEN_MCP_FAKE_FAULT_SEED=7,
        IMAGE_GEN_MCP_URL_TIMEOUT=0.5,
        IMAGE_GEN_MCP_MAX_INPUT_BYTES=200_000,
    )
    return build_mcp_server(build_container(config))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def flip(data: bytes, at: int, value: int) -> bytes:
    at %= len(data)
    return data[:at] + bytes([value]) + data[at + 1 :]


junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
huge_text = st.integers(min_value=0, max_value=40_000).map(lambda n: "ẞ" * n)
hosts = st.sampled_from(
    ["example.test", "127.0.0.1", "[::1]", "169.254.169.254", "10.0.0.1", "0x7f.1", "2130706433",
     "localhost", "[::ffff:127.0.0.1]", "[fd00:ec2::254]", "192.168.1.1:8080", "user:pw@example.test"]
)  # fmt: skip
urls = st.builds(
    "{}://{}/{}".format,
    st.sampled_from(["https", "http", "file", "ftp", "gopher", "HTTPS", "javascript", "image"]),
    hosts,
    st.text(alphabet=string.printable, max_size=20),
)
hostile_paths = st.sampled_from(
    ["/etc/passwd", "../../etc/passwd", "~/.ssh/id_rsa", "file:///etc/shadow", "./x.png", "\\\\srv\\share\\a",
     "/proc/self/environ", "link/secret", "file://localhost/etc/hosts", "/dev/zero"]
)  # fmt: skip
good_images = st.sampled_from([b64(PNG), "data:image/png;base64," + b64(PNG), " " + b64(PNG) + "\n"])
hostile_images = st.one_of(
    st.binary(max_size=600).map(b64),
    st.binary(max_size=600).map(lambda b: "data:image/png;base64," + b64(b)),
    st.tuples(st.integers(0, 10_000), st.integers(0, 255)).map(lambda t: b64(flip(PNG, *t))),
    st.integers(1, len(PNG) - 1).map(lambda n: b64(PNG[:n])),
    st.binary(min_size=1, max_size=64).map(lambda tail: b64(PNG + tail)),
    st.sampled_from(["data:", "data:,", "data:image/png,raw", "data:image/png;base64", "data:;base64,====",
                     "data:image/svg+xml;base64," + b64(b"<svg onload=alert(1)/>"), "====", "A" * 1001]),
    st.text(alphabet="0123456789abcdef", min_size=32, max_size=32).map("image://{}".format),
    st.text(max_size=40).map("image://{}".format),
    urls,
    hostile_paths,
    st.text(max_size=80),
)  # fmt: skip
image_payloads = st.one_of(good_images, hostile_images)
directories = st.one_of(
    st.none(),
    st.sampled_from(["sub", "a/b/c", "link", "link/x", "../", "../outside", "/", "/etc", "~", "a/../../b",
                     "sub\x00x", ".", "%2e%2e/x", "C:\\Windows", "//server/share", "x" * 2000]),
    st.just("{outside}"),
    st.text(max_size=40),
)  # fmt: skip
providers = st.one_of(
    st.sampled_from(["fake", "placeholder", "openai", "gemini", None]), st.text(max_size=12)
)
models = st.one_of(
    st.sampled_from(["fake-image", "fake-single", "fake-generate-only", None]), st.text(max_size=20)
)


def mostly(valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``valid`` nine times in ten, so most calls get past argument validation."""
    return st.integers(0, 9).flatmap(lambda i: invalid if i == 0 else valid)


def options(images: bool) -> st.SearchStrategy[dict[str, Any]]:
    optional = {
        "provider": mostly(st.sampled_from(["fake", "fake", "placeholder", "openai"]), providers | junk),
        "model": mostly(models, junk),
        "n": mostly(st.integers(1, 4), st.integers(-3, 15) | junk),
        "size": mostly(st.sampled_from(["S", "M", "L"]), st.sampled_from(["XL", "s"]) | junk),
        "orientation": mostly(st.sampled_from(["square", "portrait", "landscape"]), junk),
        "quality": mostly(st.sampled_from(["draft", "standard", "high"]), st.just("ultra") | junk),
        "background": mostly(st.sampled_from(["transparent", "opaque"]), junk),
        "negative_prompt": mostly(st.text(max_size=50), huge_text | junk),
        "directory": mostly(directories, junk),
        "aspect_ratio": mostly(st.sampled_from(["16:9", "1:1", "0:0", "-1:2", "9999999:1", "abc"]), junk),
        "output_format": mostly(st.sampled_from(["png", "jpeg", "webp"]), st.just("bmp") | junk),
        "output_compression": mostly(st.integers(0, 100), st.integers(-10, 200) | junk),
        "strict": mostly(st.booleans(), junk),
        "inline": mostly(st.sampled_from(["preview", "full", "none"]), st.just("all") | junk),
    }
    required: dict[str, Any] = {"prompt": mostly(st.text(max_size=200), huge_text | junk)}
    if images:
        optional["mask"] = mostly(image_payloads, junk)
        required["images"] = mostly(
            st.lists(image_payloads, min_size=1, max_size=3), st.lists(image_payloads, max_size=20) | junk
        )
    typed = st.fixed_dictionaries(required, optional=optional)
    extra = st.dictionaries(st.text(max_size=10), junk, min_size=1, max_size=2)
    return mostly(typed, st.tuples(typed, extra).map(lambda pair: {**pair[1], **pair[0]}))


async def call(server: Any, layout: dict[str, Path], tool: str, arguments: dict[str, Any]) -> None:
    if arguments.get("directory") == "{outside}":
        arguments["directory"] = str(layout["outside"])
    async with Client(server) as client:
        result = await client.call_tool(tool, arguments, raise_on_error=False)
    data = result.structured_content
    assert isinstance(data, dict), result
    if result.is_error:
        assert data["ok"] is False
        assert data["code"] in ERROR_CODES and data["code"] != "internal", data
        assert data["code"] in result.content[0].text
    else:
        assert data["ok"] is True
        if tool != "get_model_capabilities":
            assert data["image_count"] == len(data["images"]) >= 1
    assert_nothing_outside(layout)


def assert_nothing_outside(layout: dict[str, Path]) -> None:
    assert list(layout["outside"].iterdir()) == []
    assert sorted(p.name for p in layout["tmp"].iterdir()) == ["outside", "root"]
    root = layout["root"].resolve()
    for path in layout["root"].rglob("*"):
        assert path.name.startswith(".") or path.resolve().is_relative_to(root) or path.name == "link"
        assert not path.name.endswith((".tmp", ".part")), path


@FUZZ
@given(arguments=options(images=False))
async def test_fuzz_generate_image(server, layout, arguments: dict[str, Any]) -> None:
    await call(server, layout, "generate_image", arguments)


@FUZZ
@given(arguments=options(images=True))
async def test_fuzz_edit_image(server, layout, arguments: dict[str, Any]) -> None:
    await call(server, layout, "edit_image", arguments)


@settings(FUZZ, max_examples=25)
@given(
    arguments=mostly(
        st.fixed_dictionaries({}, optional={"provider": providers}), st.dictionaries(st.text(), junk)
    )
)
async def test_fuzz_get_model_capabilities(server, layout, arguments: dict[str, Any]) -> None:
    await call(server, layout, "get_model_capabilities", arguments)


@settings(FUZZ, max_examples=25)
@given(
    payload=st.one_of(
        st.binary(max_size=3000),
        st.tuples(st.integers(0, 10_000), st.integers(0, 255)).map(lambda t: flip(PNG, *t)),
        st.binary(max_size=200).map(lambda tail: b"\x89PNG\r\n\x1a\n" + tail),
        st.binary(max_size=200).map(lambda tail: b"\xff\xd8\xff" + tail),
        st.binary(max_size=200).map(lambda tail: b"GIF89a" + tail),
        st.binary(max_size=200).map(lambda tail: b"RIFF\x10\x00\x00\x00WEBP" + tail),
    )
)
async def test_fuzz_image_bytes(server, layout, payload: bytes) -> None:
    arguments = {"prompt": "edit", "provider": "fake", "images": ["data:image/png;base64," + b64(payload)]}
    await call(server, layout, "edit_image", arguments)
