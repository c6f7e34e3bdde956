"""AutoBuild-NAS against search baselines on NAS-Bench-Macro (prints a Markdown table).

Protocol (issue #6, accuracy vs FLOPs so far): true accuracy (``mean_acc``, max) and FLOPs
(min) looked up in the benchmark table; budget 250 unique evaluations (50 + 4 x 50); seeds
0..4; AutoBuild-NAS trains one predictor per automatic equation (4 weighted sums of the
standardised objectives) on 300 labelled architectures drawn with the seed (not counted in
the budget) and searches the union of each equation's top-K subgraphs per stage. Reported:
the hypervolume of every method's front, with one reference point for all (the worst
accuracy and the largest FLOPs of the whole table), per seed and as medians.

    OMP_NUM_THREADS=1 python benchmarks/nas.py [--seeds 5] [--k 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np

from autobuild.data import load_nasbench_macro
from autobuild.evaluation import LookupEvaluator
from autobuild.search import hypervolume, make_evaluate, run_method
from autobuild.search.equations import autobuild_candidates

OBJECTIVES = [("mean_acc", "max"), ("flops", "min")]
METHODS = ("autobuild-nas", "stage-full", "layer-full", "random")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--labels", type=int, default=300)
    parser.add_argument("--k", type=int, default=2)
    args = parser.parse_args()

    data = load_nasbench_macro()
    _, acc = data.target("mean_acc")
    _, flops = data.target("flops")
    ref = (float(acc.min()), float(flops.max()))
    directions = [d for _, d in OBJECTIVES]
    evaluate = make_evaluate(LookupEvaluator(data, dict(OBJECTIVES)))
    hv: dict[str, list[float]] = {m: [] for m in METHODS}
    sizes = []
    for seed in range(args.seeds):
        cands = autobuild_candidates(data, OBJECTIVES, labels=args.labels, seed=seed, k=args.k)
        sizes.append(int(np.prod([len(c) for c in cands])))
        for method in METHODS:
            result = run_method(
                data.space,
                method,
                evaluate,
                OBJECTIVES,
                candidates=cands if method == "autobuild-nas" else None,
                seed=seed,
            )
            values = result.objective_matrix()
            hv[method].append(hypervolume(values, directions, ref))
        print(f"seed {seed} done", file=sys.stderr)

    print(
        f"## Search on NAS-Bench-Macro: mean_acc (max) vs FLOPs (min), budget 250, "
        f"{args.labels} labels for AutoBuild-NAS, K={args.k}, seeds 0-{args.seeds - 1}\n"
    )
    print(
        f"Reference point: accuracy {ref[0]:.2f} %, FLOPs {ref[1]:,.0f}. "
        "Hypervolume in % x FLOPs.\n"
    )
    print("| seed | reduced space | " + " | ".join(METHODS) + " |")
    print("|" + "---|" * (len(METHODS) + 2))
    for seed in range(args.seeds):
        cells = [f"{hv[m][seed]:.4e}" for m in METHODS]
        print(f"| {seed} | {sizes[seed]:,} | " + " | ".join(cells) + " |")
    med = [statistics.median(hv[m]) for m in METHODS]
    print("| **median** | | " + " | ".join(f"**{v:.4e}**" for v in med) + " |")
    best = METHODS[int(np.argmax(med))]
    print(f"\nHighest median hypervolume: {best}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
