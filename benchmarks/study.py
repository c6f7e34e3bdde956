"""Optimisers side by side on NAS-Bench-Macro: the ask/tell Study against baselines.

Every method proposes architectures one evaluation at a time (or in batches) and is told the
true values looked up in the benchmark table; nothing is trained outside the methods.

Single objective: maximise true ``mean_acc``; budget 250 evaluations per run (every
evaluation counts, repeats included); seeds 0-9. Methods:

* ``tpe``: Optuna's default ``TPESampler(seed=seed)``, one trial at a time (``ask``/``tell``),
  eight categorical parameters ``l0..l7`` with choices "0", "1", "2" (the 8-digit key);
* ``random``: ``space.sample(budget, seed=seed)`` (distinct architectures, in that order);
* ``evolution``: regularised (aging) evolution (Real et al., AAAI 2019) over the 8-digit
  keys: population 20 drawn at random, tournaments of 5, the child is the tournament winner
  with one random digit changed to another value, the oldest member is removed;
* ``study-1`` / ``study-5``: ``autobuild.create_study`` (AutoBuild as the sampler), asked 1 or
  5 trials at a time (the last batch truncated to the budget); each ``ask`` is timed.

Reported per method (medians over seeds): evaluations until an architecture of true rank
<= 10 (out of 6,561 keys, ties averaged) is first evaluated; how many seeds evaluated the
optimum (rank 1.5) within 100 and within 250 evaluations; the best true rank after 25, 50
and 100 evaluations; seconds per ``ask`` (study rows; mean over a run's asks, then median over
seeds); the method's total wall seconds (a single-objective study stops once it has
evaluated the optimum, which settles every measure). Per-seed evaluations to rank <= 10 and to the
optimum follow.

Two objectives (seeds 0-2): maximise ``mean_acc``, minimise ``flops``, 250 evaluations;
Optuna ``TPESampler`` and ``NSGAIISampler`` (``nsga2``) with directions maximise/minimise,
``random``, and the study asked 5 at a time (``study-5``). Reported: the hypervolume (in
%·FLOPs) of the evaluated points' Pareto front with reference point (45 % accuracy,
1.1 x the table's largest FLOPs), per seed and as medians.

Optuna is a benchmark-only dependency (``pip install -e '.[bench]'``, installed by ``make
bench``). This script is not part of ``make bench`` (too long with the study rows); run it by
hand (the baselines alone take about 15 s):

    python benchmarks/study.py [--seeds 0 1 ... 9] [--mo-seeds 0 1 2] [--budget 250]
        [--methods tpe random evolution study-1 study-5 nsga2]

An empty ``--seeds`` or ``--mo-seeds`` skips that section, e.g. ``--mo-seeds`` alone runs the
single-objective part only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import autobuild as ab
from autobuild.data import load_nasbench_macro
from autobuild.demo import TrueRanks
from autobuild.spaces import Architecture, SearchSpace

N_LAYERS = 8
DIGITS = ("0", "1", "2")
OPTIMUM_RANK = 1.5
REF_ACC = 45.0  # reference point of the hypervolume: accuracy (%) ...
REF_FLOPS_FACTOR = 1.1  # ... and this factor times the table's largest FLOPs
SINGLE_METHODS = ("tpe", "random", "evolution", "study-1", "study-5")
MO_METHODS = ("tpe", "nsga2", "random", "study-5")
OPTUNA_MO_REFERENCE = {"tpe": 4.542e9, "nsga2": 4.496e9}  # measured here, Optuna 5.1


@dataclass
class Problem:
    """The space, the true values and the budget every method shares."""

    space: SearchSpace
    truth: TrueRanks
    flops: dict[str, float]
    budget: int

    def arch(self, key: str) -> Architecture:
        return self.space.parse(key)

    def acc(self, arch: Architecture) -> float:
        return self.truth.acc(arch)

    def flops_of(self, arch: Architecture) -> float:
        return self.flops[self.space.arch_id(arch)]


@dataclass
class Run:
    """What one method evaluated in one seed, in evaluation order."""

    archs: list[Architecture]
    ask_seconds: list[float]
    wall_s: float


# ----------------------------------------------------------------------------- hypervolume
def hypervolume_2d(points: Sequence[tuple[float, float]], ref: tuple[float, float]) -> float:
    """Exact 2-D hypervolume of (accuracy to maximise, cost to minimise) points.

    Sort by accuracy (best first) and sweep: between consecutive accuracies the dominated
    region's width is ``ref cost - the lowest cost seen so far``. Points not strictly better
    than ``ref`` in both objectives add nothing.

    Example:
        >>> hypervolume_2d([(1, 1), (2, 2), (3, 3)], (0, 4))
        6.0
        >>> hypervolume_2d([(3, 1), (2, 2), (1, 3)], (0, 4))  # (3, 1) dominates the others
        9.0
    """
    ref_a, ref_c = ref
    pts = sorted(((a, c) for a, c in points if a > ref_a and c < ref_c), key=lambda p: -p[0])
    total, lowest = 0.0, ref_c
    for i, (a, c) in enumerate(pts):
        lowest = min(lowest, c)
        nxt = pts[i + 1][0] if i + 1 < len(pts) else ref_a
        total += (a - nxt) * (ref_c - lowest)
    return float(total)


assert hypervolume_2d([(1, 1), (2, 2), (3, 3)], (0, 4)) == 6.0
assert hypervolume_2d([(3, 1), (2, 2), (1, 3), (3, 1), (-1, 0)], (0, 4)) == 9.0
assert hypervolume_2d([], (0, 4)) == 0.0


# ----------------------------------------------------------------------------- methods
def _optuna():
    try:
        import optuna
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise SystemExit(
            "Optuna is needed for the tpe/nsga2 rows: pip install -e '.[bench]'"
        ) from err
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _optuna_run(problem: Problem, sampler, directions: list[str], mo: bool) -> list[Architecture]:
    optuna = _optuna()
    study = optuna.create_study(directions=directions, sampler=sampler)
    archs = []
    for _ in range(problem.budget):
        trial = study.ask()
        key = "".join(trial.suggest_categorical(f"l{j}", DIGITS) for j in range(N_LAYERS))
        arch = problem.arch(key)
        acc = problem.acc(arch)
        study.tell(trial, [acc, problem.flops_of(arch)] if mo else acc)
        archs.append(arch)
    return archs


def run_tpe(problem: Problem, seed: int, mo: bool) -> Run:
    optuna = _optuna()
    t0 = time.perf_counter()
    directions = ["maximize", "minimize"] if mo else ["maximize"]
    archs = _optuna_run(problem, optuna.samplers.TPESampler(seed=seed), directions, mo)
    return Run(archs, [], time.perf_counter() - t0)


def run_nsga2(problem: Problem, seed: int, mo: bool) -> Run:
    optuna = _optuna()
    t0 = time.perf_counter()
    directions = ["maximize", "minimize"] if mo else ["maximize"]
    archs = _optuna_run(problem, optuna.samplers.NSGAIISampler(seed=seed), directions, mo)
    return Run(archs, [], time.perf_counter() - t0)


def run_random(problem: Problem, seed: int, mo: bool) -> Run:
    t0 = time.perf_counter()
    archs = list(problem.space.sample(problem.budget, seed=seed))
    return Run(archs, [], time.perf_counter() - t0)


def run_evolution(
    problem: Problem, seed: int, mo: bool, population: int = 20, sample: int = 5
) -> Run:
    """Regularised evolution (aging): the oldest member dies, the tournament winner breeds."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    archs: list[Architecture] = []

    def evaluate(key: str) -> tuple[str, float]:
        arch = problem.arch(key)
        archs.append(arch)
        return key, problem.acc(arch)

    pop: deque[tuple[str, float]] = deque()
    while len(pop) < population and len(archs) < problem.budget:
        pop.append(evaluate("".join(DIGITS[d] for d in rng.integers(0, 3, size=N_LAYERS))))
    while len(archs) < problem.budget:
        picks = rng.choice(len(pop), size=sample, replace=False)
        parent = max((pop[i] for i in picks), key=lambda m: m[1])[0]
        pos = int(rng.integers(N_LAYERS))
        digit = rng.choice([d for d in DIGITS if d != parent[pos]])
        pop.append(evaluate(parent[:pos] + digit + parent[pos + 1 :]))
        pop.popleft()
    return Run(archs, [], time.perf_counter() - t0)


def _study_run(problem: Problem, seed: int, mo: bool, batch: int) -> Run | None:
    t0 = time.perf_counter()
    objectives = [("mean_acc", "max"), ("flops", "min")] if mo else [("mean_acc", "max")]
    study = ab.create_study(problem.space, objectives, seed=seed)
    archs: list[Architecture] = []
    asks: list[float] = []
    found = False
    # With one objective every measure is settled once the optimum is evaluated, so the
    # study stops there (its rounds cost seconds, the baselines' microseconds).
    while len(archs) < problem.budget and not found:
        t_ask = time.perf_counter()
        trials = study.ask(min(batch, problem.budget - len(archs)))
        asks.append(time.perf_counter() - t_ask)
        for trial in trials:
            values = {"mean_acc": problem.acc(trial.arch)}
            if mo:
                values["flops"] = problem.flops_of(trial.arch)
            study.tell(trial, values)
            archs.append(trial.arch)
            found = found or (not mo and problem.truth.rank(trial.arch) <= OPTIMUM_RANK)
    return Run(archs[: problem.budget], asks, time.perf_counter() - t0)


def run_study_1(problem: Problem, seed: int, mo: bool) -> Run | None:
    return _study_run(problem, seed, mo, 1)


def run_study_5(problem: Problem, seed: int, mo: bool) -> Run | None:
    return _study_run(problem, seed, mo, 5)


METHODS: dict[str, Callable[[Problem, int, bool], Run | None]] = {
    "tpe": run_tpe,
    "nsga2": run_nsga2,
    "random": run_random,
    "evolution": run_evolution,
    "study-1": run_study_1,
    "study-5": run_study_5,
}


# ----------------------------------------------------------------------------- measures
def first_at_most(ranks: list[float], threshold: float) -> float:
    """Evaluations until a rank <= ``threshold`` is first evaluated (``inf`` if never)."""
    for i, r in enumerate(ranks):
        if r <= threshold:
            return float(i + 1)
    return float("inf")


def single_measures(problem: Problem, run: Run) -> dict:
    ranks = [problem.truth.rank(a) for a in run.archs]
    stopped = bool(ranks) and min(ranks) <= OPTIMUM_RANK
    return {
        "r10": first_at_most(ranks, 10),
        "opt": first_at_most(ranks, OPTIMUM_RANK),
        # A run that stopped at the optimum keeps its best rank for the rest of the budget.
        **{
            f"best@{n}": min(ranks[:n]) if n <= len(ranks) or stopped else None
            for n in (25, 50, 100)
        },
        "ask_s": statistics.mean(run.ask_seconds) if run.ask_seconds else None,
        "wall_s": run.wall_s,
    }


def _rank(v: float | None) -> str:
    return "-" if v is None else f"{v:g}"


def _evals(v: float, budget: int) -> str:
    return f">{budget}" if v == float("inf") else f"{v:g}"


def _table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def single_objective(problem: Problem, methods: list[str], seeds: list[int]) -> None:
    results: dict[str, list[dict] | None] = {}
    for name in methods:
        rows: list[dict] | None = []
        for seed in seeds:
            run = METHODS[name](problem, seed, False)
            if run is None:
                print(f"single {name}: not available (no autobuild.create_study)", file=sys.stderr)
                rows = None
                break
            m = single_measures(problem, run)
            rows.append(m)
            print(
                f"single {name} seed {seed}: rank<=10 at {_evals(m['r10'], problem.budget)}, "
                f"optimum at {_evals(m['opt'], problem.budget)}, best rank @25/50/100 "
                + "/".join(_rank(m[f"best@{n}"]) for n in (25, 50, 100))
                + ("" if m["ask_s"] is None else f", {m['ask_s']:.2f} s per ask")
                + f", {run.wall_s:.1f} s",
                file=sys.stderr,
            )
        results[name] = rows

    b = problem.budget
    print(
        f"## Single objective: maximise true mean_acc on NAS-Bench-Macro, budget {b}, "
        f"seeds {', '.join(map(str, seeds))}\n"
    )
    header = [
        "method",
        "median evals to rank<=10",
        "optimum within 100",
        f"optimum within {b}",
        "median best rank @25",
        "@50",
        "@100",
        "mean s per ask",
        "total wall s",
    ]
    table = []
    for name, rows in results.items():
        if rows is None:
            table.append([name, "not available", *["-"] * (len(header) - 2)])
            continue
        r10 = statistics.median(r["r10"] for r in rows)
        best = [
            "-" if rows[0][k] is None else f"{statistics.median(r[k] for r in rows):g}"
            for k in ("best@25", "best@50", "best@100")
        ]
        asks = [r["ask_s"] for r in rows if r["ask_s"] is not None]
        table.append(
            [
                name,
                _evals(r10, b),
                f"{sum(r['opt'] <= 100 for r in rows)}/{len(rows)}",
                f"{sum(r['opt'] <= b for r in rows)}/{len(rows)}",
                *best,
                f"{statistics.median(asks):.3g}" if asks else "-",
                f"{sum(r['wall_s'] for r in rows):.1f}",
            ]
        )
    _table(header, table)

    for key, title in (("r10", "rank <= 10"), ("opt", "the optimum (rank 1.5)")):
        print(f"Evaluations until {title} is first evaluated, per seed:\n")
        table = [
            [name, *([_evals(r[key], b) for r in rows] if rows else ["not available"])]
            + ([] if rows else ["-"] * (len(seeds) - 1))
            for name, rows in results.items()
        ]
        _table(["method", *(f"seed {s}" for s in seeds)], table)


def multi_objective(problem: Problem, methods: list[str], seeds: list[int]) -> None:
    ref = (REF_ACC, REF_FLOPS_FACTOR * max(problem.flops.values()))
    results: dict[str, tuple[list[float], float] | None] = {}
    for name in methods:
        hvs: list[float] = []
        wall = 0.0
        for seed in seeds:
            run = METHODS[name](problem, seed, True)
            if run is None:
                print(f"mo {name}: not available (no autobuild.create_study)", file=sys.stderr)
                break
            points = [(problem.acc(a), problem.flops_of(a)) for a in run.archs]
            hvs.append(hypervolume_2d(points, ref))
            wall += run.wall_s
            print(f"mo {name} seed {seed}: hv {hvs[-1]:.4g}, {run.wall_s:.1f} s", file=sys.stderr)
        results[name] = (hvs, wall) if len(hvs) == len(seeds) else None

    print(
        f"## Two objectives: maximise mean_acc, minimise FLOPs, budget {problem.budget}, "
        f"seeds {', '.join(map(str, seeds))}\n"
    )
    print(
        f"Hypervolume (%·FLOPs, higher is better) of the evaluated points' Pareto front, "
        f"reference point ({ref[0]:g} %, {ref[1]:.4g} FLOPs = {REF_FLOPS_FACTOR} x the "
        f"largest).\n"
    )
    header = ["method", "median hypervolume", *(f"seed {s}" for s in seeds), "total wall s"]
    table = []
    for name, res in results.items():
        if res is None:
            table.append([name, "not available", *["-"] * (len(header) - 2)])
            continue
        hvs, wall = res
        table.append(
            [name, f"{statistics.median(hvs):.4g}", *(f"{h:.4g}" for h in hvs), f"{wall:.1f}"]
        )
    _table(header, table)
    print(
        "Reference, median hypervolume measured here with Optuna 5.1 (seeds 0-2): "
        + ", ".join(f"{k} {v:.4g}" for k, v in OPTUNA_MO_REFERENCE.items())
    )


def overhead(problem: Problem, seeds: list[int], told: int = 100, batch: int = 5) -> None:
    """Seconds of one ``ask(batch)`` of the default sampler once ``told`` results are known."""
    from autobuild.storage import InMemoryStudyStorage
    from autobuild.study import AutoBuildSampler, RandomSampler, Study

    rows = []
    for objectives in ([("mean_acc", "max")], [("mean_acc", "max"), ("flops", "min")]):
        times = []
        for seed in seeds:
            store = InMemoryStudyStorage()
            first = ab.create_study(
                problem.space, objectives, storage=store, name="o", sampler=RandomSampler()
            )
            for trial in first.ask(told):
                values = {"mean_acc": problem.acc(trial.arch)}
                values["flops"] = problem.flops_of(trial.arch)
                first.tell(trial, values)
            record = store.get_study("o")
            assert record is not None
            study = Study(store, record, problem.space, AutoBuildSampler())
            t0 = time.perf_counter()
            study.ask(batch)
            times.append(time.perf_counter() - t0)
            print(
                f"overhead {len(objectives)} objective(s) seed {seed}: {times[-1]:.2f} s",
                file=sys.stderr,
            )
        names = ", ".join(m for m, _ in objectives)
        per_seed = ", ".join(f"{t:.2f}" for t in times)
        rows.append([names, f"{statistics.median(times):.2f}", per_seed])
    print(f"## Study overhead: one ask({batch}) with {told} told results (default sampler)\n")
    _table(["objectives", "median s", "per seed"], rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=list(range(10)))
    parser.add_argument("--mo-seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--budget", type=int, default=250)
    parser.add_argument(
        "--overhead-seeds",
        type=int,
        nargs="*",
        default=[0, 1, 2],
        help="Seeds of the overhead measurement (none: skip it).",
    )
    parser.add_argument(
        "--methods",
        nargs="+",
        choices=list(METHODS),
        default=list(METHODS),
        help="Subset to run (evolution is single-objective only, nsga2 two-objective only).",
    )
    args = parser.parse_args()
    if args.budget < 1:
        parser.error("--budget must be positive")

    data = load_nasbench_macro()
    space = data.space
    truth = TrueRanks(space)
    flops = {
        space.arch_id(a): float(f) for a, f in zip(data.archs, data.metrics["flops"], strict=True)
    }
    problem = Problem(space, truth, flops, args.budget)

    single = [m for m in args.methods if m in SINGLE_METHODS]
    mo = [m for m in args.methods if m in MO_METHODS]
    if args.seeds and single:
        single_objective(problem, single, args.seeds)
    if args.mo_seeds and mo:
        multi_objective(problem, mo, args.mo_seeds)
    if args.overhead_seeds and any(m.startswith("study") for m in args.methods):
        overhead(problem, args.overhead_seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
