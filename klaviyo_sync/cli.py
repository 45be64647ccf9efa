"""The `klaviyo-sync` command: a thin click group whose subcommands live in `klaviyo_sync.commands`.

Subcommands are imported only when invoked, so `klaviyo-sync --help` starts fast. Domain errors
(`KlaviyoSyncError`) and usage errors become a message and exit code 1 here, at the edge; nothing else
prints tracebacks for expected failures. Everything a command writes to stdout and stderr passes
`klaviyo_sync.redaction`, which masks the API key. Exit code 2 is kept for "changes present" (`--detailed-exitcode`).
"""

from __future__ import annotations

import importlib

import click

from klaviyo_sync import __version__

# name -> one-line purpose, shown by `klaviyo-sync --help` without importing the command.
COMMANDS: dict[str, str] = {
    "validate": "Check manifests offline and report every problem at once.",
    "plan": "Show what apply would change in the account, and why.",
    "preview": "Render the templates a plan would change, before and after.",
    "apply": "Make the account match the manifests (or a saved plan).",
    "show": "Print a saved plan (plan --out) as text, markdown or json.",
    "export": "Write manifests and template files from a live account.",
    "unlock": "Break the apply lock of an apply that was killed.",
    "emulator": "Run the local Klaviyo emulator on 127.0.0.1.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(f"klaviyo_sync.commands.{cmd_name}")
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl(list(COMMANDS.items()))

    def invoke(self, ctx: click.Context) -> object:
        import os

        from klaviyo_sync.redaction import redacted_output, register_secret

        # Known before any command runs, so even a message about a malformed base URL cannot show it.
        register_secret(os.environ.get("KLAVIYO_API_KEY"))
        with redacted_output():
            return self._invoke(ctx)

    def _invoke(self, ctx: click.Context) -> object:
        from klaviyo_sync.errors import KlaviyoSyncError

        try:
            return super().invoke(ctx)
        except KlaviyoSyncError as exc:
            raise UserError(str(exc)) from None
        except click.UsageError as exc:
            # Exit code 2 means "changes present" under `plan --detailed-exitcode`; a mistyped option is an error.
            exc.exit_code = 1
            raise


class UserError(click.ClickException):
    """An expected failure: printed as `Error: ...` on stderr, exit code 1, no traceback."""

    exit_code = 1

    def show(self, file: object = None) -> None:
        click.echo(f"Error: {self.message}", err=True)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  klaviyo-sync validate examples/shop
  klaviyo-sync plan examples/shop --emulator --emulator-seed examples/shop/emulator-seed.yaml
  KLAVIYO_API_KEY=... klaviyo-sync plan --format markdown --detailed-exitcode
  klaviyo-sync apply plan.json

The API key is read from KLAVIYO_API_KEY or --api-key-file, never from the command line.""",
)
@click.version_option(__version__, prog_name="klaviyo-sync")
def group() -> None:
    """Keep a Klaviyo account's templates, flow emails, lists and tags in git.

    YAML manifests describe the account; `plan` shows the difference from the live account and
    `apply` makes the change.
    """


def main() -> None:
    from klaviyo_sync.redaction import redacted_output

    # Around the whole run too: what Python prints after the command (an unexpected traceback) is redacted as well.
    with redacted_output():
        group(prog_name="klaviyo-sync")
