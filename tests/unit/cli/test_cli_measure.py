from tests.conftest import read_rows

from autobuild.cli.main import main


def test_measure_counts_in_file_order_and_resumes(tmp_path, monkeypatch):
    archs = tmp_path / "a.csv"
    archs.write_text("arch\n02012100\n11111221\n22212202\n")
    out = tmp_path / "m.csv"
    argv = [
        "measure",
        "--space",
        "nasbench-macro",
        "--archs",
        archs,
        "--metric",
        "params",
        "--out",
        out,
    ]
    assert main([str(a) for a in argv]) == 0
    rows = read_rows(out)
    assert [r["arch_id"] for r in rows] == ["02012100", "11111221", "22212220"]
    assert [r["params"] for r in rows[:2]] == ["890666", "2181386"]

    # A run killed after the first row: only the rest is measured again.
    lines = out.read_text().splitlines()
    out.write_text(
        "\n".join([lines[0], lines[1], *[ln.rsplit(",", 1)[0] + "," for ln in lines[2:]]]) + "\n"
    )
    measured = []
    from autobuild.evaluation import CostEvaluator

    original = CostEvaluator._evaluate

    def spy(self, chunk):
        measured.extend(chunk)
        return original(self, chunk)

    monkeypatch.setattr(CostEvaluator, "_evaluate", spy)
    assert main([str(a) for a in argv]) == 0
    assert len(measured) == 2
    assert [r["params"] for r in read_rows(out)][:2] == ["890666", "2181386"]


def test_measure_refuses_a_space_without_networks(tmp_path, tiny_toml, tiny_csv, capsys):
    out = tmp_path / "m.csv"
    code = main(
        [
            "measure",
            "--space",
            str(tiny_toml),
            "--archs",
            str(tiny_csv),
            "--metric",
            "flops",
            "--out",
            str(out),
        ]
    )
    assert code == 1
    assert "cannot build networks" in capsys.readouterr().err
