"""The `motionlens` console command. Each sub-module contributes its commands through `COMMANDS`."""

from __future__ import annotations

import importlib
import sys

import click

from ..errors import MotionlensError

# One module per area; each defines COMMANDS = [click commands or groups].
_COMMAND_MODULES = ("synth", "data", "models", "train", "infer", "flow", "ava", "demo")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="motionlens")
def cli() -> None:
    """motionlens: recognise human actions in video with PyTorch."""


for _name in _COMMAND_MODULES:
    for _command in importlib.import_module(f"{__name__}.{_name}").COMMANDS:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    try:
        cli.main(args=argv, prog_name="motionlens", standalone_mode=False)
    except MotionlensError as err:
        click.secho(f"error: {err}", fg="red", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
