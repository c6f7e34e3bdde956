"""Exhaustive Search over a whole space with a 20-member ensemble (prints Markdown tables).

The ES baseline of AutoBuild's limited-data experiment (Mills et al., CVPR 2024, Sec. 5.3):
68 labelled architectures (a synthetic label here), 5-fold cross-validation repeated with 4
shuffling seeds gives 20 members trained with MSE only (lambda = 0, default epochs), each
weighted by its held-out Spearman (negative ones clipped to 0); then every architecture of
the space is predicted and the top 4 kept. The space is ``sd-unet`` (765,450 architectures)
when it is built in, else a TOML-style space of 810,000 declared below.

The first table times the search per thread count (torch.set_num_threads); peak MiB is the
process's max RSS so far (training included). The second times the parts for one member on
one chunk: ``encode_batch`` against the vectorised range encoder, and the plain forward
(``predict_batch``) against the shared-window forward the search uses.

    OMP_NUM_THREADS=1 python benchmarks/exhaustive.py [--threads 1 2] [--members 20]
        [--epochs 5]  # quick: the search's timing does not depend on training
"""

from __future__ import annotations

import argparse
import logging
import resource
import time
import zlib
from typing import Any

import numpy as np
import torch

from autobuild import spaces
from autobuild.ensemble import exhaustive_search
from autobuild.ensemble.exhaustive import _ChainWindows, _window_predict
from autobuild.metrics import spearman
from autobuild.predictor import AutoBuildPredictor
from autobuild.spaces import Architecture, SearchSpace

#: Used when ``sd-unet`` is not built in: 4 stages of 1-2 layers of 5 ops, 30^4 = 810,000.
FALLBACK: dict[str, Any] = {
    "name": "unet-like-810k",
    "layer": {
        "op": ["resnet", "attention", "resnet_attention", "conv", "conv_attention"],
        "channels": ["same"],
    },
    "stage": [{"name": f"s{i + 1}", "min_layers": 1, "max_layers": 2} for i in range(4)],
}


def synthetic_label(space: SearchSpace, arch: Architecture) -> float:
    """A deterministic label with per-layer effects and an interaction between neighbours."""
    total = 0.0
    prev = ""
    for s, layers in enumerate(arch.stages):
        for p, layer in enumerate(layers):
            tag = f"{s}/{p}/{layer}"
            total += (zlib.crc32(tag.encode()) % 1000) / 1000.0
            total += 0.3 * (zlib.crc32((prev + tag).encode()) % 1000) / 1000.0
            prev = tag
    return total


def train_members(
    space: SearchSpace, n: int, members: int, epochs: int | None, folds: int = 5
) -> tuple[list[AutoBuildPredictor], list[float], float]:
    """5-fold CV repeated over shuffling seeds, MSE only; weights = held-out Spearman."""
    archs = space.sample(n, seed=0)
    y = np.asarray([synthetic_label(space, a) for a in archs])
    out, weights = [], []
    start = time.perf_counter()
    seed = 0
    while len(out) < members:
        perm = np.random.default_rng(seed).permutation(n)
        for k in range(folds):
            if len(out) == members:
                break
            test = perm[k::folds]
            train = np.setdiff1d(perm, test)
            pred = AutoBuildPredictor(space, random_state=len(out), corr_lambda=0.0, epochs=epochs)
            pred.fit([archs[i] for i in train], y[train])
            rho = spearman(y[test], pred.predict([archs[i] for i in test]))
            out.append(pred)
            weights.append(max(float(rho), 0.0))
        seed += 1
    if not any(w > 0 for w in weights):
        weights = [1.0] * len(out)
    return out, weights, time.perf_counter() - start


def parts(space: SearchSpace, member: AutoBuildPredictor, chunk: int) -> list[dict[str, Any]]:
    """Single-member throughputs (graphs/s) on one chunk in the middle of the space."""
    enc = member.encoder
    assert hasattr(enc, "encode_architecture_range")
    lo = min(space.size() // 2, space.size() - chunk)
    archs = [enc.architecture_at(i) for i in range(lo, lo + chunk)]
    rows = []

    def timed(name: str, fn: Any, repeat: int = 3) -> Any:
        fn()
        t0 = time.perf_counter()
        for _ in range(repeat):
            out = fn()
        rows.append({"part": name, "graphs_s": chunk * repeat / (time.perf_counter() - t0)})
        return out

    timed("encode_batch (per architecture, Python)", lambda: enc.encode_batch(archs), 1)
    batch = timed(
        "encode_architecture_range (vectorised)",
        lambda: enc.encode_architecture_range(lo, lo + chunk),
    )
    hops = member.model_.num_layers
    windows = timed(
        "distinct windows of a chunk (once per chunk)", lambda: _ChainWindows(batch, hops)
    )
    timed("predict_batch: plain chain forward, 1 member", lambda: member.predict_batch(batch), 1)
    timed("shared-window forward, 1 member", lambda: _window_predict(member, batch, windows))
    rows.append(
        {
            "part": f"(chunk: {chunk} graphs, {batch.num_nodes} nodes, "
            f"{windows.sizes[-1]} distinct hop-{hops} windows)",
            "graphs_s": None,
        }
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--labelled", type=int, default=68)
    parser.add_argument("--top", type=int, default=4)
    parser.add_argument(
        "--epochs", type=int, default=None, help="Training epochs (default: the schedule's)."
    )
    parser.add_argument("--batch-size", type=int, default=16384)
    parser.add_argument("--threads", type=int, nargs="+", default=[torch.get_num_threads()])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    space = (
        spaces.get("sd-unet")
        if "sd-unet" in spaces.list_spaces()
        else SearchSpace.from_dict(FALLBACK)
    )
    members, weights, train_s = train_members(space, args.labelled, args.members, args.epochs)
    print(
        f"Trained {len(members)} members on {args.labelled} architectures of "
        f"{space.name!r} in {train_s:.0f} s; weights {[round(w, 2) for w in weights]}\n"
    )

    active = sum(w > 0 for w in weights)
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        res = exhaustive_search(members, weights, top=args.top, batch_size=args.batch_size)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append((threads, res, peak))
    print(
        "| space | size | members (weight > 0) | threads | seconds | architectures/s | peak MiB |"
    )
    print("|---|---|---|---|---|---|---|")
    for threads, res, peak in rows:
        print(
            f"| `{space.name}` | {space.size():,} | {len(members)} ({active}) | {threads} | "
            f"{res.seconds:.1f} | {res.n_scored / res.seconds:,.0f} | {peak:.0f} |"
        )
    res = rows[-1][1]
    print("\nTop architectures (prediction ± weighted spread):\n")
    for row in res.rows(space):
        print(f"{row['rank']}. `{row['arch_id']}`: {row['prediction']:.4f} ± {row['spread']:.4f}")

    torch.set_num_threads(args.threads[0])
    print(f"\nOne member, one chunk ({args.threads[0]} thread(s)):\n")
    print("| part | graphs/s |")
    print("|---|---|")
    for r in parts(space, members[0], args.batch_size):
        cell = "" if r["graphs_s"] is None else f"{r['graphs_s']:,.0f}"
        print(f"| {r['part']} | {cell} |")


if __name__ == "__main__":
    main()
