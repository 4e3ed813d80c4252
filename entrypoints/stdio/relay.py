"""A relay between the host's stdio and the server, which answers a session's opening listings
from the listing cache while the MCP framework is still importing.

The server itself is unchanged: it reads and writes fds 0 and 1 as any stdio server does, but
those are pipes to this relay, which holds the host's real stdin and stdout. Every line the host
sends reaches the server, in order; the relay only answers the opening requests it has a
remembered answer for (``initialize``, ``tools/list``, ...), ahead of the server. When the
server's own answer to such a request arrives, the relay drops it (the host already has one) and
compares it with what it served: a difference updates the cache and, in a legacy session, sends
the host ``notifications/tools/list_changed`` (or the prompts/resources one) so that it lists
again. Answers to requests the relay did not know are recorded for the next start.

The opening ends at the first request that is not a listing (a tool call, typically). From then
on both directions are copied as raw bytes, unparsed. Lines reach the server through a pipe
(64 KiB on Linux) that nothing drains until the framework has loaded: a host that sends more
than that before its first answer waits for the server, as it would without the relay.

JSON-RPC's rules hold through the relay. A request whose id is null, not a string or an
integer, or the same as one still pending, is passed to the server untouched and never answered
or recorded from the cache. A server reply settles a pending request only when it answers that
request's method (a ``tools/list`` result has ``tools``, ...), so two requests sharing an id
cannot have their answers swapped or dropped. A cached ``initialize`` answer never speaks for the
server about itself: its ``instructions`` and ``serverInfo`` are replaced, before it is served,
by the ones this code states (``identity``), and when the server's own answer still differs the
entry is not served again in this process.

Only stdlib is imported here: the relay starts before anything slow has loaded.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import sys
import threading
from typing import Any

from entrypoints.stdio.listing_cache import CACHEABLE_METHODS, ListingCache, request_key

log = logging.getLogger("image_gen_mcp.stdio_relay")

CHUNK = 1 << 16
# Lines longer than this are not parsed: no listing request or answer comes near it, while a
# tool call carrying an image (or its result) easily does.
MAX_PARSED_LINE = 4 << 20
LIST_CHANGED = {
    "tools/list": "notifications/tools/list_changed",
    "prompts/list": "notifications/prompts/list_changed",
    "resources/list": "notifications/resources/list_changed",
    "resources/templates/list": "notifications/resources/list_changed",
}
# A key every successful answer to the method carries: how a reply is matched to a method.
RESULT_KEYS = {
    "initialize": "protocolVersion",
    "tools/list": "tools",
    "prompts/list": "prompts",
    "resources/list": "resources",
    "resources/templates/list": "resourceTemplates",
}
IDENTITY_FIELDS = ("instructions", "serverInfo")


class StdioRelay:
    """Copies host ↔ server, answering opening listings early from ``cache``.

    ``wire_in``/``wire_out`` are the host's stdin and stdout; ``to_server`` is the write end of
    the server's stdin pipe and ``from_server`` the read end of its stdout pipe. The relay owns
    all four descriptors."""

    def __init__(
        self,
        cache: ListingCache,
        wire_in: int,
        wire_out: int,
        to_server: int,
        from_server: int,
        identity: dict[str, Any] | None = None,
    ) -> None:
        self._cache = cache
        self._identity = identity  # instructions and serverInfo as this code states them
        self._distrusted: set[str] = set()  # cache keys not served again in this process
        self._wire_in = wire_in
        self._wire_out = wire_out
        self._to_server = to_server
        self._from_server = from_server
        self._lock = threading.Lock()  # guards the state below and every write to wire_out
        self._opening = True
        self._raw_out = False
        self._session: str | None = None  # key of a legacy session's initialize parameters
        self._served: dict[str, tuple[str, str]] = {}  # request id → (cache key, method)
        self._recording: dict[str, tuple[str, str]] = {}
        self._wire_broken = False
        self._server_done = threading.Event()
        self._threads = [
            threading.Thread(target=self._host_to_server, name="stdio-relay-in", daemon=True),
            threading.Thread(target=self._server_to_host, name="stdio-relay-out", daemon=True),
        ]

    @classmethod
    def install(cls, cache: ListingCache, identity: dict[str, Any] | None = None) -> StdioRelay:
        """Put the relay between this process's fds 0/1 and the host, and start it.

        Call before the server opens its stdio transport; the server then reads and writes
        fds 0 and 1 exactly as it would without the relay."""
        if sys.stdout is not None:  # None when the process was started with fd 1 closed
            sys.stdout.flush()
        wire_in, wire_out = os.dup(0), os.dup(1)
        server_stdin, to_server = os.pipe()
        from_server, server_stdout = os.pipe()
        os.dup2(server_stdin, 0)
        os.dup2(server_stdout, 1)
        os.close(server_stdin)
        os.close(server_stdout)
        relay = cls(cache, wire_in, wire_out, to_server, from_server, identity)
        relay.start()
        return relay

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def finish(self, timeout: float = 10.0) -> None:
        """The server has stopped: forward what it wrote last, save the cache, close up."""
        self._server_done.set()
        self._threads[1].join(timeout)
        self._cache.save()
        for fd in (self._wire_out, self._from_server):
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- host → server ---------------------------------------------------------------------

    def _host_to_server(self) -> None:
        source = os.fdopen(self._wire_in, "rb", buffering=CHUNK)
        try:
            while self._opening:
                line = source.readline()
                if not line:
                    return
                self._consider(line)
                _write_all(self._to_server, line)
            while chunk := source.read1(CHUNK):
                _write_all(self._to_server, chunk)
        except OSError:
            pass  # the host or the server has gone: either way this direction is over
        finally:
            self._end_opening()
            with contextlib.suppress(OSError):
                os.close(self._to_server)  # the server reads end-of-file and stops
            source.close()

    def _consider(self, line: bytes) -> None:
        """Answer ``line`` from the cache if it is an opening listing the cache knows."""
        if len(line) > MAX_PARSED_LINE:
            self._end_opening()
            return
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):
            return  # the server answers the parse error (or refuses the nesting)
        if not isinstance(message, dict):
            self._end_opening()  # a batch: not an opening listing
            return
        method = message.get("method")
        if "id" not in message or not isinstance(method, str):
            return  # a notification or a reply: forwarded as is
        if method not in CACHEABLE_METHODS:
            self._end_opening()
            return
        if not _valid_id(message["id"]):
            return  # null, a float, an object...: the server answers it, the cache stays out
        params = message.get("params")
        try:
            key = request_key(method, params, None if method == "initialize" else self._session)
            request_id = _id_key(message["id"])
        except RecursionError:  # parsed, yet nested too deep to key: the server answers it
            self._end_opening()
            return
        with self._lock:
            if request_id in self._served or request_id in self._recording:
                return  # an id still pending: forwarded untouched, neither served nor recorded
            if method == "initialize":
                self._session = key
            cached = None if key in self._distrusted else self._cache.get(key)
            if method == "initialize" and isinstance(cached, dict) and self._identity is not None:
                # The cache never speaks for the server about itself.
                cached = {**cached, **self._identity}
            answer = None
            if cached is not None:
                # An entry that cannot be written as JSON (a corrupt file) is a miss: the
                # server's answer replaces it.
                with contextlib.suppress(ValueError, RecursionError):
                    answer = _response(message["id"], cached)
            if answer is None:
                self._recording[request_id] = (key, method)
                return
            self._served[request_id] = (key, method)
            self._write_wire(answer)

    def _end_opening(self) -> None:
        with self._lock:
            self._opening = False
            settled = self._go_raw_when_settled()
        if settled:
            # Saved now, not at exit: hosts often end a stdio server with a signal.
            self._cache.save()

    # -- server → host ---------------------------------------------------------------------

    def _server_to_host(self) -> None:
        # The platform's best readiness API (epoll, kqueue ...): select.poll is not everywhere.
        with selectors.DefaultSelector() as poller:
            poller.register(self._from_server, selectors.EVENT_READ)
            pending = bytearray()
            # OSError: the pipe was closed under us (finish() gave up waiting); nothing is left.
            with contextlib.suppress(OSError):
                self._pump(poller, pending)
        if pending:
            with self._lock:
                self._write_wire(bytes(pending))

    def _pump(self, poller: selectors.BaseSelector, pending: bytearray) -> None:
        while True:
            # Read the flag before polling: once the server has stopped, all it wrote is
            # already in the pipe, so an empty poll after that means there is nothing left.
            stopped = self._server_done.is_set()
            if not poller.select(0.1):
                if stopped:
                    return
                continue
            chunk = os.read(self._from_server, CHUNK)
            if not chunk:
                return
            if self._raw_out and not pending:
                with self._lock:
                    self._write_wire(chunk)
                continue
            pending += chunk
            search_from = len(pending) - len(chunk)  # a long line is scanned once, not per chunk
            while (end := pending.find(b"\n", search_from)) >= 0:
                line = bytes(pending[: end + 1])
                del pending[: end + 1]
                search_from = 0
                self._from_server_line(line)
            if self._raw_out and pending:
                with self._lock:
                    self._write_wire(bytes(pending))
                pending.clear()

    def _from_server_line(self, line: bytes) -> None:
        with self._lock:
            message = None
            if (self._served or self._recording) and len(line) <= MAX_PARSED_LINE:
                with contextlib.suppress(ValueError, RecursionError):
                    message = json.loads(line)
            if not isinstance(message, dict) or "id" not in message or "method" in message:
                self._write_wire(line)  # not a reply (a notification, or a request to the host)
            else:
                self._reply(message, line)
            self._go_raw_when_settled()
            answered = not self._served and not self._recording
        if answered:
            # Every answer is in and checked: save now (a no-op when nothing changed), not only
            # once the opening ends, which a session that only lists and is then signalled
            # never reaches.
            self._cache.save()

    def _reply(self, message: dict[str, Any], line: bytes) -> None:
        request_id = _id_key(message["id"])
        pending = self._served.get(request_id) or self._recording.get(request_id)
        if pending is not None and not _answers(pending[1], message):
            self._write_wire(line)  # the answer to another request that reused the id
            return
        if request_id in self._served:
            # The host already has the cached answer: check it, and drop this duplicate.
            key, method = self._served.pop(request_id)
            if "result" not in message:
                self._cache.discard(key)
                return
            if method == "initialize":
                self._check_identity(key, message["result"])
            if self._cache.put(key, message["result"]):
                log.info("cached %s answer was stale; updated", method)
                if method in LIST_CHANGED and self._session is not None:
                    notice = {"jsonrpc": "2.0", "method": LIST_CHANGED[method]}
                    self._write_wire(json.dumps(notice).encode() + b"\n")
            return
        if request_id in self._recording:
            key, _method = self._recording.pop(request_id)
            if "result" in message:
                self._cache.put(key, message["result"])
        self._write_wire(line)

    def _check_identity(self, key: str, result: Any) -> None:
        """The server's instructions or serverInfo differ from what this code states (and so
        from what the host was given): stop serving that entry for the rest of the process."""
        if self._identity is None or not isinstance(result, dict):
            return
        if any(result.get(name) != self._identity.get(name) for name in IDENTITY_FIELDS):
            log.warning("initialize answer differs from the relay's identity; no longer served from cache")
            self._distrusted.add(key)

    def _go_raw_when_settled(self) -> bool:
        """Once the opening is over and every early answer is checked, stop parsing."""
        if not self._raw_out and not self._opening and not self._served and not self._recording:
            self._raw_out = True
            return True
        return False

    def _write_wire(self, data: bytes) -> None:
        """Write to the host (callers hold the lock). A host that stopped reading is ignored:
        the server still drains, so nothing it is writing is left half-done."""
        if self._wire_broken:
            return
        try:
            _write_all(self._wire_out, data)
        except OSError:
            self._wire_broken = True


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _valid_id(request_id: Any) -> bool:
    # JSON-RPC ids are strings or integers (null only in replies to unparseable requests);
    # bool is an int subclass in Python but true/false are not ids.
    return isinstance(request_id, str) or (isinstance(request_id, int) and not isinstance(request_id, bool))


def _answers(method: str, message: dict[str, Any]) -> bool:
    """Whether ``message`` can be the reply to a ``method`` request: an error can answer
    anything; a result must carry the method's mark (``ping`` and the rest: any object)."""
    if "result" not in message:
        return True
    result = message["result"]
    mark = RESULT_KEYS.get(method)
    return isinstance(result, dict) and (mark is None or mark in result)


def _id_key(request_id: Any) -> str:
    # 1 and "1" are different JSON-RPC ids.
    return json.dumps(request_id)


def _response(request_id: Any, result: Any) -> bytes:
    message = {"jsonrpc": "2.0", "id": request_id, "result": result}
    text = json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode() + b"\n"  # ValueError for NaN or a lone surrogate: not JSON on the wire
