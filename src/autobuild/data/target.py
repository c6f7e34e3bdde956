"""Safe, vectorised target expressions over metric columns.

A predictor is trained on a *target* computed from the metric columns of a data set, for
example ``acc/latency``, ``100**acc``, ``sqrt(pq) - sqrt(flops)`` or ``-fid``. The text is
parsed with :func:`ast.parse` and evaluated by a small recursive interpreter over a whitelist
of node types; it is never passed to ``eval``, ``exec`` or ``compile``, and metric names are
bound to arrays, never substituted into the text. Precedence and associativity are Python's,
so ``-x**2`` is ``-(x**2)`` and ``2**3**2`` is ``2**(3**2)``.

Grammar (anything else is refused with :class:`~autobuild.exceptions.ExpressionError`)::

    expr     := number | metric | call | "(" expr ")"
              | expr ("+" | "-" | "*" | "/" | "**") expr
              | ("-" | "+") expr
    number   := int or float literal (no booleans, complex numbers or strings)
    metric   := Python identifier that does not start with "_" and is not a function name
    call     := function "(" expr ("," expr)* ")"        (positional arguments only)
    function := log | log10 | log2 | exp | sqrt | abs     (1 argument; log is natural)
              | min | max                                  (2 or more, elementwise)
              | power                                      (2 arguments)

Metric columns whose names are not Python identifiers (``top-1 acc``) cannot be referenced;
rename them first. Evaluation runs under ``np.errstate(all="ignore")``: invalid results
(``log(0)``, ``sqrt(-1)``, ``1/0``, overflow) become ``nan``/``inf`` for the caller to count
and drop, and no ``RuntimeWarning`` is emitted.
"""

from __future__ import annotations

import ast
import difflib
import functools
import hashlib
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NoReturn

import numpy as np
import numpy.typing as npt

from autobuild.exceptions import ExpressionError

__all__ = ["ALLOWED_FUNCTIONS", "TargetExpression", "parse_target", "sanitize_for_filename"]

FloatArray = npt.NDArray[np.float64]


def _reduce(ufunc: np.ufunc) -> Callable[..., FloatArray]:
    """Return a function applying the binary ``ufunc`` elementwise across all its arguments."""

    def apply(*args: FloatArray) -> FloatArray:
        return functools.reduce(ufunc, args)

    return apply


# name -> (implementation, minimum arity, maximum arity or None for unbounded)
_FUNCTIONS: dict[str, tuple[Callable[..., FloatArray], int, int | None]] = {
    "abs": (np.abs, 1, 1),
    "exp": (np.exp, 1, 1),
    "log": (np.log, 1, 1),
    "log10": (np.log10, 1, 1),
    "log2": (np.log2, 1, 1),
    "max": (_reduce(np.maximum), 2, None),
    "min": (_reduce(np.minimum), 2, None),
    "power": (np.power, 2, 2),
    "sqrt": (np.sqrt, 1, 1),
}

ALLOWED_FUNCTIONS: tuple[str, ...] = tuple(sorted(_FUNCTIONS))
"""Names of the functions a target expression may call."""

_BINARY_OPS: dict[type[ast.operator], np.ufunc] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
    ast.Pow: np.power,
}
_UNARY_OPS: dict[type[ast.unaryop], np.ufunc] = {ast.USub: np.negative, ast.UAdd: np.positive}

_OPERATOR_SYMBOLS: dict[type[ast.AST], str] = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.Invert: "~",
    ast.Not: "not",
}

_CONSTRUCTS: dict[type[ast.AST], str] = {
    ast.Subscript: "Subscript",
    ast.Lambda: "Lambda",
    ast.Compare: "Comparison",
    ast.BoolOp: "Boolean operator",
    ast.IfExp: "Conditional expression",
    ast.ListComp: "Comprehension",
    ast.SetComp: "Comprehension",
    ast.DictComp: "Comprehension",
    ast.GeneratorExp: "Generator expression",
    ast.JoinedStr: "F-string",
    ast.NamedExpr: "Assignment expression (:=)",
    ast.Starred: "Starred argument",
    ast.List: "List literal",
    ast.Tuple: "Tuple",
    ast.Set: "Set literal",
    ast.Dict: "Dict literal",
    ast.Await: "Await expression",
    ast.Yield: "Yield expression",
    ast.YieldFrom: "Yield expression",
    ast.Slice: "Slice",
}

# Example call of each function, quoted in arity errors.
_EXAMPLES: dict[str, str] = {
    **{name: f"{name}(acc)" for name in ("abs", "exp", "log", "log10", "log2", "sqrt")},
    "max": "max(acc, 0.5)",
    "min": "min(acc, 0.5)",
    "power": "power(acc, 2)",
}


_GRAMMAR_HINT = (
    "Use numbers, metric names, + - * / ** and the functions "
    f"{', '.join(ALLOWED_FUNCTIONS)}, e.g. 'acc/latency'."
)


class TargetExpression:
    """A parsed, validated target expression over metric names.

    Args:
        text: The expression, e.g. ``"acc/latency"``. Surrounding whitespace is ignored.

    Attributes:
        text: The expression text, stripped.
        names: Metric names the expression uses, deduplicated, in order of first appearance.

    Raises:
        ExpressionError: If the text is empty, is not valid syntax, or uses anything outside
            the grammar described in this module's docstring.
    """

    __slots__ = ("_tree", "names", "text")

    def __init__(self, text: str) -> None:
        self.text = text.strip()
        if not self.text:
            raise ExpressionError(
                f"Empty target expression {text!r}. Give an arithmetic expression over "
                "metric names, e.g. 'acc/latency'."
            )
        try:
            tree = ast.parse(self.text, mode="eval")
        except SyntaxError as exc:
            where = f" at column {exc.offset}" if exc.offset else ""
            raise ExpressionError(
                f"Invalid syntax in target expression '{self.text}': {exc.msg}{where}. "
                f"{_GRAMMAR_HINT}"
            ) from None
        except (MemoryError, RecursionError):
            self._too_deep()
        names: dict[str, None] = {}
        try:
            self._validate(tree.body, names)
        except RecursionError:
            self._too_deep()
        self._tree: ast.expr = tree.body
        self.names: tuple[str, ...] = tuple(names)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r})"

    def check_names(self, available: Iterable[str]) -> None:
        """Check that every metric the expression uses is available.

        Args:
            available: Names of the metric columns that can be used.

        Raises:
            ExpressionError: Naming the unknown metric(s) and listing the available ones.
        """
        known = set(available)
        unknown = [name for name in self.names if name not in known]
        if not unknown:
            return
        listed = ", ".join(f"'{name}'" for name in unknown)
        noun = "metric" if len(unknown) == 1 else "metrics"
        message = (
            f"Unknown {noun} {listed} in target expression '{self.text}'. "
            f"Available metrics: {', '.join(sorted(known)) or '(none)'}."
        )
        suggestions = [
            f"'{match[0]}' for '{name}'"
            for name in unknown
            if (match := difflib.get_close_matches(name, sorted(known), n=1))
        ]
        if suggestions:
            message += f" Did you mean {', '.join(suggestions)}?"
        raise ExpressionError(message)

    def evaluate(self, columns: Mapping[str, np.ndarray | Sequence[float]]) -> FloatArray:
        """Evaluate the expression elementwise over metric columns.

        Args:
            columns: Metric name to 1-D column of values. Only the columns the expression
                uses are converted to ``float64``; those must all have the same length.

        Returns:
            A new 1-D ``float64`` array with one value per row. An expression without metric
            names (e.g. ``"2+3"``) is broadcast to the common length of ``columns``, or
            returned as a 1-element array when ``columns`` is empty. Invalid results are
            ``nan`` or ``inf``; no exception or warning is raised for them.

        Raises:
            ExpressionError: If a metric is unknown, a used column is not 1-D numeric data,
                or the columns have different lengths.
        """
        self.check_names(columns)
        env = {name: self._column(name, columns[name]) for name in self.names}
        sources: Mapping[str, np.ndarray | Sequence[float]] = env or columns
        lengths = {name: _length(column) for name, column in sources.items()}
        if len(set(lengths.values())) > 1:
            detail = ", ".join(f"{name}={length}" for name, length in lengths.items())
            raise ExpressionError(
                f"Metric columns for target expression '{self.text}' have different lengths "
                f"({detail}). Give columns with one value per row."
            )
        length = next(iter(lengths.values()), 1)
        try:
            with np.errstate(all="ignore"):
                result = self._evaluate(self._tree, env)
        except RecursionError:
            self._too_deep()
        return np.broadcast_to(np.asarray(result, dtype=np.float64), (length,)).copy()

    def _column(self, name: str, values: np.ndarray | Sequence[float]) -> FloatArray:
        """Convert one used metric column to a 1-D ``float64`` array."""
        try:
            column = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ExpressionError(
                f"Metric '{name}' used in target expression '{self.text}' is not numeric: "
                f"{exc}. Give a column of numbers."
            ) from None
        if column.ndim != 1:
            raise ExpressionError(
                f"Metric '{name}' used in target expression '{self.text}' has shape "
                f"{column.shape}. Give a 1-D column with one value per row."
            )
        return column

    def _evaluate(self, node: ast.expr, env: Mapping[str, FloatArray]) -> FloatArray:
        """Recursively evaluate a validated node; numbers become 0-d ``float64`` arrays."""
        if isinstance(node, ast.Constant):
            return np.asarray(node.value, dtype=np.float64)
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.BinOp):
            ufunc = _BINARY_OPS[type(node.op)]
            return ufunc(self._evaluate(node.left, env), self._evaluate(node.right, env))
        if isinstance(node, ast.UnaryOp):
            return _UNARY_OPS[type(node.op)](self._evaluate(node.operand, env))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            function = _FUNCTIONS[node.func.id][0]
            return function(*(self._evaluate(arg, env) for arg in node.args))
        raise AssertionError(f"unvalidated node {ast.dump(node)}")  # pragma: no cover

    def _validate(self, node: ast.expr, names: dict[str, None]) -> None:
        """Check that ``node`` only uses the grammar, recording metric names into ``names``."""
        if isinstance(node, ast.Constant):
            self._validate_constant(node)
        elif isinstance(node, ast.Name):
            self._validate_name(node)
            names.setdefault(node.id, None)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY_OPS:
                self._refuse_operator(node.op, node)
            self._validate(node.left, names)
            self._validate(node.right, names)
        elif isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARY_OPS:
                self._refuse_operator(node.op, node)
            self._validate(node.operand, names)
        elif isinstance(node, ast.Call):
            self._validate_call(node)
            for arg in node.args:
                self._validate(arg, names)
        elif isinstance(node, ast.Attribute):
            self._fail(
                f"Attribute access '{ast.unparse(node)}' is not allowed",
                node,
                "Use metric names and the allowed functions directly, e.g. 'log(acc)'.",
            )
        else:
            construct = _CONSTRUCTS.get(type(node), f"Syntax '{type(node).__name__}'")
            self._fail(f"{construct} '{ast.unparse(node)}' is not allowed", node, _GRAMMAR_HINT)

    def _validate_constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):
            kind = "Boolean literal"
        elif isinstance(value, str | bytes):
            kind = "String literal"
        elif isinstance(value, complex):
            kind = "Complex number"
        elif isinstance(value, float):
            return
        elif isinstance(value, int):
            if abs(value) <= sys.float_info.max:
                return
            self._fail(
                f"Integer {ast.unparse(node)[:20]}... is too large",
                node,
                "Numbers must fit in a float (at most about 1.8e308).",
            )
        else:
            kind = "Constant"
        self._fail(
            f"{kind} {ast.unparse(node)} is not allowed",
            node,
            "Only int and float numbers can be used as constants.",
        )

    def _validate_name(self, node: ast.Name) -> None:
        if node.id.startswith("_"):
            self._fail(
                f"Name '{node.id}' is not allowed",
                node,
                "Metric names must not start with '_'; rename the column.",
            )
        if node.id in _FUNCTIONS:
            self._fail(
                f"Function '{node.id}' used as a value",
                node,
                f"Call it with an argument, e.g. '{node.id}(acc)', or rename the metric.",
            )

    def _validate_call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            suggestion = ast.unparse(ast.Call(ast.Name(func.attr), node.args, node.keywords))
            hint = (
                f"Call the function directly, e.g. '{suggestion}'."
                if func.attr in _FUNCTIONS
                else _GRAMMAR_HINT
            )
            self._fail(f"Attribute access '{ast.unparse(func)}' is not allowed", node, hint)
        if not isinstance(func, ast.Name):
            self._fail(f"Call of '{ast.unparse(func)}' is not allowed", node, _GRAMMAR_HINT)
        if func.id not in _FUNCTIONS:
            self._fail(
                f"Unsupported function '{func.id}'",
                node,
                f"Allowed functions: {', '.join(ALLOWED_FUNCTIONS)}.",
            )
        if node.keywords:
            keyword = node.keywords[0]
            shown = f"**{ast.unparse(keyword.value)}" if keyword.arg is None else keyword.arg
            hint = "Pass arguments positionally."
            if func.id == "log":
                hint += " For another base use log2, log10 or log(x)/log(base)."
            self._fail(
                f"Keyword argument '{shown}' in call to '{func.id}' is not allowed", node, hint
            )
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self._fail(
                    f"Starred argument '{ast.unparse(arg)}' is not allowed",
                    arg,
                    "Pass arguments one by one.",
                )
        _, low, high = _FUNCTIONS[func.id]
        count = len(node.args)
        if count < low or (high is not None and count > high):
            if high is None:
                expected = f"at least {low} arguments"
            else:
                expected = f"exactly {low} argument{'s' if low > 1 else ''}"
            self._fail(
                f"Function '{func.id}' takes {expected}, got {count}",
                node,
                f"Call it as in '{_EXAMPLES[func.id]}'.",
            )

    def _refuse_operator(self, op: ast.AST, node: ast.expr) -> NoReturn:
        symbol = _OPERATOR_SYMBOLS.get(type(op), type(op).__name__)
        self._fail(f"Operator '{symbol}' is not allowed", node, _GRAMMAR_HINT)

    def _fail(self, problem: str, node: ast.AST, hint: str) -> NoReturn:
        line, column = getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1
        where = f"line {line}, column {column}" if "\n" in self.text else f"column {column}"
        raise ExpressionError(f"{problem} (at {where}) in target expression '{self.text}'. {hint}")

    def _too_deep(self) -> NoReturn:
        shown = self.text if len(self.text) <= 60 else f"{self.text[:57]}..."
        raise ExpressionError(
            f"Target expression '{shown}' is too deeply nested. Simplify the expression."
        ) from None


def _length(column: np.ndarray | Sequence[float]) -> int:
    """Number of rows in a column; a scalar counts as one row."""
    try:
        return len(column)
    except TypeError:  # 0-d array
        return 1


def parse_target(text: str) -> TargetExpression:
    """Parse and validate a target expression.

    Args:
        text: The expression, e.g. ``"acc/latency"``.

    Returns:
        The validated :class:`TargetExpression`.

    Raises:
        ExpressionError: If the expression is malformed or unsafe.
    """
    return TargetExpression(text)


_SLUG_MAX = 80
_SLUG_OPERATORS = {"**": "_pow_", "*": "_mul_", "/": "_div_", "+": "_plus_", "-": "_minus_"}
_SLUG_UNARY = {"-": "neg_", "+": "pos_"}
# A float literal with a signed exponent stays whole; otherwise one operator or character.
_SLUG_TOKEN = re.compile(r"(?<![\w.])(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+|\*\*|.", re.DOTALL)


def sanitize_for_filename(text: str) -> str:
    """Make a short, filesystem-safe slug of a target expression.

    Operators are spelled out (``acc/latency`` → ``acc_div_latency``, ``100**acc`` →
    ``100_pow_acc``, ``-fid`` → ``neg_fid``), every other character outside
    ``[A-Za-z0-9_.-]`` becomes ``_``, and runs of ``_`` are collapsed. Slugs longer than 80
    characters are truncated and end in a hash of ``text``, so distinct long expressions keep
    distinct slugs. Never raises and never returns an empty string (falls back to ``target``).

    Args:
        text: Any text, usually a target expression.

    Returns:
        A slug of at most 80 characters from ``[A-Za-z0-9_.-]``, not starting with ``.``/``-``.
    """
    parts: list[str] = []
    previous = ""
    for token in _SLUG_TOKEN.findall("".join(text.split())):
        unary = token in _SLUG_UNARY and (not previous or previous in "(,*/+-")
        parts.append(_SLUG_UNARY[token] if unary else _SLUG_OPERATORS.get(token, token))
        previous = token[-1]
    slug = re.sub(r"[^A-Za-z0-9_.-]", "_", "".join(parts))
    slug = re.sub(r"_+", "_", slug).strip("_.-") or "target"
    if len(slug) > _SLUG_MAX:
        digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:8]
        slug = f"{slug[: _SLUG_MAX - len(digest) - 1].rstrip('_.-')}_{digest}"
    return slug
