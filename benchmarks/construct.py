"""How good are the architectures AutoBuild builds? (prints Markdown tables)

NAS-Bench-Macro, true ranks out of all 6,561 keys (ties averaged). For N labelled
architectures (N=100: seeds 0-4, N=1000: seeds 0-2) the predictor trains on all N with the
default settings; reported per seed and as medians:

* built top-1 (the best-scored subgraph of every stage), the best architecture of the K=3
  reduced space (27 architectures), and the reduced space's top-1 when re-ranked by the full
  predictor;
* reference points computed by this script on the same samples: the best of the N
  labelled, and a ridge regression on stage-subgraph one-hot features (alpha = 1; a stage
  subgraph's score is its coefficient) used for the same construction; and once, a
  least-squares fit of one score per stage subgraph on all 6,561 keys, the best any
  stage-additive scorer can do.

Also times scoring all 36,855 OFA-MBv3 stage subgraphs with a predictor trained on real
measured latencies (HELP, 2080Ti batch 1), on all cores.

    python benchmarks/construct.py [--seeds100 5] [--seeds1000 3]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _common import add_set_option, least_squares_scores, stage_one_hot
from _common import overrides as parse_overrides

from autobuild.construction import reduce_space, rerank
from autobuild.data import load_nasbench_macro
from autobuild.demo import TrueRanks
from autobuild.predictor import AutoBuildPredictor, train_predictor
from autobuild.scoring import score_modules
from autobuild.spaces import Architecture, SearchSpace

AUTHORS = {100: 349.0, 1000: 111.5}  # authors' code, built top-1 median rank (same protocol)


def _stagewise(space: SearchSpace, coef: np.ndarray, columns: list, k: int) -> list[list]:
    """Per unit, the ``k`` subgraphs with the largest coefficients (best first)."""
    out = []
    for u in range(space.num_units):
        cols = [(coef[i], i) for i, (cu, _) in enumerate(columns) if cu == u]
        cols.sort(key=lambda t: (-t[0], t[1]))
        out.append([columns[i][1] for _, i in cols[:k]])
    return out


def _built_and_best(space: SearchSpace, truth: TrueRanks, tops: list[list]) -> tuple[float, float]:
    built = Architecture(tuple(st for u in range(space.num_units) for st in tops[u][0]))
    best = np.inf
    for idx in np.ndindex(*(len(t) for t in tops)):
        arch = Architecture(tuple(st for u, i in enumerate(idx) for st in tops[u][i]))
        best = min(best, truth.rank(arch))
    return truth.rank(built), float(best)


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    xc, yc = x - x.mean(0), y - y.mean()
    return np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ yc)


def run_nasbench(n: int, seeds: list[int], truth: TrueRanks, overrides: dict) -> list[dict]:
    data = load_nasbench_macro()
    space = data.space
    rows = []
    for seed in seeds:
        result = train_predictor(
            data, "mean_acc", n_labeled=n, seed=seed, test_fraction=0.0, **overrides
        )
        pred = result.predictor
        t0 = time.perf_counter()
        ranked = reduce_space(score_modules(pred), 3).ranked()
        construct_s = time.perf_counter() - t0
        archs = [b.arch for b in ranked]
        reranked = rerank(ranked, pred)[0].arch
        by_regressor = rerank(ranked, pred, head="regressor")[0].arch
        labelled = list(result.train_archs)
        x, columns = stage_one_hot(space, labelled)
        coef = _ridge(x, np.asarray([truth.acc(a) for a in labelled]), alpha=1.0)
        ridge_built, ridge_best = _built_and_best(
            space, truth, _stagewise(space, coef, columns, 3)
        )
        rows.append(
            {
                "seed": seed,
                "built": truth.rank(archs[0]),
                "built_arch": space.arch_id(archs[0]),
                "k3_best": min(truth.rank(a) for a in archs),
                "reranked": truth.rank(reranked),
                "reranked_regressor": truth.rank(by_regressor),
                "labelled_best": min(truth.rank(a) for a in labelled),
                "ridge_built": ridge_built,
                "ridge_k3_best": ridge_best,
                "train_s": pred.train_seconds_,
                "construct_s": construct_s,
            }
        )
        print(f"N={n} seed {seed} done", file=sys.stderr)
    return rows


def least_squares_on_all(truth: TrueRanks) -> tuple[str, float, float]:
    """One score per stage subgraph fitted on every key (the best stage-additive scorer)."""
    ranked = reduce_space(least_squares_scores(truth), 3).ranked()
    ranks = [truth.rank(b.arch) for b in ranked]
    return truth.space.arch_id(ranked[0].arch), ranks[0], min(ranks)


def time_ofa_scoring(repeats: int = 3) -> tuple[float, int]:
    from autobuild import spaces

    root = os.environ.get("AUTOBUILD_DATA")
    if not root:
        raise SystemExit("Set AUTOBUILD_DATA to the shared data folder (HELP latencies).")
    space = spaces.get("ofa-mbv3")
    archs, y = [], []
    with open(Path(root) / "help_ofa_mbv3_latency" / "help_ofa_mbv3_latency.csv") as fh:
        for row in csv.DictReader(fh):
            arch = {
                "d": [int(row[f"d{i}"]) for i in range(5)],
                "ks": [int(row[f"k{i}"]) for i in range(20)],
                "e": [int(row[f"e{i}"]) for i in range(20)],
                "r": int(row["r"]),
            }
            archs.append(space.parse(arch))
            y.append(float(row["lat_2080ti_1"]))
    pred = AutoBuildPredictor(space, epochs=3, random_state=0).fit(archs[:2000], y[:2000])
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        scores = score_modules(pred)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), len(scores.records)


def _median(rows: list[dict], key: str) -> float:
    return float(statistics.median(r[key] for r in rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds100", type=int, default=5)
    parser.add_argument("--seeds1000", type=int, default=3)
    parser.add_argument("--skip-timing", action="store_true")
    add_set_option(parser)
    args = parser.parse_args()
    overrides = parse_overrides(args.set)

    data = load_nasbench_macro()
    truth = TrueRanks(data.space)
    results = {
        100: run_nasbench(100, list(range(args.seeds100)), truth, overrides),
        1000: run_nasbench(1000, list(range(args.seeds1000)), truth, overrides),
    }
    ls_arch, ls_built, ls_best = least_squares_on_all(truth)

    extra = "".join(f", {item}" for item in args.set)
    print(f"## Construction on NAS-Bench-Macro{extra} (true rank out of 6,561; lower is better)\n")
    header = [
        "N",
        "seed",
        "built top-1",
        "K=3 best",
        "re-ranked top-1",
        "re-ranked (regressor only)",
        "best labelled",
        "ridge built",
        "ridge K=3 best",
        "train s",
        "score+build s",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for n, rows in ((n, r) for n, r in results.items() if r):
        for r in [
            *rows,
            {
                "seed": "**median**",
                **{
                    k: _median(rows, k)
                    for k in (
                        "built",
                        "k3_best",
                        "reranked",
                        "reranked_regressor",
                        "labelled_best",
                        "ridge_built",
                        "ridge_k3_best",
                        "train_s",
                        "construct_s",
                    )
                },
            },
        ]:
            built = f"{r['built']:g}" + (f" ({r['built_arch']})" if "built_arch" in r else "")
            print(
                f"| {n} | {r['seed']} | {built} | {r['k3_best']:g} | {r['reranked']:g} | "
                f"{r['reranked_regressor']:g} | "
                f"{r['labelled_best']:g} | {r['ridge_built']:g} | {r['ridge_k3_best']:g} | "
                f"{r['train_s']:.1f} | {r['construct_s']:.3f} |"
            )
    print("\nReference points:")
    print(
        f"- least squares, one score per stage subgraph, fitted on all 6,561 keys: builds "
        f"{ls_arch} (rank {ls_built:g}); its K=3 reduced space contains rank {ls_best:g}"
    )
    for n, v in AUTHORS.items():
        print(
            f"- the authors' code with {n} labels (same protocol): built top-1 median rank {v:g}"
        )
    if not args.skip_timing:
        torch.set_num_threads(os.cpu_count() or 1)
        seconds, count = time_ofa_scoring()
        print(
            f"\nScoring all {count:,} OFA-MBv3 stage subgraphs: {seconds:.2f} s (median of 3, "
            f"{torch.get_num_threads()} threads; the authors' loop: 255 s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
