"""The command line as a process-wide citizen: logging, import cost and version."""

import contextlib
import io
import logging
import subprocess
import sys
from importlib.metadata import version

import pytest

import autobuild
from autobuild.cli.main import _COMMANDS, main


def _run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


def test_repeated_invocations_leave_logging_as_they_found_it(tmp_path):
    logger = logging.getLogger("autobuild")
    before = (list(logger.handlers), logger.level)

    first = io.StringIO()
    with contextlib.redirect_stderr(first):
        assert (
            main(
                [
                    "sample",
                    "--space",
                    "nasbench-macro",
                    "--n",
                    "3",
                    "--out",
                    str(tmp_path / "a.csv"),
                ]
            )
            == 0
        )
    assert "Wrote 3 architectures" in first.getvalue()
    first.close()  # as pytest's capture or a notebook cell does with its stream
    assert (list(logger.handlers), logger.level) == before

    code, second = _run(
        ["sample", "--space", "nasbench-macro", "--n", "2", "--out", str(tmp_path / "b.csv")]
    )
    assert code == 0
    assert "Logging error" not in second
    assert second.count("Wrote 2 architectures") == 1
    assert (list(logger.handlers), logger.level) == before


def test_quiet_and_verbose_do_not_stick(tmp_path):
    out = str(tmp_path / "a.csv")
    assert (
        "Wrote"
        not in _run(["-q", "sample", "--space", "nasbench-macro", "--n", "2", "--out", out])[1]
    )
    assert "Wrote" in _run(["sample", "--space", "nasbench-macro", "--n", "2", "--out", out])[1]


def test_the_library_adds_only_a_null_handler():
    handlers = logging.getLogger("autobuild").handlers
    assert all(isinstance(h, logging.NullHandler) for h in handlers)


def test_version_comes_from_the_installed_metadata():
    assert autobuild.__version__ == version("autobuild")
    code = subprocess.run(
        [sys.executable, "-m", "autobuild", "--version"], capture_output=True, text=True
    )
    assert code.stdout.strip() == f"autobuild {version('autobuild')}"


def test_help_version_and_spaces_do_not_import_torch():
    cheap = [["--version"], ["--help"], ["spaces"], ["spaces", "ofa-mbv3"]]
    cheap += [[name, "--help"] for name in _COMMANDS]
    # One process runs them all and names the first invocation that imported a heavy package.
    probe = (
        "import contextlib, io, sys\n"
        "from autobuild.cli.main import main\n"
        "HEAVY = ('torch', 'torch_geometric', 'scipy', 'pymoo')\n"
        f"for argv in {cheap!r}:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        try:\n"
        "            main(argv)\n"
        "        except SystemExit:\n"
        "            pass\n"
        "    heavy = [m for m in HEAVY if m in sys.modules]\n"
        "    if heavy:\n"
        "        print(argv, heavy)\n"
        "        break\n"
        "else:\n"
        "    print('none')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "none", done.stderr


def test_subpackages_are_reachable_from_the_top_level_without_importing_them():
    probe = (
        "import sys\n"
        "import autobuild as ab\n"
        "assert 'torch' not in sys.modules\n"
        "assert 'autobuild.ensemble' not in sys.modules\n"
        "ab.spaces.get('nasbench-macro')\n"
        "assert 'torch' not in sys.modules\n"
        "names = [ab.ensemble.fit_ensemble, ab.search.run_method, ab.networks, ab.reports,\n"
        "         ab.construction.reduce_space, ab.AutoBuildPredictor, ab.train_predictor]\n"
        "assert all(n is not None for n in names)\n"
        "assert set(ab.__all__) <= set(dir(ab))\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr


def test_unknown_attributes_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        autobuild.nope  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        autobuild.predictor.nope  # noqa: B018
