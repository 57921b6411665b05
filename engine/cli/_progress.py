"""A tqdm-backed :class:`engine.progress.Progress` for the terminal; silent when not a TTY."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


class TerminalProgress:
    def __init__(self) -> None:
        self._bar: Any = None

    def start(self, label: str, total: int | None) -> None:
        self.finish()
        # disable=None: tqdm turns itself off when stderr is not a terminal (CI, pipes)
        self._bar = tqdm(total=total, desc=label, unit=" rows", unit_scale=True, disable=None, file=sys.stderr)

    def advance(self, amount: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(amount)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def terminal_progress() -> TerminalProgress:
    return TerminalProgress()
