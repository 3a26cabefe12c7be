"""Every SQL statement lives in core/store: no other module imports a database driver, calls execute, or spells SQL.

The store layer is then the one thing a PostgreSQL store (several workers, docs/scaling.md) has to replace.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "adapters", "bot")
STORE = ROOT / "core" / "store"
DRIVERS = frozenset({"sqlite3", "sqlite_utils", "apsw", "psycopg", "psycopg2", "asyncpg", "sqlalchemy"})
STATEMENT_CALLS = frozenset({"execute", "executemany", "executescript", "query"})
SQL = re.compile(
    r"\b(SELECT\b[\s\S]+\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
    r"CREATE\s+(TABLE|INDEX|VIEW)|DROP\s+(TABLE|INDEX)|ALTER\s+TABLE|PRAGMA\s+\w+|BEGIN\s+(IMMEDIATE|TRANSACTION))\b"
)


def outside_store() -> list[Path]:
    return [
        path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
        if STORE not in path.parents
    ]


def violations(path: Path) -> list[str]:
    """Driver imports, statement calls and SQL in string literals of one module, as 'file:line: what'."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    name = path.relative_to(ROOT) if ROOT in path.parents else path.name
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        else:
            modules = []
        found += [f"{name}:{node.lineno}: imports {module}" for module in modules if module.split(".")[0] in DRIVERS]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in STATEMENT_CALLS:
            found.append(f"{name}:{node.lineno}: calls .{node.func.attr}(")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.search(node.value):
            found.append(f"{name}:{node.lineno}: SQL in a string: {node.value[:60]!r}")
    return found


def test_no_sql_outside_core_store():
    modules = outside_store()
    assert len(modules) > 50  # the walk really covers the packages
    assert [v for path in modules for v in violations(path)] == []


def test_the_check_sees_each_kind_of_violation(tmp_path):
    sample = tmp_path / "probe.py"
    sample.write_text(
        "import sqlite3\nfrom sqlite_utils import Database\n"
        "def f(db):\n    db.execute('SELECT id FROM chats WHERE x = ?', [1])\n"
        "    return db.query(\"UPDATE chats SET active = 0\")\n",
        encoding="utf-8",
    )
    found = sorted(violations(sample), key=lambda line: int(line.split(":")[1]))
    assert [line.split(": ", 1)[1].split(" ")[0] for line in found] == ["imports", "imports", "calls", "SQL", "calls", "SQL"]
