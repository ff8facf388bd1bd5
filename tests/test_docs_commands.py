"""The commands in README.md and docs/*.md work as written.

What counts as a command, and what is done with it:

* every line of a fenced block tagged ``sh``, ``console`` or ``bash`` (``\\`` continues a
  line; a trailing ``# …`` is its comment). One that is not marked is **run** as written,
  in document order, in a directory whose ``results/`` holds what ``make bench``,
  ``make baseline`` and ``make bench-instructions`` leave there (copies of the reference
  files), with this interpreter standing for ``python`` / ``.venv/bin/python``. It must
  exit 0.
* a command the docs mark is **parsed** instead: its comment starts with
  ``long-running`` or ``needs`` (root, a plugin, a file an unrun command writes), or it
  holds a placeholder (a word in capitals such as FILE or NAME, or ``<ref>``). Its
  arguments must be accepted by the real parser (``bench.cli.commands.build_parser``,
  ``reports.cli.parser``), which checks them without running anything.
* ``make TARGET``: never run (a target runs for minutes); the target must be defined in
  the Makefile.
* inline code spans that start with ``python -m bench``, ``python -m reports`` or
  ``make``, and bench commands in untagged blocks (design.md's records of how a figure was
  made): often fragments ("`python -m bench show`"), so they are only checked to name a
  real subcommand and real flags (and targets).

The trade-off: running every unmarked command costs about a minute on 2 cores, so the
docs keep their runnable examples small (``--fast``, ``-n 2000``) and mark the rest; a
marked command is checked as far as it can be without its minutes of work.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ROOT

from bench.cli.commands import build_parser
from bench.measure.execute import execute_once
from bench.measure.registry import SchedulerEntry, check_contract
from bench.workload.rockets import Workload
from reports.cli import parser as reports_parser

DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
SHELL_TAGS = frozenset({"sh", "console", "bash"})
MARKS = ("long-running", "needs")
#: A placeholder: a word in capitals (FILE, NAME, A1) or anything in angle brackets.
PLACEHOLDER = re.compile(r"(?<![\w-])[A-Z][A-Z0-9_]+(?![\w-])|<[^>]+>")
PYTHONS = ("python", "python3", ".venv/bin/python")
#: What the docs assume is in results/ (after make bench, make baseline, make bench-instructions).
REFERENCE = ROOT / "results" / "reference"
SEEDED = {
    "latest.json": REFERENCE / "2026-12-03T1212-default.json",
    "instructions.json": REFERENCE / "2026-12-03T1225-instructions.json",
    "baseline-instructions.json": REFERENCE / "2026-12-03T1225-instructions.json",
}
COMMAND_TIMEOUT_S = 120


@dataclass(frozen=True)
class Command:
    where: str  # "README.md:176"
    text: str  # without its comment
    comment: str
    shell_block: bool  # False: inline, or a record in an untagged block

    @property
    def words(self) -> list[str]:
        return shlex.split(self.text)

    @property
    def program(self) -> str:
        """"bench", "reports", "make" or the first word (pip, a script)."""
        w = self.words
        if w[0] in PYTHONS and w[1:2] == ["-m"] and len(w) > 2:
            return w[2]
        return w[0]

    @property
    def args(self) -> list[str]:
        return self.words[3:] if self.words[0] in PYTHONS else self.words[1:]

    @property
    def marked(self) -> bool:
        return self.comment.startswith(MARKS) or PLACEHOLDER.search(self.text) is not None

    def __str__(self) -> str:
        return f"{self.where}: {self.text}"


# ---- finding the commands ------------------------------------------------------------

def fenced_lines(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line number, block tag, line) for every line inside a fenced block."""
    tag: str | None = None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("```"):
            tag = line[3:].strip() if tag is None else None
            continue
        if tag is not None:
            yield number, tag, line


def split_comment(line: str) -> tuple[str, str]:
    text, _, comment = line.partition(" #")
    return text.strip(), comment.strip()


def is_ours(text: str) -> bool:
    """A command of this project: python -m bench / reports, or make."""
    return re.match(r"(\.venv/bin/)?python3? -m (bench|reports)\b|make [a-z]", text) is not None


def block_commands(path: Path) -> list[Command]:
    """Every command in the shell blocks; ours (bench, reports) in untagged blocks too."""
    out: list[Command] = []
    pending = ""
    for number, tag, line in fenced_lines(path):
        if tag not in SHELL_TAGS and tag != "":
            continue
        if line.rstrip().endswith("\\"):  # a continued line: joined with the next
            pending += line.rstrip()[:-1] + " "
            continue
        text, comment = split_comment(pending + line)
        pending = ""
        if not text or text.startswith("#"):
            continue
        shell = tag in SHELL_TAGS
        if shell or is_ours(text):
            out.append(Command(f"{path.name}:{number}", text, comment, shell))
    return out


def inline_commands(path: Path) -> list[Command]:
    """Code spans outside fenced blocks that start as one of our commands."""
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
    spans = re.findall(r"`([^`]+)`", text.replace("\n", " "))
    return [Command(f"{path.name} (inline)", " ".join(s.split()), "", False) for s in spans if is_ours(s.strip())]


ALL = [c for path in DOCS for c in block_commands(path) + inline_commands(path)]
OURS = [c for c in ALL if c.program in ("bench", "reports", "make")]
SHELL = [c for c in ALL if c.shell_block]
RUNNABLE = [c for c in SHELL if not c.marked and c.program != "make"]
PARSED = [c for c in SHELL if c.marked and c.program in ("bench", "reports")]


# ---- the parsers, read without running anything -------------------------------------

def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps its sub-commands here and nowhere public
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def option_strings(parser: argparse.ArgumentParser) -> set[str]:
    return {s for action in parser._actions for s in action.option_strings}


def make_targets() -> set[str]:
    """The Makefile's targets, from make's database.

    Not ``make -n TARGET``: make runs a recipe line holding ``$(MAKE)`` even under ``-n``,
    and ``bench``'s recipe is such a line, so a dry run would run the suite. ``-q -p help``
    prints the database and runs nothing (``help`` only echoes, and ``-q`` runs no recipe).
    """
    proc = subprocess.run(["make", "-C", str(ROOT), "-pRrq", "help"], capture_output=True, text=True,
                          timeout=60, check=False)
    return set(re.findall(r"^([A-Za-z][\w.-]*):(?!=)", proc.stdout, flags=re.M))


@pytest.fixture(scope="module")
def targets() -> set[str]:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    return make_targets()


def parse(command: Command) -> None:
    """The real parser accepts ``command``'s arguments; a refusal fails with its one line."""
    parser = build_parser() if command.program == "bench" else reports_parser()
    try:
        parser.parse_args(command.args)
    except SystemExit as exc:
        pytest.fail(f"{command}: arguments refused (exit {exc.code})")


# ---- the tests -------------------------------------------------------------------------

def test_the_docs_hold_commands_of_every_kind() -> None:
    """A guard on the extraction itself: a change of fence or marker style would otherwise
    leave these tests checking nothing."""
    assert len(RUNNABLE) >= 8 and len(PARSED) >= 10
    assert any(c.program == "make" for c in SHELL) and any(c.program == "reports" for c in RUNNABLE)
    assert any(not c.shell_block and c.program == "make" for c in OURS)


@pytest.mark.parametrize("command", OURS, ids=str)
def test_each_command_names_a_real_subcommand_flags_and_targets(command: Command, targets: set[str]) -> None:
    if command.program == "make":
        named = [w for w in command.args if "=" not in w and not w.startswith("-")]
        assert named and set(named) <= targets, f"{command}: no such target in the Makefile"
        return
    parser = build_parser() if command.program == "bench" else reports_parser()
    args = command.args
    if command.program == "bench":
        commands = subparsers(parser)
        if not args:
            return
        assert args[0] in commands, f"{command}: {args[0]!r} is not a subcommand ({', '.join(commands)})"
        parser, args = commands[args[0]], args[1:]
    known = option_strings(parser)
    flags = [w.split("=", 1)[0] for w in args if w.startswith("-") and not re.fullmatch(r"-\d.*", w)]
    unknown = [f for f in flags if f not in known]
    assert not unknown, f"{command}: no such option {unknown} (abbreviations do not count)"


@pytest.mark.parametrize("command", PARSED, ids=str)
def test_marked_commands_parse(command: Command) -> None:
    parse(command)


@pytest.mark.parametrize("command", [c for c in SHELL if c.marked and c.program not in ("bench", "reports", "make")],
                         ids=str)
def test_other_programs_are_marked(command: Command) -> None:
    """pip and the like cannot be parsed here: they must say why they are not run."""
    assert command.comment.startswith(MARKS) or PLACEHOLDER.search(command.text)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory whose results/ looks as it does after make bench, baseline, bench-instructions."""
    where = tmp_path_factory.mktemp("docs-world")
    (where / "results").mkdir()
    for name, source in SEEDED.items():
        shutil.copyfile(source, where / "results" / name)
    return where


def run(command: Command, cwd: Path) -> subprocess.CompletedProcess[str]:
    words = command.words
    argv = [sys.executable, *words[1:]] if words[0] in PYTHONS else words
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S,
                          check=False)


@pytest.mark.parametrize("command", RUNNABLE, ids=str)
def test_unmarked_commands_run_as_written(command: Command, world: Path) -> None:
    assert command.program in ("bench", "reports"), f"{command}: not marked, and no way to run it here"
    proc = run(command, world)
    assert proc.returncode == 0, f"{command}: exit {proc.returncode}: {proc.stderr.strip()[-2000:]}"


@pytest.mark.parametrize("args, differs", [
    (["run", "--fast", "-s", "heapq,asyncio"], "rockets 10000 in the file, 3000 in this run"),
    (["run", "--clock", "virtual", "--mode", "timed"], "clock real in the file, virtual in this run"),
])
def test_a_run_of_another_workload_is_refused_in_one_line_naming_o_file(args: list[str], differs: str,
                                                                        world: Path) -> None:
    """The two commands the README used to give: after make bench they must not merge
    (nothing measured is silently replaced), and the refusal says how to go on."""
    before = (world / "results" / "latest.json").read_bytes()
    proc = subprocess.run([sys.executable, "-m", "bench", *args], cwd=world, capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT_S, check=False)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert differs in proc.stderr and "-o FILE" in proc.stderr and "--replace" in proc.stderr
    assert (world / "results" / "latest.json").read_bytes() == before


def test_the_generator_dialect_example_passes_the_harness_checks() -> None:
    """docs/plugins.md's complete generator-dialect scheduler, run through the checks every
    measured run gets: switch mode, and timed mode on both clocks."""
    text = (ROOT / "docs" / "plugins.md").read_text()
    code = next(b for b in re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M) if "class TickTock" in b)
    namespace: dict[str, object] = {}
    exec(compile(code, "docs/plugins.md (TickTock)", "exec"), namespace)  # our own docs, as a plugin author copies them
    cls = namespace["TickTock"]
    assert check_contract(cls) is None
    entry = SchedulerEntry("ticktock", "plugin docs", "docs:TickTock", cls=cls)
    assert entry.family == "third-party" and entry.supports_virtual_clock
    for mode, scale, clock in (("switch", 1.0, "real"), ("timed", 0.001, "real"), ("timed", 1.0, "virtual")):
        outcome = execute_once(entry, Workload.generate(300, 1969, mode, scale), clock)  # type: ignore[arg-type]
        assert outcome.verdict.valid, f"{mode} on the {clock} clock: {outcome.verdict.explain()}"
