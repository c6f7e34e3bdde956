"""The ``autobuild`` subcommands, one module each; :data:`COMMANDS` is their registry.

The parser adds the commands in the order of :data:`COMMANDS` (the order ``autobuild --help``
lists them in). Importing a command module is cheap: every library import a command needs is
made inside its ``add_arguments`` or ``run``.
"""

from __future__ import annotations

from autobuild.cli.commands.base import Command
from autobuild.cli.commands.build import BuildCommand
from autobuild.cli.commands.demo import DemoCommand
from autobuild.cli.commands.ensemble import EnsembleCommand
from autobuild.cli.commands.exhaustive import ExhaustiveCommand
from autobuild.cli.commands.export_onnx import ExportOnnxCommand
from autobuild.cli.commands.fronts import FrontsCommand
from autobuild.cli.commands.measure import MeasureCommand
from autobuild.cli.commands.predict import PredictCommand
from autobuild.cli.commands.report import ReportCommand
from autobuild.cli.commands.sample import SampleCommand
from autobuild.cli.commands.score import ScoreCommand
from autobuild.cli.commands.search import SearchCommand
from autobuild.cli.commands.spaces import SpacesCommand
from autobuild.cli.commands.study import StudyCommand
from autobuild.cli.commands.train import TrainCommand

__all__ = ["COMMANDS", "Command"]

COMMANDS: tuple[type[Command], ...] = (
    TrainCommand,
    PredictCommand,
    ScoreCommand,
    BuildCommand,
    EnsembleCommand,
    ExhaustiveCommand,
    SearchCommand,
    StudyCommand,
    FrontsCommand,
    ReportCommand,
    MeasureCommand,
    ExportOnnxCommand,
    SpacesCommand,
    SampleCommand,
    DemoCommand,
)
