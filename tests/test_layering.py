"""itembank and scoring stay free of the web and queue shell (flask, celery, redis, socket.io)."""
import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHELL = {"flask", "flask_socketio", "flask_babel", "flask_wtf", "flask_limiter", "celery", "redis", "gevent",
         "socketio", "engineio", "examserver"}


def imported_modules(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def test_pure_packages_import_no_shell_module():
    offenders = []
    for pkg in ("itembank", "scoring"):
        for p in (ROOT / pkg).rglob("*.py"):
            bad = imported_modules(p) & SHELL
            if bad:
                offenders.append(f"{p.relative_to(ROOT)} imports {sorted(bad)}")
    assert offenders == []


def test_itembank_never_imports_scoring():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "itembank").rglob("*.py") if "scoring" in imported_modules(p)]
    assert offenders == []


def test_importing_pure_packages_loads_no_shell_at_runtime():
    code = ("import sys, importlib, pkgutil, itembank, scoring\n"
            "for pkg in (itembank, scoring):\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            "        if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
            f"print(sorted(n for n in {sorted(SHELL)!r} if n in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
