"""Command-line interface (``autobuild --help``)."""
