"""The data path runs one way: schedulers never import the harness, and every registered
scheduler module can be imported with no ``bench`` module loaded."""

from __future__ import annotations

import ast
import subprocess
import sys

from conftest import ROOT


def imported_modules(source: str, filename: str) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_schedulers_source_never_imports_bench() -> None:
    files = sorted((ROOT / "schedulers").glob("*.py"))
    assert len(files) >= 10  # every strategy module, plus the protocol
    for path in files:
        bad = {m for m in imported_modules(path.read_text(), str(path)) if m == "bench" or m.startswith("bench.")}
        assert not bad, f"{path.name} imports {sorted(bad)}: schedulers must not depend on the harness"


def test_importing_every_scheduler_loads_no_bench_module() -> None:
    """Lazy imports too: load each built-in's module in a clean interpreter, then look."""
    script = (
        "import importlib, sys\n"
        "import importlib.metadata as md\n"
        "for ep in md.entry_points(group='schedbench.schedulers'):\n"
        "    if ep.value.startswith('schedulers.'):\n"
        "        try:\n"
        "            ep.load()\n"
        "        except ImportError:\n"
        "            pass  # a loop not installed on this platform\n"
        "print(sorted(m for m in sys.modules if m == 'bench' or m.startswith('bench.')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
