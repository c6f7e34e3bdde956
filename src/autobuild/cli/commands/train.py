"""Train a predictor on labelled architectures (``autobuild train``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autobuild.cli._args import add_labelled, fraction, positive_int, wide_weight
from autobuild.cli._loading import load_labelled
from autobuild.cli.commands.base import Command

__all__ = ["TrainCommand"]


class TrainCommand(Command):
    name = "train"
    help = "Train an AutoBuild predictor on labelled architectures."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from autobuild.predictor.config import CONV_NAMES, GRAPH_FORMATS, PRESETS, READOUTS

        add_labelled(parser)
        parser.add_argument(
            "--test-fraction",
            type=fraction,
            default=0.1,
            help="Held-out fraction for the reported metrics (default: 0.1; 0 trains on all).",
        )
        parser.add_argument(
            "--preset",
            choices=sorted(PRESETS),
            default="default",
            help="Hyper-parameter preset: 'default' (GNN stacked with a one-hot ridge, chosen "
            "by validation on your labels), 'latency' (sum readout, for additive costs such as "
            "latency) or 'paper' (the authors' recipe).",
        )
        parser.add_argument("--epochs", type=positive_int, help="Override the epoch count.")
        parser.add_argument("--lr", type=float, help="Override the learning rate.")
        parser.add_argument("--batch-size", type=positive_int, help="Override the batch size.")
        parser.add_argument("--conv", choices=CONV_NAMES, help="GNN layer type.")
        parser.add_argument("--readout", choices=list(READOUTS), help="Graph pooling per hop.")
        parser.add_argument("--hidden-channels", type=positive_int, help="GNN width.")
        parser.add_argument("--num-layers", type=positive_int, help="GNN layers (hops 1..M).")
        parser.add_argument(
            "--corr-lambda", type=float, help="Weight of the hop ranking loss (0: MSE only)."
        )
        parser.add_argument(
            "--wide",
            type=wide_weight,
            help="Weight of the one-hot ridge term blended with the GNN's prediction: 'auto' "
            "(default: chosen by 2-fold validation on the training labels, with the weight of "
            "the best hop's norm) or a number in [0, 1] (0: the GNN alone).",
        )
        parser.add_argument(
            "--slot-features",
            action="store_const",
            const=True,
            help="Give the FE-MLP a scalar per (stage, position, value) of every categorical "
            "layer feature (off by default).",
        )
        parser.add_argument(
            "--format",
            dest="graph_format",
            choices=list(GRAPH_FORMATS),
            help="Graph format: 'sequence' (one node per layer, default) or 'ir' (the ONNX op "
            "graph of each built network; needs the onnx package).",
        )
        parser.add_argument(
            "--direction",
            choices=["max", "min"],
            default="max",
            help="Whether higher (max) or lower (min) targets are better (default: max).",
        )
        parser.add_argument("--unit", default="", help="Unit of the target, e.g. ms.")
        parser.add_argument(
            "--device", default="", help="Device the target was measured on, e.g. 2080Ti."
        )
        parser.add_argument(
            "--no-baselines",
            dest="baselines",
            action="store_false",
            help="Skip the one-hot ridge and gradient-boosted-trees baselines that are "
            "otherwise measured on the same held-out split.",
        )
        parser.add_argument("--out", type=Path, required=True, help="Checkpoint folder.")

    def run(self, args: argparse.Namespace) -> int:
        from autobuild.predictor import train_predictor

        overrides = {
            k: getattr(args, k)
            for k in (
                "epochs",
                "lr",
                "batch_size",
                "conv",
                "readout",
                "hidden_channels",
                "num_layers",
                "corr_lambda",
                "wide",
                "slot_features",
                "graph_format",
            )
            if getattr(args, k) is not None
        }
        data, target = load_labelled(args.space, args.data, args.target, args.strict)
        result = train_predictor(
            data,
            target,
            n_labeled=args.n_labeled,
            seed=args.seed,
            test_fraction=args.test_fraction,
            preset=args.preset,
            strict=args.strict,
            progress=sys.stderr.isatty(),
            out=args.out,
            metadata={"direction": args.direction, "unit": args.unit, "device": args.device},
            baselines=args.baselines,
            **overrides,
        )
        m = result.metrics
        print(
            f"Trained on {m['n_train']} architectures in {m['train_seconds']:.1f} s; "
            f"checkpoint: {args.out}"
        )
        if m.get("blend"):
            b = m["blend"]
            gnn = 1 - b["weight"] - b["hop_weight"]
            print(
                f"prediction: {gnn:.1f} x GNN + {b['weight']:.1f} x one-hot ridge + "
                f"{b['hop_weight']:.1f} x hop {b['hop']} norm, by 2-fold validation (Spearman "
                f"{b['srcc']:.4f}; GNN alone {b['srcc_gnn']:.4f}, ridge alone "
                f"{b['srcc_wide']:.4f}, hop alone {b['srcc_hop']:.4f})"
            )
        if m["n_test"]:
            hops = "  ".join(f"hop{i} {v:.3f}" for i, v in enumerate(m["hop_srcc"]))
            print(
                f"held-out ({m['n_test']}): Spearman {m['srcc']:.4f}  Kendall "
                f"{m['kendall']:.4f}  MAE {m['mae']:.4g}"
            )
            print(f"hop Spearman: {hops}")
            if m.get("baselines"):
                scores = "  ".join(f"{k} {v:.4f}" for k, v in m["baselines"].items())
                print(f"baselines' held-out Spearman (one-hot features): {scores}")
        return 0
