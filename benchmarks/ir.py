"""AutoBuild on ONNX IR op graphs of NAS-Bench-Macro networks (prints Markdown tables).

Protocol: 1,000 random NAS-Bench-Macro architectures (seeded), each built as a
``torch.nn.Module``, exported to ONNX and converted into its op-level IR graph; target
``mean_acc``; 90/10 split; an AutoBuild predictor with ``graph_format="ir"`` (FE-MLP
categories op type, tensor shapes, attributes) trained on the 900 and evaluated on the 100:
held-out Spearman of the prediction and of every hop's embedding norm (the paper reports
0-hop Spearman 0.79 on its OFA IR data), next to a sequence-graph predictor on the same split.
Then the op-type importance table of the IR FE-MLP. One thread (``OMP_NUM_THREADS=1``).

    OMP_NUM_THREADS=1 python benchmarks/ir.py [--n 1000] [--seeds 0 1 2] [--set KEY=JSON]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from _common import add_set_option
from _common import overrides as parse_overrides

from autobuild.data import load_nasbench_macro
from autobuild.predictor import AutoBuildPredictor
from autobuild.scoring import feature_importance


def run_seed(seed: int, n: int, overrides: dict) -> dict:
    data = load_nasbench_macro().sample(n, seed=seed)
    data, y = data.target("mean_acc")
    archs = list(data.archs)
    n_train = n - round(0.1 * n)
    train, test = archs[:n_train], archs[n_train:]
    y_train, y_test = y[:n_train], y[n_train:]

    ir = AutoBuildPredictor(data.space, random_state=seed, graph_format="ir", **overrides)
    t0 = time.perf_counter()
    ir.encoder.encode_batch(archs)  # export + convert every network once (cached)
    convert = time.perf_counter() - t0
    graphs = [ir.encoder.graph(a) for a in archs]
    ir.fit(train, y_train)
    m_ir = ir.evaluate(test, y_test)

    seq = AutoBuildPredictor(data.space, random_state=seed)
    seq.fit(train, y_train)
    m_seq = seq.evaluate(test, y_test)
    return {
        "seed": seed,
        "convert_ms": 1000 * convert / len(archs),
        "nodes": statistics.mean(g.num_nodes for g in graphs),
        "edges": statistics.mean(g.num_edges for g in graphs),
        "ir": m_ir,
        "ir_seconds": ir.train_seconds_,
        "seq": m_seq,
        "seq_seconds": seq.train_seconds_,
        "importance": feature_importance(ir),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="Labelled architectures.")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    add_set_option(parser)
    args = parser.parse_args()
    overrides = parse_overrides(args.set)
    torch.set_num_threads(1)

    results = []
    for seed in args.seeds:
        results.append(run_seed(seed, args.n, overrides))
        print(f"seed {seed} done", file=sys.stderr)

    extra = "".join(f", {item}" for item in args.set)
    n_test = round(0.1 * args.n)
    print(
        f"## ONNX IR graphs of {args.n:,} NAS-Bench-Macro networks{extra} "
        f"(held-out Spearman on {n_test}, 1 thread)\n"
    )
    header = [
        "seed",
        "graph",
        "nodes / edges",
        "convert ms/net",
        "predictor",
        "hop 0",
        "hop 1",
        "hop 2",
        "hop 3",
        "hop 4",
        "train s",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in results:
        for kind in ("ir", "seq"):
            m = r[kind]
            size = f"{r['nodes']:.0f} / {r['edges']:.0f}" if kind == "ir" else "≤ 8 / ≤ 7"
            ms = f"{r['convert_ms']:.1f}" if kind == "ir" else "—"
            cells = [
                str(r["seed"]),
                "IR" if kind == "ir" else "sequence",
                size,
                ms,
                f"{m['srcc']:.3f}",
                *(f"{v:.3f}" for v in m["hop_srcc"]),
                f"{r[kind + '_seconds']:.1f}",
            ]
            print("| " + " | ".join(cells) + " |")
    for kind, label in (("ir", "IR"), ("seq", "sequence")):
        med = statistics.median(r[kind]["srcc"] for r in results)
        hop0 = statistics.median(r[kind]["hop_srcc"][0] for r in results)
        print(f"\nMedian {label}: predictor {med:.3f}, hop 0 {hop0:.3f}.", end="")
    print("\n")

    # Op-type importance of the first seed's IR FE-MLP (values seen in training only).
    imp = results[0]["importance"]
    print(f"### Op-type importance (IR FE-MLP, seed {results[0]['seed']})\n")
    print("| category | share of hop-0 norm |")
    print("|---|---|")
    for c in imp.categories:
        print(f"| {c.category} | {c.share:.1%} |")
    print("\n| op | score | training nodes |")
    print("|---|---|---|")
    for v in imp.values:
        if v.category == "op":
            print(f"| {v.value} | {v.score:.4f} | {v.count:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
