"""Ranking-loss weight of few-label ensemble members, on validation seeds (Markdown table).

Chooses ``autobuild.ensemble.MEMBER_CORR_LAMBDA`` away from the protocol's seeds: for each
weight and each seed (default 10..19; ``benchmarks/few_labels.py`` reports seeds 0..9),
68 labelled NAS-Bench-Macro architectures (``select_labelled``, as ``--n-labeled 68 --seed
S``), a 5-fold x 4-seed ensemble (200 epochs per member), Eq. 5 module scores, the top 4 by
summed stage scores; reported: the median over seeds of the top 4's mean true accuracy and
of its best true rank.

    OMP_NUM_THREADS=1 python benchmarks/few_labels_weights.py [--weights 5,2,1,0.5]
        [--seeds 10-19]
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np

from autobuild.construction import reduce_space
from autobuild.data import load_nasbench_macro
from autobuild.demo import TrueRanks
from autobuild.ensemble import fit_ensemble
from autobuild.predictor import select_labelled


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default="5,2,1,0.5", help="Ranking-loss weights.")
    parser.add_argument("--seeds", default="10-19", help="Seed range FIRST-LAST.")
    parser.add_argument("--jobs", type=int, default=2, help="Worker processes.")
    args = parser.parse_args()
    first, _, last = args.seeds.partition("-")
    seeds = range(int(first), int(last or first) + 1)
    weights = [float(w) for w in args.weights.split(",")]

    data = load_nasbench_macro()
    truth = TrueRanks(data.space)
    rows = []
    for weight in weights:
        avgs, bests = [], []
        for seed in seeds:
            chosen, y = select_labelled(data, "mean_acc", n_labeled=68, seed=seed)
            ens = fit_ensemble(
                data.space,
                list(chosen.archs),
                y,
                folds=5,
                seeds=[1000 * seed + i for i in range(4)],
                epochs=200,
                n_jobs=args.jobs,
                corr_lambda=weight,
            )
            table = ens.score_modules(shift="eq5")
            built = [b.arch for b in reduce_space(table, k=4).ranked(4)]
            avgs.append(float(np.mean([truth.acc(a) for a in built])))
            bests.append(min(truth.rank(a) for a in built))
            print(f"weight {weight:g} seed {seed}: {avgs[-1]:.3f}", file=sys.stderr)
        rows.append((weight, statistics.median(avgs), statistics.median(bests)))

    print(f"## Ranking-loss weight of ensemble members, seeds {first}-{last or first}\n")
    print("| weight | median top-4 mean accuracy (%) | median best-of-4 rank |")
    print("|---|---|---|")
    for weight, avg, best in rows:
        print(f"| {weight:g} | {avg:.3f} | {best:g} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
