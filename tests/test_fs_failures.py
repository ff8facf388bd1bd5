"""File-system failures are one line and exit 2, never a traceback, never a lost measurement.

Issue finding 7. Up front: ``run`` (both measures), ``scale``, ``gate``, ``export`` and
``python -m reports`` try their output targets (``--history`` too) before anything runs,
so these tests replace the first step that would run something with a tripwire. Later: a
save that fails (a full disk, injected as ENOSPC) keeps the merged document beside the
target, or in the temporary directory, and the one line says where.

The tests may run as root, whom ``chmod`` does not stop: unwritable targets are under
``/proc`` or ``/sys`` (refused even to root) or under a regular file; the ``chmod`` case
skips as root. The CLIs are called in-process.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from test_compare import make_document, standard_runs, switch_run, write

import bench.cli.commands as commands
import bench.cli.gate_cmd as gate_cmd
from bench.gate import history
from bench.results import store, writable
from bench.results.store import ResultsError

UNWRITABLE = ["/proc/schedbench-test.json", "/sys/schedbench-test.json"]
NOT_RUN = "nothing may run before the output is checked"


def tripwire(*_: object, **__: object) -> Any:
    raise AssertionError(NOT_RUN)


@pytest.fixture
def nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scheduler discovery (a child process) is the first thing every suite command runs."""
    monkeypatch.setattr(commands, "discover_isolated", tripwire)


def bench_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = commands.main(list(argv))
    return code, capsys.readouterr().err


def one_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def error_line(err: str) -> str:
    """The one ``error:`` line of a command that printed progress before failing."""
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1, err
    return errors[0]


def results_file(tmp_path: Path, raw: dict[str, Any] | None = None) -> Path:
    return write(tmp_path / "results.json", raw if raw is not None else make_document(standard_runs()))


# ---- run: refused before anything runs ---------------------------------------------------------

RUN = ["run", "--fast", "-s", "heapq", "-n", "100", "--mode", "switch"]


@pytest.mark.parametrize("target", UNWRITABLE)
def test_run_into_an_unwritable_directory_is_one_line_before_anything_runs(
        target: str, nothing_runs: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = bench_cli(capsys, *RUN, "-o", target)
    line = one_line(err)
    assert code == 2
    assert line.startswith(f"python -m bench: error: cannot write the results file {target}: cannot create a file in")


def test_run_under_a_regular_file_names_the_file(tmp_path: Path, nothing_runs: None,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("a file, not a directory\n")
    code, err = bench_cli(capsys, *RUN, "-o", str(plain / "sub" / "r.json"))
    assert code == 2
    assert one_line(err).endswith(f"{plain / 'sub' / 'r.json'}: {plain} is a file, not a directory")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes through chmod")
def test_run_into_a_read_only_directory(tmp_path: Path, nothing_runs: None,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        code, err = bench_cli(capsys, *RUN, "-o", str(locked / "r.json"))
    finally:
        locked.chmod(0o755)
    assert code == 2
    assert "Permission denied" in one_line(err)


def test_run_instructions_checks_its_output_first(nothing_runs: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = bench_cli(capsys, "run", "--measure", "instructions", "--mode", "switch", "-o", UNWRITABLE[0])
    assert code == 2
    assert f"cannot write the results file {UNWRITABLE[0]}" in one_line(err)


def test_history_that_is_a_file_is_refused_before_anything_runs(
        tmp_path: Path, nothing_runs: None, capsys: pytest.CaptureFixture[str]) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("x\n")
    code, err = bench_cli(capsys, *RUN, "-o", str(tmp_path / "r.json"), "--history", str(plain))
    assert code == 2
    assert one_line(err) == (f"python -m bench: error: cannot write history to {plain}: "
                             f"{plain} is a file, not a directory")
    assert not (tmp_path / "r.json").exists()


def test_history_at_an_impossible_path_is_refused_before_anything_runs(
        tmp_path: Path, nothing_runs: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = bench_cli(capsys, *RUN, "-o", str(tmp_path / "r.json"), "--history", "/proc/schedbench-history")
    assert code == 2
    assert "cannot write history to /proc/schedbench-history: cannot create the directory" in one_line(err)


def test_a_history_copy_that_fails_later_says_where_the_results_are(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    saved = results_file(tmp_path)

    def full(path: Path, data: str | bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(history, "atomic_write", full)
    with pytest.raises(ResultsError) as caught:
        history.keep_history(saved, tmp_path / "history", store.load(saved))
    assert str(caught.value) == (f"cannot write history to {tmp_path / 'history'}: No space left on device; "
                                 f"the results are saved in {saved}")


# ---- scale, gate, export, reports: refused before anything runs ---------------------------------

def test_scale_into_proc_is_refused_before_anything_runs(nothing_runs: None,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, err = bench_cli(capsys, "scale", "-s", "heapq", "--sizes", "100", "-o", UNWRITABLE[0])
    assert code == 2
    assert f"cannot write the scaling results file {UNWRITABLE[0]}: cannot create a file in" in one_line(err)


def test_gate_into_proc_is_refused_before_the_sides_are_built(monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(gate_cmd.S, "resolve", tripwire)
    monkeypatch.setattr(gate_cmd.S, "default_base", tripwire)
    code, err = bench_cli(capsys, "gate", "HEAD", ".", "-o", UNWRITABLE[0])
    assert code == 2
    assert f"cannot write the gate file {UNWRITABLE[0]}: cannot create a file in" in one_line(err)


def test_a_gate_whose_save_fails_mid_way_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "gate.json"

    def side(label: str, *_: object) -> SimpleNamespace:
        return SimpleNamespace(label=label, spec=label, root=tmp_path / label, python="python")

    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(out))

    monkeypatch.setattr(gate_cmd.S, "resolve", side)
    monkeypatch.setattr(gate_cmd, "schedulers_for", lambda a, b, wanted: ["heapq"])
    monkeypatch.setattr(gate_cmd, "run_gate", full)
    code, err = bench_cli(capsys, "gate", "HEAD", ".", "-o", str(out))
    assert code == 2
    assert error_line(err) == (f"python -m bench: error: the gate stopped: {out}: No space left on device; "
                               f"pairs measured since the last save of {out} are lost")


@pytest.mark.parametrize("target", [*UNWRITABLE, "under-a-file"])
def test_export_to_an_unwritable_target_is_one_line(target: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    source = results_file(tmp_path)
    out = str(source / "export.json") if target == "under-a-file" else target
    code, err = bench_cli(capsys, "export", str(source), "--format", "bencher", "-o", out)
    assert code == 2
    assert one_line(err).startswith(f"python -m bench: error: cannot write the export to {out}: ")


def test_export_whose_write_fails_mid_way_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    source, out = results_file(tmp_path), tmp_path / "export.json"

    def full(path: Path, data: str | bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "atomic_write", full)
    code, err = bench_cli(capsys, "export", str(source), "--format", "bencher", "-o", str(out))
    assert code == 2
    assert one_line(err) == (f"python -m bench: error: cannot write the export to {out}: the write failed "
                             "(No space left on device)")


@pytest.mark.parametrize("target", ["/proc/schedbench-report", "/proc/self", "/sys/schedbench-report", "under-a-file"])
def test_report_to_an_unwritable_directory_is_one_line_before_drawing(
        target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import reports.build
    from reports.cli import main as reports_main

    monkeypatch.setattr(reports.build, "build", tripwire)
    source = results_file(tmp_path)
    out = str(source / "report") if target == "under-a-file" else target
    code = reports_main([str(source), "-o", out])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert one_line(captured.err).startswith(f"python -m reports: error: cannot write the report to {out}: ")


def _implausible(tmp_path: Path) -> Path:
    raw = make_document(standard_runs())
    next(r for r in raw["schedbench"]["runs"] if r["mode"] == "switch")["switch"]["mean_s"] = 1e308
    return write(tmp_path / "implausible.json", raw)


def test_export_refuses_an_implausible_file_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = bench_cli(capsys, "export", str(_implausible(tmp_path)), "--format", "bencher")
    assert code == 2
    assert "switch.mean_s: 1e+308 is implausibly large" in one_line(err)


def test_report_refuses_an_implausible_file_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from reports.cli import main as reports_main

    code = reports_main([str(_implausible(tmp_path)), "-o", str(tmp_path / "report")])
    assert code == 2
    assert "switch.mean_s: 1e+308 is implausibly large" in one_line(capsys.readouterr().err)
    assert not (tmp_path / "report").exists()


# ---- a save that fails later keeps the measurement -----------------------------------------------

def no_space_for(target: Path, monkeypatch: pytest.MonkeyPatch, after: int = 0) -> None:
    """Make ``atomic_write`` of ``target`` fail as a full disk does once ``after`` writes of it
    went through; other files are written as usual."""
    real = store.atomic_write
    done = 0

    def writer(path: Path, data: str | bytes) -> None:
        nonlocal done
        if Path(path) == target:
            if done >= after:
                raise OSError(errno.ENOSPC, "No space left on device")
            done += 1
        real(path, data)

    monkeypatch.setattr(store, "atomic_write", writer)


def _kept(message: str) -> Path:
    return Path(message.rsplit(" in ", 1)[1])


def test_a_run_whose_save_fails_keeps_its_measurement_beside_the_target(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Three jobs (floor, body floor, heapq); the disk is full from the third save on."""
    target = tmp_path / "r.json"
    no_space_for(target, monkeypatch, after=2)
    code, err = bench_cli(capsys, *RUN, "-o", str(target))
    line = error_line(err)
    assert code == 2 and line == err.strip().splitlines()[-1]
    assert line.startswith(f"python -m bench: error: cannot save the results file {target}: No space left on device; "
                           "kept its 1 run and 2 floors in ")
    kept = _kept(line)
    assert kept.parent == tmp_path and kept.name.startswith("r.unsaved-") and kept.suffix == ".json"
    document = store.load(kept)
    assert [(r.mode, r.scheduler) for r in document.runs] == [("switch", "heapq")]
    assert document.floor is not None and document.body_floors
    assert not store.load(target).runs  # the target holds its last good save, whole


def _previous_and_new() -> tuple[store.Document, store.Document]:
    from test_compare import doc

    previous = doc(make_document([switch_run("listscan", [650.0] * 4)]))
    new = doc(make_document([switch_run("heapq", [1100.0] * 4)]))
    return previous, new


def test_a_failed_save_keeps_the_merged_document_and_the_old_file_whole(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    previous, new = _previous_and_new()
    target = tmp_path / "r.json"
    store.dump(target, previous)
    before = target.read_bytes()
    no_space_for(target, monkeypatch)
    with pytest.raises(ResultsError) as caught:
        store.dump(target, store.merge(previous, new))
    message = str(caught.value)
    assert "\n" not in message and "No space left on device; kept its 2 runs and 1 floor in " in message
    kept = _kept(message)
    assert kept.parent == tmp_path
    assert {r.scheduler for r in store.load(kept).runs} == {"heapq", "listscan"}  # merged, nothing dropped
    assert target.read_bytes() == before


def test_when_the_directory_is_unwritable_too_the_document_goes_to_the_temp_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    previous, new = _previous_and_new()
    results, spare = tmp_path / "results", tmp_path / "spare"
    results.mkdir()
    spare.mkdir()
    real_write_new = writable.write_new

    def read_only_results(directory: Path, name: str, data: str) -> Path:
        if directory == results:
            raise OSError(errno.EROFS, "Read-only file system", str(directory / name))
        return real_write_new(directory, name, data)

    no_space_for(results / "r.json", monkeypatch)
    monkeypatch.setattr(writable, "write_new", read_only_results)
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(spare))
    with pytest.raises(ResultsError) as caught:
        store.dump(results / "r.json", store.merge(previous, new))
    kept = _kept(str(caught.value))
    assert kept.parent == spare and json.loads(kept.read_text())["schedbench"]["runs"]


def test_when_nothing_can_be_kept_the_line_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, new = _previous_and_new()

    def nowhere(directory: Path, name: str, data: str) -> Path:
        raise OSError(errno.ENOSPC, "No space left on device")

    no_space_for(tmp_path / "r.json", monkeypatch)
    monkeypatch.setattr(writable, "write_new", nowhere)
    lost = r"keeping its 1 run and 1 floor elsewhere failed too \(.*\): they are lost$"
    with pytest.raises(ResultsError, match=lost):
        store.dump(tmp_path / "r.json", new)
