"""The ``studio`` command: assembles the group from the command modules and turns
every failure into a message and an exit code.

The commands live in :mod:`studio.cli_screenplay` (check, shots, graph, prompts, models,
new, schema, import), :mod:`studio.cli_render` (render, takes, take, cache),
:mod:`studio.cli_keyframes` (keyframes, approve),
:mod:`studio.cli_identity` (likeness, qa, sign, verify) and :mod:`studio.cli_web` (serve,
status, estimate); what they share is in :mod:`studio.cli_common`.

Errors meant for people (:class:`StudioError`) print without a traceback and exit 1;
usage errors exit 2; Ctrl-C exits 130 after saying how to continue.
"""

from __future__ import annotations

import sys

import click
from rich.text import Text

from studio import __version__, cli_identity, cli_keyframes, cli_render, cli_screenplay, cli_web
from studio.cli_common import err, print_problems
from studio.errors import ScreenplayError, StudioError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="studio")
def cli() -> None:
    """studio: write a screenplay in YAML, get a film."""


for _module in (cli_screenplay, cli_render, cli_keyframes, cli_identity, cli_web):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn every failure into a message and an exit code."""
    try:
        cli.main(args=argv, prog_name="studio", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        err.print("interrupted: finished shots are kept in the cache; run the same command again to continue",
                  soft_wrap=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except ScreenplayError as exc:
        head = Text(f"{exc.path or 'screenplay'}: ", style="bold")
        n = len([p for p in exc.problems if p.severity == "error"])
        head.append(f"{n} problem{'s' if n != 1 else ''}", style="red")
        err.print(head, soft_wrap=True)
        print_problems(exc.problems)
        return exc.exit_code
    except StudioError as exc:
        err.print(Text("error: ", style="bold red") + Text(str(exc)), soft_wrap=True)
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BrokenPipeError:
        return 0
    return 0


def entry() -> None:  # console script
    sys.exit(main())
