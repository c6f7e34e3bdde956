"""Tests for the safe, vectorised target-expression language."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from autobuild.data.target import (
    ALLOWED_FUNCTIONS,
    TargetExpression,
    parse_target,
    sanitize_for_filename,
)
from autobuild.exceptions import ExpressionError

ACC = np.array([0.5, 0.75, 0.9])
LATENCY = np.array([2.0, 4.0, 8.0])
PQ = np.array([4.0, 9.0, 16.0])
FLOPS = np.array([10.0, 100.0, 1000.0])
FID = np.array([3.0, -1.0, 0.0])
X = np.array([-0.5, 2.0, -3.0])
COLUMNS = {"acc": ACC, "latency": LATENCY, "pq": PQ, "flops": FLOPS, "fid": FID, "x": X}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("acc/latency", ACC / LATENCY),
        ("acc - latency", ACC - LATENCY),
        ("100**acc", 100**ACC),
        ("sqrt(pq) - sqrt(flops)", np.sqrt(PQ) - np.sqrt(FLOPS)),
        ("pq/log10(flops)", PQ / np.log10(FLOPS)),
        ("-fid", -FID),
        ("+fid", FID),
        ("acc", ACC),
        ("max(acc, 0.8) * 2", np.maximum(ACC, 0.8) * 2),
        ("min(acc, 0.8, x)", np.minimum(np.minimum(ACC, 0.8), X)),
        ("power(acc, 2)", ACC**2),
        ("log(latency + 1)", np.log(LATENCY + 1)),
        ("log2(latency) + exp(acc) - abs(x)", np.log2(LATENCY) + np.exp(ACC) - np.abs(X)),
        ("(acc + 1) * (latency - 1) / 2", (ACC + 1) * (LATENCY - 1) / 2),
        ("2**-acc", 2.0**-ACC),
        ("1e-3 * flops", 1e-3 * FLOPS),
    ],
)
def test_evaluate_matches_numpy(text: str, expected: np.ndarray) -> None:
    result = parse_target(text).evaluate(COLUMNS)

    assert result.dtype == np.float64
    assert result.shape == (3,)
    np.testing.assert_allclose(result, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-x**2", -(X**2)),
        ("(-x)**2", X**2),
        ("2**3**2", np.full(3, 512.0)),
        ("acc - latency - x", (ACC - LATENCY) - X),
        ("acc / latency / 2", (ACC / LATENCY) / 2),
        ("1 + acc * 2", 1 + ACC * 2),
    ],
)
def test_precedence_and_associativity_follow_python(text: str, expected: np.ndarray) -> None:
    np.testing.assert_allclose(parse_target(text).evaluate(COLUMNS), expected)


def test_negative_column_values_are_not_textually_substituted() -> None:
    result = parse_target("x**2").evaluate({"x": [-0.5]})

    np.testing.assert_allclose(result, [0.25])


def test_names_that_prefix_other_names_are_bound_separately() -> None:
    expr = parse_target("flops_seg - flops + flops_seg")

    result = expr.evaluate({"flops": [1.0, 2.0], "flops_seg": [10.0, 20.0]})

    assert expr.names == ("flops_seg", "flops")
    np.testing.assert_allclose(result, [19.0, 38.0])


def test_attributes_text_names_and_repr() -> None:
    expr = TargetExpression("  sqrt(pq) - sqrt(flops) / pq ")

    assert expr.text == "sqrt(pq) - sqrt(flops) / pq"
    assert expr.names == ("pq", "flops")
    assert repr(expr) == "TargetExpression('sqrt(pq) - sqrt(flops) / pq')"
    assert parse_target("2 + 3").names == ()


def test_evaluate_accepts_sequences_and_integer_columns_without_mutating_them() -> None:
    acc = np.array([1, 2, 4])

    result = parse_target("acc / 4").evaluate({"acc": acc, "latency": [1.0, 2.0, 3.0]})

    np.testing.assert_allclose(result, [0.25, 0.5, 1.0])
    assert acc.dtype.kind == "i"
    assert result is not acc


def test_evaluate_of_single_name_returns_a_copy() -> None:
    acc = np.array([0.1, 0.2])

    result = parse_target("acc").evaluate({"acc": acc})
    result[0] = 5.0

    assert acc[0] == 0.1


def test_scalar_expression_broadcasts_to_column_length() -> None:
    result = parse_target("2 + 3").evaluate({"acc": ACC, "arch": np.array(["a", "b", "c"])})

    np.testing.assert_array_equal(result, [5.0, 5.0, 5.0])


def test_scalar_expression_without_columns_is_one_element() -> None:
    result = parse_target("2 ** 0.5").evaluate({})

    assert result.shape == (1,)
    np.testing.assert_allclose(result, [np.sqrt(2.0)])


def test_invalid_results_become_nan_or_inf_without_warnings() -> None:
    columns = {"zero": np.zeros(2), "neg": -np.ones(2), "big": np.full(2, 1e308)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log_zero = parse_target("log(zero)").evaluate(columns)
        sqrt_neg = parse_target("sqrt(neg)").evaluate(columns)
        div_zero = parse_target("neg / zero").evaluate(columns)
        zero_div_zero = parse_target("zero / zero").evaluate(columns)
        overflow = parse_target("big * 10 + exp(1000) + 10**10**10").evaluate(columns)
        scalar = parse_target("1 / 0").evaluate(columns)

    assert np.all(log_zero == -np.inf)
    assert np.all(np.isnan(sqrt_neg))
    assert np.all(div_zero == -np.inf)
    assert np.all(np.isnan(zero_div_zero))
    assert np.all(overflow == np.inf)
    assert np.all(scalar == np.inf)


def test_nan_in_columns_propagates() -> None:
    result = parse_target("max(acc, 0.5) + 1").evaluate({"acc": [np.nan, 0.2]})

    assert np.isnan(result[0])
    assert result[1] == 1.5


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("__import__('os')", r"Unsupported function '__import__'"),
        ("eval('1')", r"Unsupported function 'eval'"),
        ("open('f')", r"Unsupported function 'open'.*Allowed functions: abs, exp, log"),
        ("acc.real", r"Attribute access 'acc\.real' is not allowed"),
        ("np.log(acc)", r"Attribute access 'np\.log' is not allowed.*'log\(acc\)'"),
        ("acc[0]", r"Subscript 'acc\[0\]'"),
        ("lambda: 1", r"Lambda"),
        ("acc if acc else 1", r"Conditional expression"),
        ("acc > 1", r"Comparison 'acc > 1'"),
        ("acc and latency", r"Boolean operator"),
        ("not acc", r"Operator 'not'"),
        ("'s'", r"String literal 's'"),
        ("f'{acc}'", r"F-string"),
        ("True", r"Boolean literal True"),
        ("1j", r"Complex number 1j"),
        ("None", r"Constant None"),
        ("[acc for acc in x]", r"Comprehension"),
        ("(y := acc)", r"Assignment expression \(:=\)"),
        ("max(*acc)", r"Starred argument '\*acc'"),
        ("log(acc, base=2)", r"Keyword argument 'base' in call to 'log'"),
        ("log(**kw)", r"Keyword argument '\*\*kw'"),
        ("log()", r"Function 'log' takes exactly 1 argument, got 0"),
        ("sqrt(acc, 2)", r"Function 'sqrt' takes exactly 1 argument, got 2"),
        ("power(acc)", r"Function 'power' takes exactly 2 arguments, got 1"),
        ("max(acc)", r"Function 'max' takes at least 2 arguments, got 1"),
        ("1 // 2", r"Operator '//'"),
        ("acc % 2", r"Operator '%'"),
        ("~acc", r"Operator '~'"),
        ("log + 1", r"Function 'log' used as a value"),
        ("_x + 1", r"Name '_x' is not allowed"),
        ("acc + __class__", r"Name '__class__' is not allowed"),
        ("log(acc)(2)", r"Call of 'log\(acc\)' is not allowed"),
        ("[acc]", r"List literal"),
        ("acc, latency", r"Tuple"),
        ("9" * 400, r"Integer 9+\.\.\. is too large"),
    ],
)
def test_refuses_unsupported_constructs(text: str, match: str) -> None:
    with pytest.raises(ExpressionError, match=match):
        TargetExpression(text)


def test_refusal_reports_column_and_expression() -> None:
    with pytest.raises(ExpressionError, match=re.escape("(at column 7) in target expression")):
        TargetExpression("acc + latency[0]")


def test_refusal_on_later_line_reports_line_and_column() -> None:
    with pytest.raises(ExpressionError, match=r"at line 2, column 3"):
        TargetExpression("(acc\n+ x.y)")


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_refuses_empty_text(text: str) -> None:
    with pytest.raises(ExpressionError, match="Empty target expression"):
        TargetExpression(text)


@pytest.mark.parametrize("text", ["1 +", "acc latency", "acc;1", "(acc", "acc = 1"])
def test_refuses_syntax_errors(text: str) -> None:
    with pytest.raises(ExpressionError, match=r"Invalid syntax in target expression"):
        TargetExpression(text)


def test_refuses_pathologically_deep_nesting() -> None:
    with pytest.raises(ExpressionError, match=r"too deeply nested|Invalid syntax"):
        TargetExpression("-" * 100_000 + "1")


def test_unknown_metric_lists_available_metrics() -> None:
    expected = (
        "Unknown metric 'acc' in target expression 'acc/latency'. "
        "Available metrics: flops, latency, mean_acc, params."
    )
    with pytest.raises(ExpressionError, match=re.escape(expected)):
        parse_target("acc/latency").check_names(["params", "mean_acc", "flops", "latency"])


def test_unknown_metrics_are_all_named_with_suggestion() -> None:
    expected = r"Unknown metrics 'acc', 'latncy'.*Did you mean 'latency' for 'latncy'\?"
    with pytest.raises(ExpressionError, match=expected):
        parse_target("acc/latncy").evaluate({"latency": LATENCY})


def test_check_names_accepts_known_metrics() -> None:
    parse_target("acc/latency").check_names(iter(["latency", "acc", "extra"]))


def test_mismatched_column_lengths_are_refused() -> None:
    with pytest.raises(ExpressionError, match=r"different lengths \(acc=3, latency=2\)"):
        parse_target("acc/latency").evaluate({"acc": ACC, "latency": [1.0, 2.0]})


def test_unused_columns_are_not_converted_or_length_checked() -> None:
    result = parse_target("acc").evaluate({"acc": ACC, "other": np.array(["x"])})

    np.testing.assert_allclose(result, ACC)


def test_scalar_expression_with_mismatched_columns_is_refused() -> None:
    with pytest.raises(ExpressionError, match="different lengths"):
        parse_target("1").evaluate({"acc": ACC, "latency": [1.0]})


@pytest.mark.parametrize(
    ("values", "match"),
    [(["a", "b"], r"Metric 'acc' .* is not numeric"), ([[1.0], [2.0]], r"has shape \(2, 1\)")],
)
def test_non_numeric_or_non_1d_columns_are_refused(values: object, match: str) -> None:
    with pytest.raises(ExpressionError, match=match):
        parse_target("acc * 2").evaluate({"acc": values})  # type: ignore[dict-item]


def test_expression_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Unsupported function"):
        parse_target("open(1)")


def test_allowed_functions_are_listed_sorted() -> None:
    assert ALLOWED_FUNCTIONS == (
        "abs",
        "exp",
        "log",
        "log10",
        "log2",
        "max",
        "min",
        "power",
        "sqrt",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("acc/latency", "acc_div_latency"),
        ("-fid", "neg_fid"),
        ("100**acc", "100_pow_acc"),
        ("acc - latency", "acc_minus_latency"),
        ("sqrt(pq) - sqrt(flops)", "sqrt_pq_minus_sqrt_flops"),
        ("pq/log10(flops)", "pq_div_log10_flops"),
        ("max(acc, 0.5) * 2", "max_acc_0.5_mul_2"),
        ("x * -y", "x_mul_neg_y"),
        ("1e-3*flops", "1e-3_mul_flops"),
        ("mean_acc", "mean_acc"),
        ("", "target"),
        ("   ", "target"),
        ("../..", "div"),
        ("$%&", "target"),
    ],
)
def test_sanitize_for_filename(text: str, expected: str) -> None:
    assert sanitize_for_filename(text) == expected


@pytest.mark.parametrize("text", ["a" * 200, "acc/" * 50 + "x", "é/ü", ".hidden", "-", "a\x00b"])
def test_sanitize_for_filename_is_always_safe_and_short(text: str) -> None:
    slug = sanitize_for_filename(text)

    assert re.fullmatch(r"[A-Za-z0-9_.-]{1,80}", slug)
    assert not slug.startswith((".", "-"))


def test_sanitize_for_filename_keeps_long_expressions_distinct() -> None:
    first = sanitize_for_filename("a" * 200)
    second = sanitize_for_filename("a" * 200 + "b")

    assert len(first) == len(second) == 80
    assert first != second
