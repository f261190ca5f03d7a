"""A real pseudo-terminal for CLI tests: the command runs as it would in a person's terminal
(stdin, stdout and stderr a tty, its own session with that tty as its controlling terminal), so
Ctrl-C is the terminal's: the byte 0x03 typed, and the line discipline sends SIGINT."""

from __future__ import annotations

import os
import pty
import select
import signal
import time
from collections.abc import Sequence


class Terminal:
    """`Terminal(argv, env)`: the command started in a pty; read its screen, type, signal it."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], cwd: str | None = None, columns: int = 120) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: a new session whose controlling terminal is the pty
            try:
                if cwd:
                    os.chdir(cwd)
                import fcntl
                import struct
                import termios

                fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
                os.execve(argv[0], list(argv), env)
            finally:
                os._exit(127)
        self.pid = pid
        self.fd = fd
        self.output = b""
        self.status: int | None = None

    def read_until(self, text: str, timeout: float = 30.0) -> str:
        """Read until `text` appears in what the terminal showed; AssertionError naming what it showed."""
        deadline = time.monotonic() + timeout
        while text.encode() not in self.output:
            left = deadline - time.monotonic()
            if left <= 0 or (not self._read(min(left, 0.2)) and self._exited()):
                break
        shown = self.text
        assert text in shown, f"{text!r} never appeared; the terminal showed:\n{shown[-3000:]}"
        return shown

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.output += chunk
        return bool(chunk)

    def _exited(self) -> bool:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == 0:
                return False
            self.status = status
        return True

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def ctrl_c(self) -> None:
        """What pressing Ctrl-C does: the terminal sends SIGINT to the foreground process group."""
        self.type(b"\x03")

    def signal(self, signum: int = signal.SIGTERM) -> None:
        os.kill(self.pid, signum)

    def wait(self, timeout: float = 60.0) -> int:
        """Read everything until the command exits; its exit code (128 + N when killed by signal N)."""
        deadline = time.monotonic() + timeout
        while not self._exited():
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                raise AssertionError(f"the command did not exit in {timeout} s; it showed:\n{self.text[-3000:]}")
            self._read(0.1)
        while self._read(0.05):
            pass
        os.close(self.fd)
        assert self.status is not None
        return os.waitstatus_to_exitcode(self.status) if not os.WIFSIGNALED(self.status) else 128 + os.WTERMSIG(self.status)

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace").replace("\r\n", "\n")
