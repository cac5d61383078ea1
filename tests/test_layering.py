"""Layering: no import cycle among wdecay's modules, and each imports on its own."""

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import wdecay

ROOT = Path(wdecay.__file__).parent
OPTIONAL = ("wdecay.torch",)  # parts that need an optional dependency to import


def _modules():
    return sorted(m.name for m in pkgutil.walk_packages([str(ROOT)], "wdecay."))


def _name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path, module):
    """wdecay modules that ``module`` imports anywhere in its file (function bodies included)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("wdecay"):
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("wdecay"))
    modules = set(_modules()) | {"wdecay"}
    return {m for m in found if m in modules and m != module}


def _graph():
    graph = {}
    for path in ROOT.rglob("*.py"):
        module = _name(path)
        # a package's __init__ re-exports its children: that is not a dependency of them
        graph[module] = {m for m in _imports(path, module)
                         if not (path.name == "__init__.py" and m.startswith(module + "."))}
    return graph


def _cycle(graph):
    state, stack = {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt == "wdecay":
                continue  # the top-level package only re-exports
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    assert "wdecay.training" in graph and "wdecay.loop" in graph["wdecay.training"]
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_every_module_imports_on_its_own():
    script = (
        "import importlib, sys\n"
        f"names = {[m for m in _modules() if not m.startswith(OPTIONAL) and not m.endswith('.__main__')]!r}\n"
        "bad = []\n"
        "for name in names:\n"
        "    for key in [k for k in sys.modules if k == 'wdecay' or k.startswith('wdecay.')]:\n"
        "        del sys.modules[key]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        bad.append(f'{name}: {exc!r}')\n"
        "print('\\n'.join(bad))\n"
        "sys.exit(1 if bad else 0)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
