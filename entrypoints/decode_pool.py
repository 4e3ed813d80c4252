"""A small, fixed pool of threads for the heavy part of reading input images.

Decoding a large input image holds its full pixel buffer (up to ``max_pixels`` × 4 bytes) for
the length of the decode. The default executor of ``asyncio.to_thread`` grows with the number of
waiting calls (up to 32 threads), and so would the decoded buffers alive at once; here at most
``workers`` decodes run at a time, whatever the number of calls, so the memory they take is at
most ``workers × max_pixels × 4`` bytes. Work that has not started when its call is cancelled
(or its deadline passes) is dropped from the queue; work that has started is told to stop at
its next checkpoint, and its result is ignored.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")


class DecodePool:
    """``await pool.run(fn, *args)`` runs ``fn(*args, stop=event)`` on one of ``workers``
    threads; ``event`` is set when the awaiting call gives up."""

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="image-check")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        stop = threading.Event()
        future = asyncio.get_running_loop().run_in_executor(self._executor, partial(fn, *args, stop=stop))
        try:
            return await future
        except asyncio.CancelledError:
            stop.set()  # cancelling the future already dropped it if it had not started
            raise

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
