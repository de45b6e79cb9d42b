"""CLI commands: models (`motionlens models` lists the model zoo)."""

from __future__ import annotations

import click

from ..core.errors import MotionlensError
from ..core.progress import console_out


@click.command("models")
@click.option(
    "--name",
    "pattern",
    default=None,
    help="Only models whose name contains this text (or matches a glob like 'r*_18').",
)
@click.option("--weights", "show_weights", is_flag=True,
              help="Show each weights file's full input contract (frame rate, clip, resize, crop, values) and its source.")
def models_command(pattern: str | None, show_weights: bool) -> None:
    """List the model zoo: parameters, compute at the default input, input size and pretrained weights."""
    from rich.table import Table

    from ..models import list_models
    from ..models.profile import model_summary

    names = list_models()
    if pattern:
        names = list_models(pattern) if any(c in pattern for c in "*?[") else [n for n in names if pattern in n]
        if not names:
            raise MotionlensError(f"no model matches {pattern!r}; models: {', '.join(list_models())}")
    if show_weights:
        console_out.print(weights_table(names), soft_wrap=False)  # tables fit the width
        return
    table = Table(
        title="motionlens models", caption="GFLOPs as video papers count them (X3D-XS 0.6 at 160 px, R3D-18 40.7): multiply-adds, i.e. GMACs; 1 MAC = 2 FLOPs. One clip at the default input."
    )
    table.add_column("name", style="bold")
    table.add_column("params (M)", justify="right")
    table.add_column("GFLOPs (GMACs)", justify="right")
    table.add_column("input C×T×H×W", justify="right")
    table.add_column("weights")
    for name in names:
        row = model_summary(name)
        table.add_row(
            row["name"],
            f"{row['params_m']:.2f}",
            f"{row['gmacs']:.2f}",
            "×".join(map(str, row["input"])),
            ", ".join(row["weights"]) or "-",
        )
    console_out.print(table, soft_wrap=False)


def weights_table(names: list[str]):
    """Each weights file as a small two-column table (aspect, value): readable at any width."""
    from rich.console import Group
    from rich.table import Table

    from ..models.profile import weights_rows

    tables = []
    for row in weights_rows(names):
        table = Table(title=f"{row['model']} · {row['weights']}", title_justify="left", show_header=False)
        table.add_column("aspect", style="bold")
        table.add_column("value", overflow="fold")
        for key in ("classes", "download", "time", "resize", "crop", "values", "eval", "source"):
            table.add_row(key, row[key])
        tables.append(table)
    if not tables:
        raise MotionlensError(f"no pretrained weights for {', '.join(names)}")
    return Group(*tables, "Files loaded by path get the contract of the weights they match (by class count).")


COMMANDS = [models_command]
