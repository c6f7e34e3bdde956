"""``python -m autobuild``."""

from autobuild.cli.main import entrypoint

entrypoint()
