"""Reading the console's HTML in tests: a small tree of the page, its tables, alerts,
links and CSRF token (html.parser: the standard library, no browser)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = frozenset({"br", "hr", "img", "input", "link", "meta", "source", "wbr", "col"})


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return " ".join(" ".join(parts).split())

    def all(self, tag: str, **attrs: str) -> list[Node]:
        found: list[Node] = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag and all(child.attrs.get(k) == v for k, v in attrs.items()):
                    found.append(child)
                found.extend(child.all(tag, **attrs))
        return found

    def one(self, tag: str, **attrs: str) -> Node:
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag} {attrs}>"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no CSRF token on the page"
    return found[1]


def table(html: str, caption: str) -> list[list[str]]:
    """The body rows of the table with this caption, each cell's text."""
    for node in parse(html).all("table"):
        if node.one("caption").text() == caption:
            return [
                [cell.text() for cell in row.children if isinstance(cell, Node)]
                for row in node.one("tbody").all("tr")
            ]
    raise AssertionError(f"no table captioned {caption!r}")


def alerts(html: str) -> list[str]:
    return [node.text() for tag in ("p", "div") for node in parse(html).all(tag, role="alert")]


def notices(html: str) -> list[str]:
    return [node.text() for node in parse(html).all("p", role="status")]


def heading(html: str) -> str:
    return parse(html).one("h1").text()


def facts(html: str) -> dict[str, str]:
    """The <dl class="facts"> as {term: definition}."""
    dl = parse(html).one("dl", **{"class": "facts"})
    terms = [n.text() for n in dl.all("dt")]
    return dict(zip(terms, [n.text() for n in dl.all("dd")], strict=True))


def link(html: str, text: str) -> str | None:
    """The href of the link with exactly this text, None when there is none."""
    found = [a.attrs["href"] for a in parse(html).all("a") if a.text() == text]
    assert len(found) <= 1, f"{len(found)} links {text!r}"
    return found[0] if found else None


def forms(html: str, action: str) -> list[Node]:
    return parse(html).all("form", action=action)


def field_value(page: str | Node, name: str) -> str:
    """The value a form field shows (in a page's HTML, or in one form of it): an input's
    value, a textarea's text, the selected option."""
    root = parse(page) if isinstance(page, str) else page
    for tag in ("input", "textarea", "select"):
        for node in root.all(tag, name=name):
            if tag == "input":
                return node.attrs.get("value", "")
            if tag == "textarea":
                return "".join(c for c in node.children if isinstance(c, str))
            options = node.all("option")
            chosen = [o for o in options if "selected" in o.attrs] or options[:1]
            return chosen[0].attrs["value"]  # none selected: the first, as a browser shows
    raise AssertionError(f"no field {name!r}")
