"""requirements.txt lists exactly the distributions the package code imports; optional ones are extras that
CI installs (requirements-test.txt) with a pin (constraints.txt)."""
import ast
import importlib.metadata as md
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CODE = [REPO / 'hrvision', REPO / 'heads', REPO / 'tasks']   # what installs (setup.py maps heads/, tasks/ into hrvision)


def _norm(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def _names(path: Path) -> set[str]:
    lines = [ln.split('#')[0].strip() for ln in path.read_text().splitlines()]
    return {_norm(re.split(r'[<>=!~\[; ]', ln)[0]) for ln in lines if ln and not ln.startswith('-')}


def _extras() -> dict[str, list[str]]:
    tree = ast.parse((REPO / 'setup.py').read_text())
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, 'id', '') == 'setup')
    kw = next(k for k in call.keywords if k.arg == 'extras_require')
    return {k: [_norm(re.split(r'[<>=!~\[; ]', r)[0]) for r in v] for k, v in ast.literal_eval(kw.value).items()}


def imported_distributions() -> dict[str, set[str]]:
    """distribution -> files that import it (absolute imports outside the standard library)."""
    owners = md.packages_distributions()
    found: dict[str, set[str]] = {}
    for root in CODE:
        for py in root.rglob('*.py'):
            if root.name == 'hrvision' and py.relative_to(root).parts[0] in ('heads', 'tasks', 'configs'):
                continue
            for node in ast.walk(ast.parse(py.read_text(), str(py))):
                if isinstance(node, ast.Import):
                    mods = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    mods = [node.module]
                else:
                    continue
                for mod in mods:
                    top = mod.split('.')[0]
                    if top in sys.stdlib_module_names or top in ('hrvision', '__future__'):
                        continue
                    assert top in owners, f'{py}: imports {top!r}, which no installed distribution provides'
                    for dist in owners[top]:
                        found.setdefault(_norm(dist), set()).add(str(py.relative_to(REPO)))
    return found


def test_requirements_are_what_the_code_imports():
    used = imported_distributions()
    required = _names(REPO / 'requirements.txt')
    optional = {d for deps in _extras().values() for d in deps}
    assert not required - set(used), f'listed in requirements.txt but never imported: {required - set(used)}'
    missing = {d: sorted(f)[:3] for d, f in used.items() if d not in required | optional}
    assert not missing, f'imported but neither in requirements.txt nor an extra: {missing}'


def test_every_extra_is_installed_in_ci_and_pinned():
    ci = _names(REPO / 'requirements-test.txt')
    pinned = _names(REPO / 'constraints.txt')
    for extra, deps in _extras().items():
        for d in deps:
            assert d in ci, f'extra [{extra}]: {d} not in requirements-test.txt (CI would skip its tests)'
            assert d in pinned, f'extra [{extra}]: {d} has no pin in constraints.txt'
