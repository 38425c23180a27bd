"""The shipped examples are valid definitions."""

from pathlib import Path

import pytest

from graphs.registry import Registry
from graphs.spec import parse_definition
from graphs.validate import validate_definition

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_is_valid(path: Path) -> None:
    raw = parse_definition(path.read_bytes(), "yaml")
    result = validate_definition(raw, Registry.from_settings())
    assert result.issues == []
    assert result.spec is not None and result.spec.id == path.stem
