"""Progress reporting for long work (import, export, migrations, scoring).

Services report progress through this small protocol and never draw anything; the CLI
passes a tqdm-backed reporter (:func:`engine.cli._progress.terminal_progress`), other
callers pass nothing and get :data:`NO_PROGRESS`.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, label: str, total: int | None) -> None: ...

    def advance(self, amount: int = 1) -> None: ...

    def finish(self) -> None: ...


class _NoProgress:
    def start(self, label: str, total: int | None) -> None:
        pass

    def advance(self, amount: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


NO_PROGRESS: Progress = _NoProgress()
