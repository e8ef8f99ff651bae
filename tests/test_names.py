"""No two modules of app define the same public class or type name (issue #14: SnsMessage,
Outcome, EventPage and FormatOption each had two meanings, and an import picked one)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

# Names allowed two definitions, with why (none since the #14 redesign landed).
KNOWN: dict[str, set[str]] = {}


def _defined(tree: ast.Module) -> list[str]:
    """Module-level public classes and CapWords aliases (``X = Literal[...]``, ``X: TypeAlias``)."""
    names = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [n for n in names if n[0].isupper() and not n.isupper()]


def definitions() -> dict[str, set[str]]:
    where: dict[str, set[str]] = defaultdict(set)
    for path in sorted(APP.rglob("*.py")):
        for name in _defined(ast.parse(path.read_text(encoding="utf-8"))):
            where[name].add(path.relative_to(APP).as_posix())
    return where


def test_each_public_name_has_one_definition() -> None:
    twice = {name: files for name, files in definitions().items() if len(files) > 1}
    assert twice == {name: files for name, files in KNOWN.items() if name in twice}
    assert set(twice) <= set(KNOWN), twice


def test_the_second_meanings_were_renamed() -> None:
    # The other meaning of each keeps its name (wherever the redesign puts it); the first
    # test keeps it to one definition.
    where = definitions()
    assert where["ReceivedSnsMessage"] == {"models/__init__.py"}  # an sns.envelope.SnsMessage row
    assert where["EventPageOut"] == {"api/schemas.py"}  # the answer of an event_log.EventPage
    assert where["FormatOption"] == {"commands/output.py"}
    assert "activity/send_log.py" not in where["Outcome"]  # it is vocabulary.SendOutcome
