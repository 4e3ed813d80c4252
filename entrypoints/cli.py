"""The ``image-gen-mcp`` console script: stdio by default, or HTTP."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING, NoReturn

from entrypoints.log_redaction import install_redaction, register_secrets
from entrypoints.version import server_version

if TYPE_CHECKING:
    from pydantic import ValidationError

    from entrypoints.settings import Settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="image-gen-mcp",
        description="MCP server for image generation and editing across vendors.",
    )
    parser.add_argument(
        "command",
        nargs="?",
        choices=("serve", "check", "worker"),
        default="serve",
        help="serve (default): the MCP server; check: validate the settings, then make one cheap "
        "authenticated request to each enabled vendor and print a table; worker: run background "
        "tasks from IMAGE_GEN_MCP_REDIS_URL with no front end",
    )
    parser.add_argument("--version", action="version", version=f"image-gen-mcp {server_version()}")
    parser.add_argument(
        "--transport",
        choices=("stdio", "http", "sse"),
        default="stdio",
        help="stdio (default); http: MCP at /mcp plus the REST API at /v1; sse: legacy MCP at /sse",
    )
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    parser.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="allow binding a non-loopback address without IMAGE_GEN_MCP_AUTH_TOKENS",
    )
    return parser.parse_args(argv)


def configure_logging(settings: Settings) -> None:
    # stdout belongs to the MCP protocol on stdio: every log line goes to stderr.
    logging.basicConfig(
        stream=sys.stderr,
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if settings.log_level.upper() != "DEBUG":
        # The tasks runtime lists every registered function at INFO on each start: noise in a
        # host's log pane, kept for DEBUG.
        logging.getLogger("docket").setLevel(logging.WARNING)
    # No configured key or token may reach a log line, whoever logs it.
    register_secrets(settings.secrets())
    install_redaction()


def load_settings() -> Settings:
    """Settings from the environment and ``.env``, with logging configured from them.

    A bad value ends the start: one line per variable on stderr and exit status 2, never a
    traceback. A variable no setting reads, or a relative folder, is a warning."""
    from pydantic import ValidationError

    from entrypoints.settings import Settings
    from entrypoints.startup_checks import configuration_errors, configuration_warnings

    try:
        settings = Settings()
    except ValidationError as exc:
        # A host shows only the tail of stderr; a traceback would hide which variable is wrong.
        _refuse(validation_lines(exc))
    if errors := configuration_errors(settings):
        _refuse(errors)
    configure_logging(settings)
    for warning in configuration_warnings(settings, os.environ):
        print(f"image-gen-mcp: warning: {warning}", file=sys.stderr)
    return settings


def _refuse(lines: list[str]) -> NoReturn:
    print(
        "image-gen-mcp: invalid configuration (environment or .env):\n"
        + "\n".join(f"  {line}" for line in lines),
        file=sys.stderr,
    )
    raise SystemExit(2)


def validation_lines(exc: ValidationError) -> list[str]:
    """One line per bad variable, without its value (it may be a key)."""
    return [
        # A rule across variables (the store URL against the store) has no single location:
        # its message names the variables itself.
        f"{'.'.join(str(p) for p in item['loc'])}: {item['msg'].removeprefix('Value error, ')}"
        if item["loc"]
        else item["msg"].removeprefix("Value error, ")
        for item in exc.errors(include_input=False, include_url=False)
    ]


def main(argv: list[str] | None = None) -> None:
    """Read the settings, build the container, and serve on the chosen transport."""
    args = parse_args(argv)
    if args.command == "check":
        from entrypoints.doctor import run_check

        raise SystemExit(run_check(load_settings()))
    from entrypoints.allocator import keep_large_buffers

    keep_large_buffers()  # before any thread starts: each thread's arena takes the settings
    if args.command == "worker":
        from entrypoints.mcp.worker import serve_worker

        serve_worker(load_settings())
    elif args.transport == "stdio":
        # Start-up is felt on every host session: pydantic and the settings are imported and
        # validated with the garbage collector paused, as the server build is (serve_stdio).
        from entrypoints.stdio.server import serve_stdio, start_up_heap

        with start_up_heap():
            settings = load_settings()
        serve_stdio(settings)
    else:
        from entrypoints.http.app import serve_http

        settings = load_settings()
        announce(settings, args.transport)
        serve_http(settings, args.transport, args.host, args.port, args.insecure_no_auth)


def announce(settings: Settings, transport: str) -> None:
    """The start-up block on stderr (stdio announces from serve_stdio, once built)."""
    from entrypoints.container import build_container
    from entrypoints.startup_report import startup_block

    print(startup_block(build_container(settings), transport), file=sys.stderr)


if __name__ == "__main__":
    main()
