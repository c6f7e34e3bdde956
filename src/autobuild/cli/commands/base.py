"""The base class of the ``autobuild`` subcommands."""

from __future__ import annotations

import argparse

__all__ = ["Command"]


class Command:
    """A subcommand: ``add_arguments`` declares its options, ``run`` does the work."""

    name = ""
    help = ""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Declare the command's options."""

    def run(self, args: argparse.Namespace) -> int:
        """Run the command; return the exit status."""
        raise NotImplementedError
