"""Bindings (`$input.a`, `$node.field[0]`) and `{{ $ref }}` templates: find, check and resolve."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

_SEGMENT = r"(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])"
REF_RE = re.compile(rf"\$([A-Za-z][A-Za-z0-9_-]*)({_SEGMENT}*)")
WHOLE_REF_RE = re.compile(rf"^\s*{REF_RE.pattern}\s*$")
_PART_RE = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
ROOTS = ("input", "context")


@dataclass(frozen=True)
class Ref:
    """One binding: a root (`input`, `context` or a node id) and a path below it."""

    root: str
    path: tuple[str | int, ...]
    text: str

    @property
    def first_key(self) -> str | None:
        return self.path[0] if self.path and isinstance(self.path[0], str) else None


def parse_ref(match: re.Match[str]) -> Ref:
    parts: list[str | int] = []
    for key, index in _PART_RE.findall(match.group(2)):
        parts.append(int(index) if index else key)
    return Ref(match.group(1), tuple(parts), match.group(0).strip())


class TemplateError(ValueError):
    """A `{{ }}` block that does not hold exactly one binding."""


def iter_refs(value: Any, path: str) -> Iterator[tuple[str, Ref]]:
    """Every binding inside a JSON-like value, with the path where it stands."""
    if isinstance(value, str):
        yield from _string_refs(value, path)
    elif isinstance(value, dict):
        for key, sub in value.items():
            yield from iter_refs(sub, f"{path}.{key}")
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            yield from iter_refs(sub, f"{path}[{i}]")


def template_blocks(text: str) -> Iterator[tuple[int, int, str]]:
    """Each `{{ ... }}` block as (start, end, inner text), left to right.

    Found with `str.find`, in linear time: a regex with a lazy `.*?` takes quadratic time on
    text full of unclosed `{{`, and a 1 MB string of them would hold the server for minutes.
    """
    pos = 0
    while (start := text.find("{{", pos)) != -1:
        end = text.find("}}", start + 2)
        if end == -1:
            return
        yield start, end + 2, text[start + 2 : end]
        pos = end + 2


def _string_refs(text: str, path: str) -> Iterator[tuple[str, Ref]]:
    whole = WHOLE_REF_RE.match(text)
    if whole:
        yield path, parse_ref(whole)
        return
    for _, _, block in template_blocks(text):
        inner = WHOLE_REF_RE.match(block)
        if inner is None:
            raise TemplateError(
                f"{{{{ {block.strip()} }}}} must hold one binding such as $node.field"
            )
        yield path, parse_ref(inner)


def lookup(ref: Ref, scope: Callable[[str], Any]) -> Any:
    """The value a binding points at; a missing key or index gives None."""
    value = scope(ref.root)
    for part in ref.path:
        if isinstance(part, int):
            value = (
                value[part]
                if isinstance(value, list) and -len(value) <= part < len(value)
                else None
            )
        else:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


def resolve(value: Any, scope: Callable[[str], Any]) -> Any:
    """Resolve bindings in a JSON-like value: whole bindings keep their type, templates render."""
    if isinstance(value, str):
        whole = WHOLE_REF_RE.match(value)
        if whole:
            return lookup(parse_ref(whole), scope)
        if "{{" not in value:
            return value
        return _render(value, scope)
    if isinstance(value, dict):
        return {key: resolve(sub, scope) for key, sub in value.items()}
    if isinstance(value, list):
        return [resolve(sub, scope) for sub in value]
    return value


def _render(text: str, scope: Callable[[str], Any]) -> str:
    parts: list[str] = []
    pos = 0
    for start, end, block in template_blocks(text):
        inner = WHOLE_REF_RE.match(block)
        rendered = text[start:end] if inner is None else as_text(lookup(parse_ref(inner), scope))
        parts += [text[pos:start], rendered]
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def as_text(value: Any) -> str:
    """How a value renders inside a template: strings as they are, the rest as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
