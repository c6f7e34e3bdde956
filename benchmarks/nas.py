"""AutoBuild-NAS against search baselines on NAS-Bench-Macro (prints Markdown tables).

Protocol: two objective pairs, true accuracy (``mean_acc``, max, looked up in the
benchmark table) against FLOPs (min, from the table) and against measured CPU latency (min:
``latency_cpu_ms``, the median of 20 timed batch-1 forward passes on one thread after 5
untimed ones, measured once per architecture and cached in ``--latency-cache``, so every
method and seed sees the same number for the same architecture); budget 250 unique
evaluations (50 + 4 x 50); seeds 0..4. AutoBuild-NAS trains one predictor per automatic
equation (4 weighted sums of the standardised objectives) on 300 labelled architectures drawn
with the seed (their labels, latency included, are not counted in the budget) and searches the
union of each equation's top-K subgraphs per stage. ``layer-insight`` is ``layer-full`` with
the hand-made restriction :data:`INSIGHT`. Reported: the hypervolume of every method's front,
one reference point per pair for all methods and seeds (the table's worst accuracy and its
largest FLOPs; for latency, the largest latency measured in the run), per seed and as medians.

    OMP_NUM_THREADS=1 python benchmarks/nas.py [--seeds 5] [--k 2] [--pairs flops,latency]

Latency is measured in this process on one thread: run nothing else on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from autobuild.data import LabeledData, load_nasbench_macro
from autobuild.evaluation import (
    CachedEvaluator,
    CombinedEvaluator,
    LatencyEvaluator,
    LookupEvaluator,
)
from autobuild.nas import autobuild_candidates
from autobuild.search import SearchConfig, hypervolume, make_evaluate, run_method

METHODS = ("autobuild-nas", "stage-full", "layer-full", "layer-insight", "random")
LATENCY = "latency_cpu_ms"
PAIRS = {
    "flops": [("mean_acc", "max"), ("flops", "min")],
    "latency": [("mean_acc", "max"), (LATENCY, "min")],
}
#: layer-insight's restriction, by analogy with the paper's restricted MobileNetV3 CPU search
#: (all blocks, fewer layers in the early stages): the first stage, at the highest resolution
#: and so the most expensive per layer, keeps one layer.
INSIGHT = {"s1": {"max_layers": 1}}
DEFAULT_CACHE = Path.home() / ".cache" / "autobuild" / "nasbench_macro_latency_cpu.sqlite"


def _run_pair(
    pair: str, args: argparse.Namespace, data: LabeledData, latency: CachedEvaluator
) -> None:
    objectives = PAIRS[pair]
    directions = [d for _, d in objectives]
    lookup = LookupEvaluator(data, {n: d for n, d in objectives if n != LATENCY})
    evaluator = lookup if pair == "flops" else CombinedEvaluator([lookup, latency])
    evaluate = make_evaluate(evaluator)
    fronts: dict[str, list[np.ndarray]] = {m: [] for m in METHODS}
    sizes, seconds = [], {m: 0.0 for m in METHODS}
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        cands = autobuild_candidates(
            data,
            objectives,
            labels=args.labels,
            seed=seed,
            k=args.k,
            evaluator=None if pair == "flops" else latency,
        )
        seconds["autobuild-nas"] += time.perf_counter() - t0
        sizes.append(int(np.prod([len(c) for c in cands])))
        for method in METHODS:
            t0 = time.perf_counter()
            result = run_method(
                data.space,
                method,
                evaluate,
                SearchConfig(objectives, seed=seed),
                candidates=cands if method == "autobuild-nas" else None,
                insight=INSIGHT if method == "layer-insight" else None,
            )
            seconds[method] += time.perf_counter() - t0
            fronts[method].append(result.objective_matrix())
        print(f"{pair}: seed {seed} done", file=sys.stderr)

    _, acc = data.target("mean_acc")
    if pair == "flops":
        _, flops = data.target("flops")
        ref = (float(acc.min()), float(flops.max()))
        unit, ref_text = "% x FLOPs", f"FLOPs {ref[1]:,.0f}"
    else:
        every = np.concatenate([v[:, 1] for runs in fronts.values() for v in runs])
        ref = (float(acc.min()), float(np.nanmax(every)))
        unit, ref_text = "% x ms", f"latency {ref[1]:.3f} ms (the largest measured in this run)"
    hv = {m: [hypervolume(v, directions, ref) for v in fronts[m]] for m in METHODS}

    second = "FLOPs" if pair == "flops" else "measured CPU latency"
    print(
        f"\n## Search on NAS-Bench-Macro: mean_acc (max) vs {second} (min), budget 250, "
        f"{args.labels} labels for AutoBuild-NAS, K={args.k}, seeds 0-{args.seeds - 1}\n"
    )
    print(f"Reference point: accuracy {ref[0]:.2f} %, {ref_text}. Hypervolume in {unit}.\n")
    print("| seed | reduced space | " + " | ".join(METHODS) + " |")
    print("|" + "---|" * (len(METHODS) + 2))
    for seed in range(args.seeds):
        cells = [f"{hv[m][seed]:.4e}" for m in METHODS]
        print(f"| {seed} | {sizes[seed]:,} | " + " | ".join(cells) + " |")
    med = [statistics.median(hv[m]) for m in METHODS]
    print("| **median** | | " + " | ".join(f"**{v:.4e}**" for v in med) + " |")
    print("| seconds (all seeds) | | " + " | ".join(f"{seconds[m]:.0f}" for m in METHODS) + " |")
    best = METHODS[int(np.argmax(med))]
    print(f"\nHighest median hypervolume: {best}.")
    if pair == "latency":
        print(
            f"Latency cache: {len(latency):,} architectures measured "
            f"({latency.misses:,} in this run, {latency.hits:,} answers from the cache)."
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--labels", type=int, default=300)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--pairs", default="flops,latency", help="flops, latency or both.")
    parser.add_argument("--latency-cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    pairs = [p.strip() for p in args.pairs.split(",") if p.strip()]
    unknown = [p for p in pairs if p not in PAIRS]
    if unknown:
        parser.error(f"unknown --pairs {unknown}; choose from {list(PAIRS)}")
    logging.basicConfig(level=logging.WARNING)

    data = load_nasbench_macro()
    latency = CachedEvaluator(
        LatencyEvaluator(data.space, warmup=5, repeats=20, threads=1), args.latency_cache
    )
    for pair in pairs:
        _run_pair(pair, args, data, latency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
