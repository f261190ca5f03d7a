"""A writer process for the concurrency tests: puts N keys into one namespace, then exits."""

from __future__ import annotations

import sys


def main(url: str, writer: int, count: int) -> None:
    from aos_core.execution.clock import SystemClock
    from aos_core.memory import memory_from_url

    with memory_from_url(url, clock=SystemClock()) as memory:
        for i in range(count):
            memory.put(("shared",), f"w{writer}-{i}", {"writer": writer, "i": i, "text": f"note {i}"})
            memory.put(("shared",), "last", {"writer": writer, "i": i})


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
