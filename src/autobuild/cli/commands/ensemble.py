"""Train a k-fold x seeds predictor ensemble (``autobuild ensemble``).

The ensemble helpers here are shared with ``autobuild exhaustive``.
"""

from __future__ import annotations

import argparse
from typing import Any

from autobuild.cli._args import add_ensemble_options, add_labelled
from autobuild.cli._loading import load_labelled
from autobuild.cli.commands.base import Command

__all__ = ["EnsembleCommand", "ensemble_summary", "fit_ensemble_from_args"]


def fit_ensemble_from_args(args: argparse.Namespace, **params: Any) -> Any:
    from autobuild.ensemble import fit_ensemble
    from autobuild.predictor import select_labelled

    data, target = load_labelled(args.space, args.data, args.target, args.strict)
    chosen, y = select_labelled(
        data, target, n_labeled=args.n_labeled, seed=args.seed, strict=args.strict
    )
    if args.epochs is not None:
        params["epochs"] = args.epochs
    return fit_ensemble(
        data.space,
        list(chosen.archs),
        y,
        folds=args.folds,
        seeds=[1000 * args.seed + i for i in range(args.seeds)],
        executor=args.executor,
        n_jobs=args.jobs,
        ray_address=args.ray_address,
        out=args.out,
        metadata={
            "target": target,
            "seed": args.seed,
            "data": data.source,
            "direction": args.direction,
        },
        **params,
    )


def ensemble_summary(ens: Any) -> None:
    hops = ens.hop_weights.mean(0)
    print(
        f"{len(ens)} members; mean held-out Spearman of the prediction "
        f"{float(ens.prediction_weights.mean()):.3f}; mean hop weights "
        + " ".join(f"{v:.3f}" for v in hops)
    )


class EnsembleCommand(Command):
    name = "ensemble"
    help = "Train a k-fold x seeds ensemble of predictors for few labels (then: build DIR)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_labelled(parser)
        add_ensemble_options(parser)

    def run(self, args: argparse.Namespace) -> int:
        ens = fit_ensemble_from_args(args)
        ensemble_summary(ens)
        print(f"Ensemble in {args.out}; build from it with: autobuild build {args.out}")
        return 0
