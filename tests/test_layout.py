"""The source tree's shape (README "Layout"): no import cycle under emu/ or cores/,
counting imports inside functions too, and reusable chips in emu/devices/ that
import no machine's code (as MAME's src/devices/ never includes a driver)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("emu", "cores")


def modules(root):
    """Module name -> source file, for every .py file of PACKAGES under ``root``."""
    out = {}
    for top in PACKAGES:
        for f in sorted((root / top).rglob("*.py")):
            parts = f.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = f
    return out


def import_graph(root):
    """Module -> set of in-tree modules it imports, anywhere in its body.  ``from
    P import x`` counts as importing P.x when that is a module, else P.  (The
    implicit import of a parent package's __init__ is not an edge.)"""
    mods = modules(root)
    graph = {}
    for name, f in mods.items():
        pkg = name if f.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = pkg.split(".")[:len(pkg.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base
                           for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in mods:           # `import a.b.c` -> the deepest known module
                    t = t.rpartition(".")[0]
                if t and t != name:
                    deps.add(t)
        graph[name] = deps
    return graph


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle():
    assert cycles(import_graph(ROOT)) == []


def test_the_cycle_finder_sees_a_cycle_inside_a_function(tmp_path):
    (tmp_path / "emu" / "sub").mkdir(parents=True)
    (tmp_path / "cores").mkdir()
    (tmp_path / "emu" / "__init__.py").write_text("")
    (tmp_path / "emu" / "sub" / "__init__.py").write_text("")
    (tmp_path / "emu" / "a.py").write_text("from .sub import b\n")
    (tmp_path / "emu" / "sub" / "b.py").write_text("def f():\n    from .. import a\n")
    assert cycles(import_graph(tmp_path)) == [["emu.a", "emu.sub.b"]]


def test_devices_import_no_machine_code():
    graph = import_graph(ROOT)
    for name, deps in graph.items():
        if name.startswith("emu.devices."):
            assert not [d for d in deps if d.startswith("emu.machines")], name
    # the SMS's chips are leaves: no emu module at all
    for chip in ("emu.devices.sega_vdp", "emu.devices.sn76489"):
        assert graph[chip] == set(), (chip, graph[chip])
