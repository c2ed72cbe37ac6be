"""A dependency-free progress bar for the commands that run work in the foreground."""

from __future__ import annotations

import sys
from typing import TextIO


class ProgressBar:
    """Redraws one line on a terminal; prints one line per step when output is not a terminal."""

    def __init__(self, total: int, *, label: str = "", width: int = 30, stream: TextIO | None = None):
        self.total = max(total, 1)
        self.label = label
        self.width = width
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()

    def update(self, done: int, note: str = "") -> None:
        filled = int(self.width * done / self.total)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{self.total} {self.label} {note}"
        if self.tty:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
