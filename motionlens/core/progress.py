"""Rich progress bars with rate and ETA, shown only where they help (the main process, rank 0), and
the two consoles: `console_out` (stdout) for a command's results, `console` (stderr) for progress,
warnings and logs, so that `motionlens data check ROOT > report.txt` captures the report alone."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

console = Console(stderr=True)
# Results are whole lines that scripts and files keep: never wrapped at the terminal's width.
console_out = Console(soft_wrap=True)


@contextmanager
def progress_bar(total: int | None, description: str, enabled: bool = True,
                 unit: str = "it") -> Iterator[Callable[..., None]]:
    """Yield `advance(n=1, total=None, **fields)`; fields (e.g. loss=0.5) are shown after the bar."""
    if not enabled:
        yield lambda n=1, **fields: None
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("[cyan]{task.fields[rate]}"),
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
        # Outside a terminal (logs, pipes) a bar would only print its last frame: leave it out.
        console=console, transient=False, disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task(description, total=total, info="", rate="")

        def advance(n: int = 1, total: int | None = None, **fields) -> None:
            speed = progress.tasks[0].speed
            rate = f"{speed:.1f} {unit}/s" if speed else ""
            info = " ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in fields.items())
            progress.update(task, advance=n, rate=rate, info=info, **({"total": total} if total else {}))

        yield advance


@contextmanager
def progress_counter(description: str, enabled: bool = True, unit: str = "it") -> Iterator[Callable[[int, int], None]]:
    """Yield `report(done, total)`, the callback form that indexing and synthesis take."""
    with progress_bar(None, description, enabled=enabled, unit=unit) as advance:
        seen = {"done": 0}

        def report(done: int, total: int) -> None:
            advance(done - seen["done"], total=total)
            seen["done"] = done

        yield report
