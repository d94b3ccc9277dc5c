"""Progress of long commands: a rich bar with rate and ETA on a terminal, log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

log = logging.getLogger("amlmon.progress")

# (stage, done, total, items) — items is what the stage produced so far (e.g. transfers).
Reporter = Callable[[str, int, int, int], None]


class RateColumn(ProgressColumn):
    """Units per second (rich's own speed column assumes bytes)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} {self.unit}/s" if speed else f"? {self.unit}/s")


@contextmanager
def progress_reporter(unit: str = "blocks", every_seconds: float = 5.0) -> Iterator[Reporter]:
    if sys.stderr.isatty():
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[items]:,} items"), RateColumn(unit),
            TimeElapsedColumn(), TimeRemainingColumn(), transient=False,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def show(stage: str, done: int, total: int, items: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total, items=0)
                bar.update(tasks[stage], completed=done, total=total, items=items)

            yield show
        return
    last = [0.0]

    def emit(stage: str, done: int, total: int, items: int) -> None:
        now = time.monotonic()
        if now - last[0] >= every_seconds or done >= total:
            last[0] = now
            log.info("%s: %s/%s %s, %s items", stage, done, total, unit, items)

    yield emit
