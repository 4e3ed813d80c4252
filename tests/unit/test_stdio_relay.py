"""The stdio relay, between a host and a stand-in server, over real pipes.

The stand-in server answers only once its gate opens, as the real one does once the MCP
framework has loaded: whatever the host receives before that came from the listing cache.
"""

from __future__ import annotations

import json
import os
import select
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from entrypoints.stdio import listing_cache
from entrypoints.stdio.listing_cache import ListingCache, request_key
from entrypoints.stdio.relay import StdioRelay

INIT_PARAMS = {
    "protocolVersion": "2025-06-18",
    "capabilities": {},
    "clientInfo": {"name": "t", "version": "1"},
}
MODERN_META = {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}
TOOLS = {"tools": [{"name": "generate_image"}, {"name": "edit_image"}]}
INIT_RESULT = {"protocolVersion": "2025-06-18", "serverInfo": {"name": "image-gen-mcp"}}


def default_answers(method: str, params: Any) -> Any:
    return {"initialize": INIT_RESULT, "tools/list": TOOLS}.get(method, {"echo": method})


class Server(threading.Thread):
    """Reads requests from the relay; answers each (in order) once ``gate`` is set."""

    def __init__(self, stdin: int, stdout: int, answer: Callable[[str, Any], Any]) -> None:
        super().__init__(daemon=True)
        self.stdin, self.stdout, self.answer = stdin, stdout, answer
        self.gate = threading.Event()
        self.received: list[dict[str, Any]] = []
        self.saw_eof = threading.Event()

    def run(self) -> None:
        with os.fdopen(self.stdin, "rb") as source:
            for line in source:
                self.gate.wait(10)
                try:
                    message = json.loads(line)
                except (ValueError, RecursionError):
                    continue  # a real server answers a parse error; not what these tests check
                self.received.append(message)
                if "id" not in message:
                    continue
                result = self.answer(message["method"], message.get("params"))
                if isinstance(result, Exception):
                    reply = {
                        "jsonrpc": "2.0",
                        "id": message["id"],
                        "error": {"code": -1, "message": str(result)},
                    }
                else:
                    reply = {"jsonrpc": "2.0", "id": message["id"], "result": result}
                os.write(self.stdout, json.dumps(reply).encode() + b"\n")
        self.saw_eof.set()


class Host:
    """The host's ends of the wire."""

    def __init__(self, to_relay: int, from_relay: int) -> None:
        self.to_relay, self.from_relay = to_relay, from_relay
        self._buffer = b""

    def send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\n"
        view = memoryview(data)
        while view:
            view = view[os.write(self.to_relay, view) :]

    def request(self, request_id: Any, method: str, params: Any = None) -> None:
        self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}})

    def receive(self, timeout: float = 5.0) -> dict[str, Any] | None:
        """The next line the relay writes, or None if nothing comes within ``timeout``."""
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self.from_relay], [], [], timeout)
            if not ready:
                return None
            chunk = os.read(self.from_relay, 1 << 20)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        if self.to_relay >= 0:
            os.close(self.to_relay)
            self.to_relay = -1


class Rig:
    def __init__(
        self,
        cache: ListingCache,
        answer: Callable[[str, Any], Any] = default_answers,
        identity: dict[str, Any] | None = None,
    ) -> None:
        wire_in, self._host_out = os.pipe()
        self._host_in, wire_out = os.pipe()
        server_stdin, to_server = os.pipe()
        from_server, server_stdout = os.pipe()
        self.cache = cache
        self.server = Server(server_stdin, server_stdout, answer)
        self.relay = StdioRelay(cache, wire_in, wire_out, to_server, from_server, identity)
        self.host = Host(self._host_out, self._host_in)
        self.stopped = False
        self.server.start()
        self.relay.start()

    def stop(self) -> None:
        """Host hangs up; the server reads end-of-file and stops; the relay finishes."""
        if self.stopped:
            return
        self.stopped = True
        self.server.gate.set()
        self.host.close()
        assert self.server.saw_eof.wait(5), "the server never saw end-of-file"
        self.relay.finish()
        os.close(self.server.stdout)

    def close(self) -> None:
        self.stop()
        os.close(self._host_in)


@pytest.fixture
def rig_factory(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def make(
        entries: dict[str, Any] | None = None,
        answer: Callable[[str, Any], Any] = default_answers,
        identity: dict[str, Any] | None = None,
    ) -> Rig:
        rig = Rig(ListingCache(tmp_path / "listing.json", entries), answer, identity)
        rigs.append(rig)
        return rig

    yield make
    for rig in rigs:
        rig.close()


def legacy_keys() -> tuple[str, str]:
    session = request_key("initialize", INIT_PARAMS)
    return session, request_key("tools/list", {}, session)


def test_cached_listings_are_answered_before_the_server_is_up(rig_factory: Callable[..., Rig]) -> None:
    init_key, tools_key = legacy_keys()
    rig = rig_factory({init_key: INIT_RESULT, tools_key: TOOLS})
    rig.host.request(1, "initialize", INIT_PARAMS)
    assert rig.host.receive() == {"jsonrpc": "2.0", "id": 1, "result": INIT_RESULT}
    rig.host.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    rig.host.request(2, "tools/list")
    assert rig.host.receive() == {"jsonrpc": "2.0", "id": 2, "result": TOOLS}
    assert rig.server.received == []  # all of it came from the cache

    rig.server.gate.set()
    rig.host.request(3, "tools/call", {"name": "generate_image"})
    # The server's own answers to 1 and 2 are dropped: the next line is the call's answer.
    assert rig.host.receive() == {"jsonrpc": "2.0", "id": 3, "result": {"echo": "tools/call"}}
    rig.stop()
    # The server still saw the whole session, in order.
    assert [m.get("method") for m in rig.server.received] == [
        "initialize", "notifications/initialized", "tools/list", "tools/call",
    ]  # fmt: skip


def test_answers_not_cached_yet_are_recorded_for_the_next_start(
    rig_factory: Callable[..., Rig], tmp_path: Path
) -> None:
    first = rig_factory()
    first.server.gate.set()
    first.host.request(1, "initialize", INIT_PARAMS)
    assert first.host.receive()["result"] == INIT_RESULT
    first.host.request(2, "tools/list")
    assert first.host.receive()["result"] == TOOLS
    first.stop()

    reloaded = json.loads((tmp_path / "listing.json").read_text())["entries"]
    init_key, tools_key = legacy_keys()
    assert reloaded == {init_key: INIT_RESULT, tools_key: TOOLS}

    second = rig_factory(reloaded)  # the server stays gated: only the cache can answer
    second.host.request(7, "initialize", INIT_PARAMS)
    second.host.request(8, "tools/list")
    assert [second.host.receive(), second.host.receive()] == [
        {"jsonrpc": "2.0", "id": 7, "result": INIT_RESULT},
        {"jsonrpc": "2.0", "id": 8, "result": TOOLS},
    ]


def test_a_stale_tool_list_is_corrected_and_a_legacy_host_told_to_list_again(
    rig_factory: Callable[..., Rig], tmp_path: Path
) -> None:
    init_key, tools_key = legacy_keys()
    stale = {"tools": [{"name": "generate_image"}]}
    rig = rig_factory({init_key: INIT_RESULT, tools_key: stale})
    rig.host.request(1, "initialize", INIT_PARAMS)
    rig.host.request(2, "tools/list")
    assert rig.host.receive()["id"] == 1
    assert rig.host.receive()["result"] == stale

    rig.server.gate.set()
    assert rig.host.receive() == {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}
    rig.host.request(3, "tools/list")  # still the opening: answered from the corrected cache
    assert rig.host.receive() == {"jsonrpc": "2.0", "id": 3, "result": TOOLS}
    rig.stop()
    assert json.loads((tmp_path / "listing.json").read_text())["entries"][tools_key] == TOOLS


def test_a_modern_request_is_answered_and_corrected_without_a_notification(
    rig_factory: Callable[..., Rig],
) -> None:
    key = request_key("tools/list", MODERN_META)
    rig = rig_factory({key: {"tools": []}})
    rig.host.request(1, "tools/list", {**MODERN_META, "_meta": {**MODERN_META["_meta"], "progressToken": 9}})
    assert rig.host.receive()["result"] == {"tools": []}  # the progress token is not part of the key
    rig.server.gate.set()
    rig.host.request(2, "tools/call", MODERN_META)
    assert rig.host.receive()["id"] == 2  # no list_changed: modern hosts subscribe for those
    rig.stop()
    assert rig.cache.get(key) == TOOLS


def test_an_error_from_the_server_drops_the_cached_answer(rig_factory: Callable[..., Rig]) -> None:
    key = request_key("prompts/list", MODERN_META)
    rig = rig_factory({key: {"prompts": []}}, answer=lambda method, params: ValueError("no prompts"))
    rig.host.request(1, "prompts/list", MODERN_META)
    assert rig.host.receive()["result"] == {"prompts": []}
    rig.server.gate.set()
    rig.host.request(2, "tools/call", MODERN_META)
    assert rig.host.receive()["error"]["message"] == "no prompts"
    rig.stop()
    assert rig.cache.get(key) is None


def test_after_the_opening_listings_go_to_the_server(rig_factory: Callable[..., Rig]) -> None:
    key = request_key("tools/list", MODERN_META)
    rig = rig_factory({key: TOOLS}, answer=lambda method, params: {"live": method})
    rig.server.gate.set()
    rig.host.request(1, "tools/call", MODERN_META)
    assert rig.host.receive() == {"jsonrpc": "2.0", "id": 1, "result": {"live": "tools/call"}}
    rig.host.request(2, "tools/list", MODERN_META)
    assert rig.host.receive() == {"jsonrpc": "2.0", "id": 2, "result": {"live": "tools/list"}}


def test_server_notifications_and_string_ids_pass_through(rig_factory: Callable[..., Rig]) -> None:
    key = request_key("tools/list", MODERN_META)
    rig = rig_factory({key: TOOLS})
    os.write(rig.server.stdout, b'{"jsonrpc":"2.0","method":"notifications/message","params":{}}\n')
    assert rig.host.receive()["method"] == "notifications/message"
    rig.host.request("1", "tools/list", MODERN_META)  # "1" answered from the cache ...
    assert rig.host.receive() == {"jsonrpc": "2.0", "id": "1", "result": TOOLS}
    rig.server.gate.set()
    rig.host.request(1, "tools/call", MODERN_META)  # ... and 1 is a different id
    assert rig.host.receive() == {"jsonrpc": "2.0", "id": 1, "result": {"echo": "tools/call"}}


def test_large_messages_cross_intact_both_ways(rig_factory: Callable[..., Rig]) -> None:
    payload = "A" * (9 << 20)  # past the parsing limit, as a call carrying a big image is
    rig = rig_factory(answer=lambda method, params: {"size": len(params["data"]), "data": params["data"]})
    rig.server.gate.set()
    rig.host.request(1, "tools/call", {"data": payload})
    answer = rig.host.receive(timeout=20)
    assert answer is not None and answer["result"]["size"] == len(payload)
    assert answer["result"]["data"] == payload


def test_the_server_sees_end_of_file_when_the_host_hangs_up(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory()
    rig.host.request(1, "tools/call")
    rig.stop()  # asserts the server saw end-of-file
    assert [m["method"] for m in rig.server.received] == ["tools/call"]


def test_what_the_server_wrote_last_is_delivered_after_it_stops(rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory()
    rig.server.gate.set()
    rig.host.request(1, "tools/call")
    rig.host.close()
    assert rig.server.saw_eof.wait(5)
    os.write(rig.server.stdout, b'{"jsonrpc":"2.0","method":"last/words"}\n')
    rig.stop()  # the server has returned: everything it wrote must reach the host
    received = [rig.host.receive(timeout=1), rig.host.receive(timeout=1)]
    assert [m.get("id", m.get("method")) for m in received if m] == [1, "last/words"]


def test_malformed_and_deeply_nested_lines_are_left_to_the_server(rig_factory: Callable[..., Rig]) -> None:
    key = request_key("tools/list", MODERN_META)
    rig = rig_factory({key: TOOLS}, answer=lambda method, params: {"live": method})
    # The nesting goes far past the parser's recursion limit, yet fits the pipe to the idle server.
    for bad in (b"{not json\n", b"[" * 30_000 + b"\n", b"\xff\xfe\n"):
        os.write(rig.host.to_relay, bad)
    rig.host.request(1, "tools/list", MODERN_META)  # still the opening: the cache answers
    assert rig.host.receive() == {"jsonrpc": "2.0", "id": 1, "result": TOOLS}
    rig.server.gate.set()
    rig.stop()
    assert rig.server.received[-1]["method"] == "tools/list"


def receive_until(rig: Rig, request_id: Any, timeout: float = 10.0) -> dict[str, Any] | None:
    """The host's next message with ``request_id``, skipping others; None if it never comes."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        message = rig.host.receive(timeout=left)
        if message is None:
            return None
        if message.get("id") == request_id:
            return message
    return None


# -- a host line nested just inside the parser's limit ------------------------------------------


def test_a_listing_nested_just_inside_the_parsers_limit_does_not_end_the_session(
    rig_factory: Callable[..., Rig],
) -> None:
    """``json.loads`` accepts a line a few levels shallower than the recursion limit, while
    keying it (``request_key``'s ``json.dumps``, a few frames deeper) does not. Such a line goes
    to the server like any other, and the session goes on."""
    rig = rig_factory()
    rig.server.gate.set()

    def send() -> None:  # in a thread: if the reader dies, the host's writes would block
        try:
            for depth in range(940, 1000):  # sweeps the window whatever the exact stack depth
                prefix = b'{"jsonrpc":"2.0","id":%d,"method":"tools/list","params":{"a":' % depth
                os.write(rig.host.to_relay, prefix + b"[" * depth + b"]" * depth + b"}}\n")
            rig.host.request(5000, "tools/call")
        except OSError:
            pass  # the relay closed its end

    threading.Thread(target=send, daemon=True).start()
    answer = receive_until(rig, 5000)
    assert answer == {"jsonrpc": "2.0", "id": 5000, "result": {"echo": "tools/call"}}
    assert not rig.server.saw_eof.is_set()


# -- a trusted but corrupt cache file -------------------------------------------------------------


@pytest.mark.parametrize(
    "corrupt",
    [
        '{"tools": "\\ud800"}',  # a lone surrogate: valid JSON, cannot be encoded as UTF-8
        '{"tools": NaN}',  # Python's parser accepts it; it is not JSON, hosts reject the line
    ],
    ids=["lone-surrogate", "nan"],
)
def test_a_corrupt_cache_entry_is_not_served(
    rig_factory: Callable[..., Rig], tmp_path: Path, corrupt: str
) -> None:
    """A file that passes the ownership and format checks yet holds an entry that is not
    writable as strict JSON (a lone surrogate, NaN) is a miss: the server answers instead."""
    key = request_key("tools/list", MODERN_META)
    path = tmp_path / "listing.json"
    path.write_text(f'{{"format": 1, "entries": {{"{key}": {corrupt}}}}}')
    path.chmod(0o600)
    rig = rig_factory(listing_cache._read_entries(path))
    rig.host.request(1, "tools/list", MODERN_META)
    rig.server.gate.set()
    assert receive_until(rig, 1) == {"jsonrpc": "2.0", "id": 1, "result": TOOLS}


# -- answers recorded while the opening lasts ----------------------------------------------------


def test_recorded_answers_are_saved_without_waiting_for_the_opening_to_end(
    rig_factory: Callable[..., Rig], tmp_path: Path
) -> None:
    """A session that only lists keeps the opening going; what it recorded is saved as soon as
    every answer is in, since a host may end the server with a signal before any tool call."""
    rig = rig_factory()
    rig.server.gate.set()
    rig.host.request(1, "initialize", INIT_PARAMS)
    assert rig.host.receive() == {"jsonrpc": "2.0", "id": 1, "result": INIT_RESULT}
    rig.host.request(2, "tools/list")
    assert rig.host.receive() == {"jsonrpc": "2.0", "id": 2, "result": TOOLS}
    path = tmp_path / "listing.json"

    def saved() -> int:
        return len(json.loads(path.read_text())["entries"]) if path.exists() else 0

    deadline = time.monotonic() + 5  # the save follows the answer on the relay's other thread
    while saved() < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert saved() == 2, "the recorded answers are still only in memory"
