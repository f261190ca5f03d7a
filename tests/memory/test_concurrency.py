"""Concurrent writers to one namespace lose nothing: threads sharing a Memory, threads with their
own, and separate processes, on every backend."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aos_core.memory import Memory

WRITERS = 4
EACH = 40
EACH_PROCESS = 150  # long enough that the processes' writes overlap


def _write(memory: Memory, writer: int) -> None:
    for i in range(EACH):
        memory.put(("shared",), f"w{writer}-{i}", {"writer": writer, "i": i, "text": f"note {i}"})
        memory.put(("shared",), "last", {"writer": writer, "i": i})


def _run_threads(target: Callable[[int], None]) -> None:
    failures: list[BaseException] = []

    def guarded(writer: int) -> None:
        try:
            target(writer)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=guarded, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures


def _assert_complete(memory: Memory, each: int = EACH) -> None:
    everything = [h for offset in range(0, 2000, 500) for h in memory.search(("shared",), limit=500, offset=offset)]
    keys = {h.key for h in everything}
    assert keys == {f"w{w}-{i}" for w in range(WRITERS) for i in range(each)} | {"last"}
    assert len(everything) == WRITERS * each + 1
    assert len(memory.search(("shared",), query="note", limit=1000)) == WRITERS * each


def test_threads_sharing_one_memory_lose_nothing(memory: Memory) -> None:
    _run_threads(lambda w: _write(memory, w))
    _assert_complete(memory)


def test_threads_each_with_their_own_memory_lose_nothing(open_memory: Any) -> None:
    memories = [open_memory() for _ in range(WRITERS)]
    _run_threads(lambda w: _write(memories[w], w))
    _assert_complete(memories[0])


def test_processes_writing_one_namespace_lose_nothing(store_url: str, open_memory: Any) -> None:
    open_memory()  # creates the schema first, as a runtime would
    script = Path(__file__).with_name("writers.py")
    processes = [
        subprocess.Popen([sys.executable, str(script), store_url, str(w), str(EACH_PROCESS)], stderr=subprocess.PIPE, text=True)
        for w in range(WRITERS)
    ]
    for process in processes:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
    _assert_complete(open_memory(), EACH_PROCESS)
