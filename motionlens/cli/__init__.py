"""The `motionlens` console command. Each sub-module contributes its commands through `COMMANDS`."""

from __future__ import annotations

import importlib
import os
import sys

import click

from ..core.errors import MotionlensError

# One module per area; each defines COMMANDS = [click commands or groups].
_COMMAND_MODULES = ("synth", "data", "dataprep", "models", "train", "infer", "flow", "ava", "ava_detect", "demo")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="motionlens")
def cli() -> None:
    """motionlens: recognise human actions in video with PyTorch."""


for _name in _COMMAND_MODULES:
    for _command in importlib.import_module(f"{__name__}.{_name}").COMMANDS:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr, never a traceback; exit status 2 for a
    command line that asks for the impossible, 1 for work that failed (see `errors`).
    MOTIONLENS_DEBUG=1 shows the traceback instead."""
    try:
        cli.main(args=argv, prog_name="motionlens", standalone_mode=False)
    except MotionlensError as err:
        if os.environ.get("MOTIONLENS_DEBUG"):
            raise
        click.secho(f"error: {err}", fg="red", err=True)
        sys.exit(err.exit_code)
    except OSError as err:  # a full disk, a read-only folder, a file that vanished: not a bug, no traceback
        if os.environ.get("MOTIONLENS_DEBUG"):
            raise
        where = f": {err.filename}" if err.filename else ""
        click.secho(f"error: {err.strerror or err}{where}", fg="red", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as err:  # one line, with where to look, instead of click's usage block
        command = err.ctx.command_path if err.ctx is not None else "motionlens"
        click.secho(f"error: {err.format_message()} (see `{command} -h`)", fg="red", err=True)
        sys.exit(err.exit_code)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
