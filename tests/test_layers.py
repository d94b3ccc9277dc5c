"""The layering holds: monitor/'s imports (every one, those inside functions and under
TYPE_CHECKING included) form no cycle, and none goes from a lower layer to a higher one.

LAYERS is the one statement of the order, top to bottom; README's "Layout" section shows
the same table (tested). A module belongs to the layer of the longest path that holds
it, so `monitor/scoring/queue.py` sits with storage while the rest of scoring sits
above watchlists and ingest, which write to the queue. Imports within a layer are free,
as long as they make no cycle.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

LAYERS: tuple[tuple[str, ...], ...] = (
    ("monitor/cli/", "monitor/api/", "monitor/daemon.py", "monitor/demo.py"),
    ("monitor/jobs.py",),
    ("monitor/reports/",),
    ("monitor/cases/",),
    ("monitor/alerts/", "monitor/bridges/integrity.py"),
    ("monitor/ranker/training/",),
    ("monitor/scoring/spark/",),
    ("monitor/scoring/",),
    ("monitor/ranker/",),
    ("monitor/watchlist/", "monitor/labels/", "monitor/ingest/", "monitor/sim/"),
    ("monitor/tokens.py", "monitor/bridges/", "monitor/chain/", "monitor/contracts/",
     "monitor/devnode.py"),
    ("monitor/scoring/queue.py", "monitor/apikeys.py", "monitor/audit.py", "monitor/db.py",
     "monitor/settings.py", "monitor/logs.py", "monitor/metrics.py", "monitor/amounts.py",
     "monitor/addresses.py", "monitor/timefmt.py", "monitor/redact.py", "monitor/errors.py",
     "monitor/memory.py", "monitor/__init__.py"),
    ("models/",),
)


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _path_of(module: str) -> str:
    """The repository path a layer entry would name for `module`."""
    base = REPO / module.replace(".", "/")
    return (str((base / "__init__.py").relative_to(REPO)) if base.is_dir()
            else str(base.with_suffix(".py").relative_to(REPO)))


MODULES = {_module(p): p for p in sorted((REPO / "monitor").rglob("*.py"))}
MODELS = {_module(p) for p in (REPO / "models").rglob("*.py")}


def _layer(module: str) -> int:
    """The index in LAYERS of the longest entry holding the module's file."""
    path = _path_of(module)
    held = [(len(entry), rank) for rank, entries in enumerate(LAYERS) for entry in entries
            if path == entry or (entry.endswith("/") and path.startswith(entry))]
    assert held, f"{path} is in no layer: add it to LAYERS and README's Layout"
    return max(held)[1]


def _target(name: str) -> str | None:
    """The module an imported name resolves to (None: outside monitor and models)."""
    while name and name not in MODULES and name not in MODELS:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    found = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from package import module` imports the module; `from module import name`
            # the module.
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                     for alias in node.names]
        found.update(t for t in map(_target, names) if t is not None and t != module)
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def test_readme_layout_shows_the_layers_in_this_order() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    layers = readme.split("\n### Layers\n", 1)[1].split("\n### ", 1)[0]
    rows = [tuple(re.findall(r"`([^`]+)`", line.split("|")[1]))
            for line in layers.splitlines() if line.startswith("| `")]
    assert rows == list(LAYERS)


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        _layer(module)


def test_no_import_goes_up_a_layer() -> None:
    upward = [f"{_path_of(module)} (layer {_layer(module)}) imports {_path_of(target)} "
              f"(layer {_layer(target)})"
              for module, targets in GRAPH.items() for target in sorted(targets)
              if target in MODULES and _layer(target) < _layer(module)]
    assert upward == []


def test_no_import_cycle() -> None:
    """Tarjan's strongly connected components: any with more than one module is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in GRAPH.get(module, ()):
            if target not in MODULES:
                continue
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in MODULES:
        if module not in index:
            visit(module)
    assert cycles == []


def test_the_walk_sees_deferred_and_type_checking_imports() -> None:
    """What the tests above rest on: imports inside functions and under TYPE_CHECKING
    count, and `from package import module` names the module."""
    assert "monitor.reports.patterns" in GRAPH["monitor.reports.html"]  # inside a function
    assert "monitor.scoring.suppressions" in GRAPH["monitor.cli.suppress"]
    assert "monitor.scoring.queue" in GRAPH["monitor.ingest.poller"]  # from … import queue
