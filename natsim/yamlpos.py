"""YAML loading that remembers where every value came from (line and column, 1-based)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from natsim.errors import ScenarioError

Path_ = tuple[str | int, ...]


@dataclass
class Located:
    """A parsed YAML document plus the position of each value by its key path."""

    data: Any
    source: str
    marks: dict[Path_, tuple[int, int]]
    key_marks: dict[Path_, tuple[int, int]]

    def where(self, path: Path_, *, key: bool = False) -> tuple[int | None, int | None]:
        """Line and column of the value at ``path`` (its key with ``key``), or of its closest parent."""
        if key and path in self.key_marks:
            return self.key_marks[path]
        while path not in self.marks and path:
            path = path[:-1]
        line, col = self.marks.get(path, (None, None))
        return line, col

    def error(self, path: Path_, message: str, *, key: bool = False) -> ScenarioError:
        """A :class:`ScenarioError` pointing at the value at ``path`` (or at its key)."""
        line, col = self.where(path, key=key)
        return ScenarioError(message, self.source, line, col)


def _convert(node: yaml.Node, path: Path_, marks: dict[Path_, tuple[int, int]],
             key_marks: dict[Path_, tuple[int, int]], source: str) -> Any:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if not isinstance(key_node, yaml.ScalarNode):
                raise ScenarioError("mapping keys must be plain names", source,
                                    key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in result:
                raise ScenarioError(f"duplicate key '{key}'", source, key_node.start_mark.line + 1,
                                    key_node.start_mark.column + 1)
            key_marks[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _convert(value_node, (*path, key), marks, key_marks, source)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, i), marks, key_marks, source) for i, item in enumerate(node.value)]
    return yaml.SafeLoader("").construct_object(node, deep=True)


def load_located(text: str, source: str) -> Located:
    """Parse ``text`` (one YAML document) keeping positions; syntax errors cite file:line:column."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        raise ScenarioError(f"YAML syntax error: {err.problem}", source,
                            mark.line + 1 if mark else None, mark.column + 1 if mark else None) from err
    if node is None:
        raise ScenarioError("the file is empty", source, 1)
    marks: dict[Path_, tuple[int, int]] = {}
    key_marks: dict[Path_, tuple[int, int]] = {}
    return Located(_convert(node, (), marks, key_marks, source), source, marks, key_marks)


def load_file(path: Path) -> Located:
    """Read and parse a YAML file."""
    try:
        text = path.read_text()
    except OSError as err:
        raise ScenarioError(f"cannot read scenario: {err.strerror}", str(path)) from err
    return load_located(text, str(path))
