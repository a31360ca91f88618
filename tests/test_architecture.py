"""The package map holds: which room may import which at module level, no cycles, small modules,
and the descriptor and pool packages never load Caffe when imported."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "myPython"
MAX_LINES = 500

# room -> rooms its modules may import at module level (lazy imports inside functions are the way to
# reach further, e.g. an engine opening Caffe when it is used).
ALLOWED = {
    "errors": set(),
    "common": {"errors"},
    "retrieval": {"common", "errors", "pool.images"},
    "pool": {"common", "errors", "retrieval"},
    "datasets": {"common", "errors", "pool", "retrieval"},
    "nets": {"common", "errors", "retrieval", "pool.images"},
    "training": {"common", "errors", "retrieval", "pool", "nets", "datasets", "evaluation"},
    "apps": {"common", "errors", "retrieval", "pool", "nets", "training", "datasets", "evaluation"},
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _top_level_imports(path: Path) -> set[str]:
    """Modules imported at module level (not inside functions or classes)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in tree.body:
        nodes = [node]
        if isinstance(node, ast.If | ast.Try):  # guarded imports still run at import time
            nodes = list(ast.walk(node))
        for item in nodes:
            if isinstance(item, ast.Import):
                found.update(alias.name for alias in item.names)
            elif isinstance(item, ast.ImportFrom) and item.module and item.level == 0:
                found.add(item.module)
                found.update(f"{item.module}.{alias.name}" for alias in item.names)
    return {name for name in found if name.split(".")[0] in ("myPython", "evaluation")}


def _room(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "evaluation":
        return "evaluation"
    if len(parts) == 1:
        return "top"
    if parts[1] == "pool" and len(parts) > 2 and parts[2] == "images":
        return "pool.images"
    return parts[1]


def test_rooms_import_only_what_the_package_map_allows():
    modules = _modules()
    bad = []
    for name, path in modules.items():
        room = _room(name)
        if room not in ALLOWED and room != "pool.images":
            continue
        allowed = ALLOWED.get("pool" if room == "pool.images" else room, set()) | {room}
        if room == "pool.images":
            allowed = {"common", "errors", "pool.images"}
        for target in _top_level_imports(path):
            target_room = _room(target if target in modules or target.startswith("evaluation") else
                                target.rsplit(".", 1)[0])
            if target_room not in ("top",) and target_room not in allowed \
                    and not (target_room == "pool.images" and "pool" in allowed):
                bad.append(f"{name} imports {target} ({room} -> {target_room})")
    assert not bad, "\n".join(bad)


def test_no_import_cycles_at_module_level():
    modules = _modules()
    graph = {name: {t if t in modules else t.rsplit(".", 1)[0] for t in _top_level_imports(path)} & set(modules)
             for name, path in modules.items()}
    for name in graph:  # a package's __init__ is not a dependency of its own modules
        graph[name].discard(name)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_no_module_is_over_the_size_limit():
    long = {str(p.relative_to(REPO)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_retrieval_and_pool_do_not_import_caffe():
    names = [n for n in _modules() if n.startswith(("myPython.retrieval", "myPython.pool"))]
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n"
            "    importlib.import_module(name)\n"
            "loaded = sorted(m for m in sys.modules if m == 'caffe' or m.startswith('caffe.'))\n"
            "print(','.join(loaded))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"importing retrieval/pool loaded {proc.stdout.strip()}"


def test_every_package_says_what_lives_there():
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 40, f"{init.relative_to(REPO)} needs a docstring: what lives here, what it imports"


def test_public_api_resolves_lazily():
    code = ("import sys, myPython\n"
            "assert 'myPython.pool.store' not in sys.modules\n"
            "for name in myPython.__all__:\n"
            "    getattr(myPython, name)\n"
            "assert 'caffe' not in sys.modules\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
