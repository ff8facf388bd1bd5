"""The data path runs one way: every module imports only its own stage and the stages below
(schedulers ← workload ← results ← measure ← gate, present ← cli ← scripts; reports read
the results model and the presentation layer only), there is no import cycle, and every
registered scheduler module can be imported with no ``bench`` module loaded."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

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


# The stage order, from the bottom. A module may import its own stage and the stages below.
# ``bench.gate`` and ``bench.present`` share a rank and do not import each other; ``reports``
# reads only the results model and the presentation layer.
STAGES: dict[str, int] = {
    "schedulers": 0,
    "bench.workload": 1,
    "bench.results": 2,
    "bench.measure": 3,
    "bench.gate": 4,
    "bench.present": 4,
    "bench.cli": 5,
    "bench": 5,  # bench/__main__.py and bench/__init__.py: the CLI's entry
    "scripts": 6,
}
REPORTS_MAY_IMPORT = ("bench.results", "bench.present", "reports")


def project_module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def stage_of(module: str) -> str | None:
    """The stage a project module belongs to (the longest matching prefix), or None for a
    module outside the project (the standard library, numpy, a loop)."""
    best = None
    for stage in [*STAGES, "reports"]:
        if (module == stage or module.startswith(stage + ".")) and (best is None or len(stage) > len(best)):
            best = stage
    return best


def project_sources() -> list[Path]:
    files = [p for pkg in ("schedulers", "bench", "reports", "scripts") for p in (ROOT / pkg).rglob("*.py")]
    return sorted(p for p in files if "__pycache__" not in p.parts)


def _import_nodes(tree: ast.AST, runtime_only: bool) -> list[ast.Import | ast.ImportFrom]:
    """The import statements of a module; with ``runtime_only``, without those under
    ``if TYPE_CHECKING:`` (they never run, so they cannot make an import cycle)."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if runtime_only and isinstance(node, ast.If) and isinstance(node.test, ast.Name) \
                and node.test.id == "TYPE_CHECKING":
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        pending.extend(ast.iter_child_nodes(node))
    return found


def import_graph(runtime_only: bool = False) -> dict[str, set[str]]:
    """Each project module → the project modules it imports (relative imports resolved)."""
    graph: dict[str, set[str]] = {}
    for path in project_sources():
        name = project_module(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _import_nodes(ast.parse(path.read_text(), str(path)), runtime_only):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                targets.add(base)
                # ``from bench.measure import isolate`` imports the module bench.measure.isolate.
                targets.update(f"{base}.{alias.name}" for alias in node.names)
        graph[name] = {t for t in targets if stage_of(t) is not None}
    return graph


def back_arrows(graph: dict[str, set[str]]) -> list[str]:
    """Every import that points up the stage order (or sideways between gate and present)."""
    found = []
    for module, targets in graph.items():
        stage = stage_of(module)
        assert stage is not None
        for target in targets:
            to = stage_of(target)
            assert to is not None
            if stage == "reports":
                allowed = to in REPORTS_MAY_IMPORT
            elif to == "reports":
                allowed = False
            elif stage in ("bench.gate", "bench.present") and to in ("bench.gate", "bench.present"):
                allowed = to == stage
            else:
                allowed = STAGES[to] <= STAGES[stage]
            if not allowed:
                found.append(f"{module} ({stage}) imports {target} ({to})")
    return sorted(found)


def test_every_module_imports_only_its_stage_and_below() -> None:
    graph = import_graph()
    assert {stage_of(m) for m in graph} >= {"schedulers", "bench.workload", "bench.results", "bench.measure",
                                             "bench.gate", "bench.present", "bench.cli", "scripts", "reports"}
    arrows = back_arrows(graph)
    assert not arrows, "imports against the stage order:\n" + "\n".join(arrows)


def test_the_checks_catch_what_they_guard_against() -> None:
    """The checkers themselves, on made-up graphs: each kind of back arrow is named."""
    bad = {
        "bench.measure.suite": {"bench.cli.args"},  # up the order
        "bench.present.units": {"bench.gate.stats"},  # sideways
        "reports.build": {"bench.measure.suite"},  # reports reading measurement
        "schedulers.heapq_timers": {"bench.workload.rockets"},  # a strategy importing the harness
        "bench.results.model": {"bench.workload.status"},  # allowed: downwards
    }
    assert len(back_arrows(bad)) == 4
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle among project modules as a path, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue  # a name imported from a package, not a module of its own
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_no_import_cycle() -> None:
    graph = {module: {t for t in targets if t != module}
             for module, targets in import_graph(runtime_only=True).items()}
    # A package's __init__ importing its own submodules is not a cycle between modules.
    for module in graph:
        graph[module] = {t for t in graph[module] if not module.startswith(t + ".")}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_scripts_still_run() -> None:
    for script in ("gate_check.py", "instructions_check.py"):
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / script), "--help"],
                              capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert proc.returncode == 0, f"{script}: {proc.stderr}"
        assert "usage" in proc.stdout.lower(), proc.stdout
