"""Bounds at the CLI boundary, checked in-process on the parsers themselves.

``--time-scale`` is bounded to [1e-4, 100] s per tick, while the options that only
shared its parser (budgets, the gate's minimal effects) keep theirs; ``--python`` must
name an interpreter that answers a version check and imports pyperf. The one-line,
exit-2 form of these refusals is checked end to end in ``test_cli``.
"""

from __future__ import annotations

import argparse
import stat
import sys
from pathlib import Path

import pytest

from bench.cli import args as A
from bench.cli.commands import build_parser
from bench.cli.gate_cmd import fraction


@pytest.mark.parametrize("text", ["1e-4", "0.0001", "0.01", "1", "100"])
def test_time_scale_within_bounds_is_accepted(text: str) -> None:
    assert A.time_scale(text) == float(text)


@pytest.mark.parametrize("text", ["9.99e-5", "1e-9", "100.5", "1e6", "0", "-1", "nan", "inf", "-inf"])
def test_time_scale_out_of_bounds_names_value_and_range(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        A.time_scale(text)
    message = str(caught.value)
    assert f"{text!r}" in message and "0.0001 … 100" in message
    assert "\n" not in message


def test_time_scale_list_form_is_bounded_item_by_item() -> None:
    assert A.time_scales("1,0.1,0.01") == [1.0, 0.1, 0.01]
    with pytest.raises(argparse.ArgumentTypeError, match=r"time scale '200' is not allowed"):
        A.time_scales("0.1,200")


def test_budgets_and_fractions_are_not_time_scales() -> None:
    """``--budget`` is seconds (a budget of 500 s is fine) and ``--min-effect`` a fraction
    (0.00005 is a legitimate, if strict, effect): neither inherits the time-scale bounds."""
    parser = build_parser()
    assert parser.parse_args(["scale", "--budget", "500"]).budget == 500.0
    gate = parser.parse_args(["gate", "--budget", "3600", "--min-effect", "0.00005"])
    assert gate.budget == 3600.0 and gate.min_effect == 0.00005
    assert A.positive_number("1e9") == 1e9
    with pytest.raises(argparse.ArgumentTypeError, match="'0' is not allowed; use a finite number > 0"):
        A.positive_number("0")
    with pytest.raises(argparse.ArgumentTypeError, match="relative effect"):
        fraction("1.5")


def test_run_time_scale_option_uses_the_bounded_parser() -> None:
    parser = build_parser()
    assert parser.parse_args(["run", "--time-scale", "1e-4,100"]).time_scale == [1e-4, 100.0]
    assert parser.parse_args(["gate", "--time-scale", "100"]).time_scale == 100.0


# ---- --python: an interpreter that can run the worker ---------------------------------------


def _script(where: Path, body: str) -> str:
    path = where / "fake-python"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_this_interpreter_is_accepted() -> None:
    assert A.interpreter(sys.executable) == sys.executable


def test_an_executable_that_is_not_python_is_refused() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=r"'/bin/false' failed the interpreter check"):
        A.interpreter("/bin/false")


def test_a_python_without_pyperf_is_refused_naming_the_import(tmp_path: Path) -> None:
    # -S: no site-packages, so this very interpreter cannot import pyperf.
    fake = _script(tmp_path, f'exec "{sys.executable}" -S "$@"')
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        A.interpreter(fake)
    assert "No module named 'pyperf'" in str(caught.value)


def test_a_python_too_old_is_refused_naming_the_version(tmp_path: Path) -> None:
    # This interpreter, claiming to be 3.10, then running the probe it was given
    # (``python -c CODE -c PROBE``: the probe is sys.argv[2]).
    pretend = "import sys; sys.version_info = (3, 10, 0, 'final', 0); exec(sys.argv[2])"
    fake = _script(tmp_path, f'exec "{sys.executable}" -c "{pretend}" "$@"')
    with pytest.raises(argparse.ArgumentTypeError, match=r"\(Python 3.10 is too old; the workers need 3.11"):
        A.interpreter(fake)


def test_a_hanging_interpreter_is_refused_after_the_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(A, "INTERPRETER_PROBE_TIMEOUT_S", 0.3)
    fake = _script(tmp_path, "exec sleep 30")
    with pytest.raises(argparse.ArgumentTypeError, match=r"did not answer a version check within 0.3 s"):
        A.interpreter(fake)


def test_a_missing_interpreter_is_refused() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="is not an executable interpreter"):
        A.interpreter("/no/such/python3")
