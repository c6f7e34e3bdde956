"""A study that really trains networks: small CNNs on scikit-learn's digits (8x8 images).

Every asked architecture is built with plain ``torch.nn``, trained for a few epochs on the
digits (shipped inside scikit-learn: no download) and told its validation accuracy, its
parameter count and its test accuracy. The study lives in an SQLite file, so a re-run
continues where the last one stopped: nothing told is lost, and trials a killed run left
pending are handed out again.

Run it from the repository root (see examples/README.md)::

    python examples/digits_study.py --trials 30 --batch 5 --epochs 8
    python examples/digits_study.py --trials 40 ...   # 10 more, same study
    python examples/digits_study.py --objectives val_acc:max,params:min --name digits-2d
"""

from __future__ import annotations

import argparse
import time
import zlib
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

import autobuild as ab
from autobuild.spaces import Architecture, SearchSpace
from autobuild.study import AutoBuildSampler, Trial

#: Three stages of conv layers at 8x8, 4x4 and 2x2 (a 2x2 max-pool before stages 2 and 3),
#: then a global average pool and a linear classifier. Each layer picks its width, kernel
#: and activation; the last stage, at 2x2, has 1x1 or 3x3 kernels.
SPACE = {
    "name": "digits-cnn",
    "description": "conv stages at 8x8, 4x4 and 2x2 for scikit-learn's digits",
    "layer": {"width": [8, 16, 32], "kernel": [3, 5], "act": ["relu", "gelu", "tanh"]},
    "stage": [
        {"name": "s8x8", "min_layers": 1, "max_layers": 2},
        {"name": "s4x4", "min_layers": 0, "max_layers": 2},
        {"name": "s2x2", "min_layers": 0, "max_layers": 2, "layer": {"kernel": [1, 3]}},
    ],
}

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}


def build_model(space: SearchSpace, arch: Architecture) -> nn.Module:
    """The network of ``arch``: conv-BN-activation layers stage by stage, then a classifier."""
    layers: list[nn.Module] = []
    channels = 1
    for s, stage in enumerate(arch.stages):
        if s > 0:
            layers.append(nn.MaxPool2d(2))
        for layer in stage:
            f = dict(zip(space.layer_feature_names, layer, strict=True))
            width, kernel = int(f["width"]), int(f["kernel"])
            layers += [
                nn.Conv2d(channels, width, kernel, padding=kernel // 2, bias=False),
                nn.BatchNorm2d(width),
                ACTIVATIONS[str(f["act"])](),
            ]
            channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10)]
    return nn.Sequential(*layers)


def load_data() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The digits split 60/20/20 into train, validation and test (the same split always)."""
    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(digits.target, dtype=torch.long)
    idx = np.arange(len(y))
    train, rest = train_test_split(idx, test_size=0.4, random_state=0, stratify=digits.target)
    val, test = train_test_split(rest, test_size=0.5, random_state=0, stratify=digits.target[rest])
    return {name: (x[i], y[i]) for name, i in (("train", train), ("val", val), ("test", test))}


def accuracy(model: nn.Module, data: tuple[torch.Tensor, torch.Tensor]) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(data[0]).argmax(1) == data[1]).float().mean())


def evaluate(
    space: SearchSpace,
    arch: Architecture,
    data: dict[str, tuple[torch.Tensor, torch.Tensor]],
    *,
    epochs: int,
    seed: int,
) -> dict[str, float]:
    """Train ``arch`` for ``epochs`` and measure it. The seed depends on the architecture,
    not on when it was asked, so an architecture always gets the same result."""
    torch.manual_seed(seed + zlib.crc32(space.arch_id(arch).encode()))
    start = time.perf_counter()
    model = build_model(space, arch)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    x, y = data["train"]
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(y)).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            opt.step()
    return {
        "val_acc": accuracy(model, data["val"]),
        "params": float(sum(p.numel() for p in model.parameters())),
        "test_acc": accuracy(model, data["test"]),
        "train_seconds": time.perf_counter() - start,
    }


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    space = SearchSpace.from_dict(SPACE)
    data = load_data()
    sampler = AutoBuildSampler(initial=args.initial, predictor={"steps": args.predictor_steps})
    with ab.create_study(
        space,
        args.objectives,
        storage=args.storage,
        name=args.name,
        seed=args.seed,
        sampler=sampler,
        load_if_exists=True,  # a re-run continues the study (with its stored settings)
    ) as study:
        told = sum(t.state != "pending" for t in study.trials)
        print(f"Study {study.name!r} in {study.storage.path}: {told} trials told before")
        while told < args.trials:
            # Trials a killed run left pending are handed out again first (same ids).
            batch = study.ask(min(args.batch, args.trials - told), reask_after=args.reask_after)
            if not batch:
                break
            for trial in batch:
                try:
                    metrics = evaluate(space, trial.arch, data, epochs=args.epochs, seed=args.seed)
                except RuntimeError as err:  # e.g. out of memory: never asked again
                    trial = study.tell(trial, failed=f"{type(err).__name__}: {err}")
                else:
                    trial = study.tell(trial, metrics)  # committed before the next one starts
                told += 1
                print(_line(trial, told, args.trials))
        report(study)


def _line(trial: Trial, told: int, total: int) -> str:
    head = f"[{told}/{total}] trial {trial.number:3d} (round {trial.round})"
    if trial.state == "failed":
        return f"{head} failed: {trial.error}"
    m = trial.metrics
    return (
        f"{head} val_acc {m['val_acc']:.4f}  params {m['params']:6.0f}  "
        f"{m['train_seconds']:.2f}s  {trial.arch_id}"
    )


def report(study: Any) -> None:
    """The best trials, and what the sampler's last round learnt."""
    trials = study.trials
    states = {s: sum(t.state == s for t in trials) for s in ("complete", "failed", "pending")}
    print(f"\n{len(trials)} trials: {states}")
    print("Best trials:")
    for t in study.best_trials:
        m = t.metrics
        print(
            f"  trial {t.number:3d}  val_acc {m['val_acc']:.4f}  test_acc {m['test_acc']:.4f}  "
            f"params {m['params']:6.0f}  {t.arch_id}"
        )
    rounds = study.explain()
    if not rounds:
        print("No AutoBuild round yet (fewer told results than the sampler's `initial`).")
        return
    last = rounds[-1]
    print(f"AutoBuild round {last['round']} (learnt from {last['n_told']} results):")
    for objective, learnt in last["objectives"].items():
        print(f"  {objective}: best-scored modules per stage")
        for unit, modules in learnt["modules"].items():
            best = ", ".join(
                f"{_module(study.space, m['subgraph'])} ({m['score']:+.3f})" for m in modules
            )
            print(f"    {unit}: {best}")
        shares = ", ".join(f"{c['category']} {c['share']:.2f}" for c in learnt["categories"])
        print(f"  {objective}: feature importance {shares}")


def _module(space: SearchSpace, layers: list[dict[str, Any]]) -> str:
    """A stage subgraph as its layers' ``width:kernel:act``, joined by ``,``."""
    names = space.layer_feature_names
    return ",".join(":".join(str(layer[n]) for n in names) for layer in layers) or "(empty)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=30, help="told trials to reach in all runs")
    p.add_argument("--batch", type=int, default=5, help="trials asked per round")
    p.add_argument("--epochs", type=int, default=8, help="training epochs per trial")
    p.add_argument("--seed", type=int, default=0, help="the study's and the training's seed")
    p.add_argument("--storage", default="sqlite:///digits.db", help="the study's storage")
    p.add_argument("--name", default="digits", help="the study's name in the storage")
    p.add_argument(
        "--objectives",
        default="val_acc:max",
        help="e.g. val_acc:max,params:min (fixed when the study is created)",
    )
    p.add_argument(
        "--initial", type=int, default=10, help="random trials before the first AutoBuild round"
    )
    p.add_argument(
        "--predictor-steps", type=int, default=600, help="training steps of each round's predictor"
    )
    p.add_argument(
        "--reask-after",
        type=float,
        default=0.0,
        help="seconds after which a pending trial is asked again (0: this is the only "
        "process of the study; give more than a batch takes when several share it)",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    return p.parse_args(argv)


if __name__ == "__main__":
    run(parse_args())
