"""YAML loading that remembers where every value came from (line and column, 1-based).

Scenario files are shared (bug reports, course material), so loading one must never hang, blow up
memory or end in a traceback. :class:`_GuardedLoader` checks aliases while composing, before anything
is expanded: an alias inside its own anchor, more than :data:`MAX_VALUES` values after expansion
("billion laughs") and nesting deeper than :data:`MAX_DEPTH` are refused at the alias or value that
crosses the line. Only plain YAML values are accepted (no tags other than YAML's own scalar types).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from natsim.errors import ScenarioError
from natsim.fields import closest

Path_ = tuple[str | int, ...]

# The largest shipped scenario has 80 values, 6 levels deep: both limits leave room for any real file.
MAX_VALUES = 100_000
"""Most values (scalars, lists, mappings, keys included) a file may hold once aliases are expanded."""
MAX_DEPTH = 100
"""Deepest nesting of lists and mappings, aliases expanded."""
MAX_INT_CHARS = 100
"""Longest integer literal (Python itself refuses more than 4,300 digits, with a message for programmers)."""

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(_CORE + t for t in ("null", "bool", "int", "float", "str", "timestamp"))
_KEY_TAGS = _SCALAR_TAGS | {_CORE + "merge"}  # ``<<`` resolves to merge; it is read as a plain key


@dataclass
class Located:
    """A parsed YAML document plus the position of each value by its key path."""

    data: Any
    source: str
    marks: dict[Path_, tuple[int, int]]
    key_marks: dict[Path_, tuple[int, int]]
    #: Values set over the file from the command line: their path → the option that set them.
    overrides: dict[Path_, str] = field(default_factory=dict)

    def override(self, path: Path_, value: Any, origin: str) -> None:
        """Set ``value`` at ``path`` (mappings created on the way), a value from the command line
        (``origin``, e.g. ``--set lb.preset=aws-nlb``): an error about it names ``origin``, not the file."""
        if not isinstance(self.data, dict):
            return   # the file's own error comes first
        parent: dict[Any, Any] = self.data
        for depth, part in enumerate(path[:-1], start=1):
            if not isinstance(parent.get(part), dict):
                parent[part] = {}
                self.overrides.setdefault(path[:depth], origin)
            parent = parent[part]
        parent[path[-1]] = value
        self.overrides[path] = origin

    def where(self, path: Path_, *, key: bool = False) -> tuple[int | None, int | None]:
        """Line and column of the value at ``path`` (its key with ``key``), or of its closest parent."""
        if key and path in self.key_marks:
            return self.key_marks[path]
        while path not in self.marks and path:
            path = path[:-1]
        line, col = self.marks.get(path, (None, None))
        return line, col

    def error(self, path: Path_, message: str, *, key: bool = False) -> ScenarioError:
        """A :class:`ScenarioError` pointing at the value at ``path`` (or at its key), or naming the
        command-line option that set it."""
        if path in self.overrides:
            return ScenarioError(message, self.overrides[path])
        line, col = self.where(path, key=key)
        return ScenarioError(message, self.source, line, col)


def check_keys(doc: Located, path: tuple[str | int, ...], mapping: Any, valid: tuple[str, ...] | list[str],
               what: str) -> dict[str, Any]:
    """``mapping`` as a dict whose keys are all in ``valid``; else an error at the first other key."""
    if not isinstance(mapping, dict):
        raise doc.error(path, f"{what} must be a mapping, got {type(mapping).__name__}")
    for key in mapping:
        if key not in valid:
            raise doc.error((*path, key), f"unknown key '{key}' in {what}{closest(key, list(valid))}; "
                            f"valid: {', '.join(valid)}", key=True)
    return mapping


class _Mark(Protocol):
    """A position in the text, 0-based (PyYAML's pure-Python and C marks both fit)."""

    line: int
    column: int


def _error(message: str, source: str, mark: _Mark | None) -> ScenarioError:
    if mark is None:
        return ScenarioError(message, source)
    return ScenarioError(message, source, mark.line + 1, mark.column + 1)


@dataclass
class _Extent:
    """What an anchored node expands to: its number of values and its height (levels of nesting)."""

    values: int
    height: int


class _GuardedLoader(yaml.SafeLoader):
    """A SafeLoader whose composer measures every node's expansion and refuses alias cycles and bombs.

    ``_values`` counts the document's values as if every alias were expanded; an alias adds its
    anchor's whole extent, so the count stays exact while composing takes time linear in the text.
    """

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self.source = source
        self._values = 0
        self._depth = 0
        self._reached = 0  # deepest level reached (aliases expanded) inside the node being composed
        self._open: set[str] = set()  # anchors whose node is still being composed
        self._extents: dict[str, _Extent] = {}

    def _grow(self, values: int, deepest: int, mark: _Mark | None) -> None:
        self._values += values
        self._reached = max(self._reached, deepest)
        if self._values > MAX_VALUES:
            raise _error(f"too many values once aliases are expanded: more than {MAX_VALUES:,} "
                         f"(the limit); a scenario needs far fewer", self.source, mark)
        if deepest > MAX_DEPTH:
            raise _error(f"nested more than {MAX_DEPTH} levels deep (aliases expanded; the limit)",
                         self.source, mark)

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        anchor = event.anchor
        if isinstance(event, yaml.AliasEvent):
            if anchor in self._open:
                raise _error(f"alias *{anchor} refers to a value that contains it (endless recursion)",
                             self.source, event.start_mark)
            if anchor in self._extents:
                extent = self._extents[anchor]
                self._grow(extent.values, self._depth + extent.height, event.start_mark)
            return super().compose_node(parent, index)
        if anchor is not None and anchor in self.anchors:
            first = self.anchors[anchor].start_mark
            raise _error(f"anchor &{anchor} is defined twice (first at line {first.line + 1}, "
                         f"column {first.column + 1})", self.source, event.start_mark)
        start, outer = self._values, self._reached
        self._depth += 1
        self._reached = self._depth
        self._grow(1, self._depth, event.start_mark)
        if anchor is not None:
            self._open.add(anchor)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if anchor is not None:
            self._open.discard(anchor)
            self._extents[anchor] = _Extent(self._values - start, self._reached - self._depth)
        self._reached = max(outer, self._reached)
        return node


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag


def _tag_error(node: yaml.Node, source: str) -> ScenarioError:
    return _error(f"tag {_short_tag(node.tag)} is not allowed: a scenario holds only plain values "
                  f"(text, numbers, true/false, null, lists and mappings)", source, node.start_mark)


def _scalar(node: yaml.ScalarNode, loader: _GuardedLoader) -> Any:
    """The Python value of a scalar; a value PyYAML cannot build is an error at its position."""
    if node.tag not in _SCALAR_TAGS:
        raise _tag_error(node, loader.source)
    if node.tag == _CORE + "int" and len(node.value) > MAX_INT_CHARS:
        raise _error(f"an integer of {len(node.value):,} characters is too long (at most {MAX_INT_CHARS})",
                     loader.source, node.start_mark)
    try:
        return loader.construct_object(node, deep=True)
    except yaml.MarkedYAMLError as err:
        raise _error(f"bad value: {err.problem}", loader.source, node.start_mark) from err
    except (yaml.YAMLError, ValueError, ArithmeticError, TypeError) as err:
        # e.g. int() refusing more than sys.get_int_max_str_digits() digits, or the date 2024-13-45
        raise _error(f"bad value: {err}", loader.source, node.start_mark) from err


def _convert(node: yaml.Node, path: Path_, marks: dict[Path_, tuple[int, int]],
             key_marks: dict[Path_, tuple[int, int]], loader: _GuardedLoader) -> Any:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    source = loader.source
    if isinstance(node, yaml.MappingNode):
        if node.tag != _CORE + "map":
            raise _tag_error(node, source)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if not isinstance(key_node, yaml.ScalarNode):
                raise _error("mapping keys must be plain names", source, key_node.start_mark)
            if key_node.tag not in _KEY_TAGS:
                raise _tag_error(key_node, source)
            if key in result:
                raise _error(f"duplicate key '{key}'", source, key_node.start_mark)
            key_marks[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _convert(value_node, (*path, key), marks, key_marks, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _CORE + "seq":
            raise _tag_error(node, source)
        return [_convert(item, (*path, i), marks, key_marks, loader) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    return _scalar(node, loader)


def _compose(text: str, source: str) -> tuple[yaml.Node | None, _GuardedLoader]:
    try:
        loader = _GuardedLoader(text, source)  # the reader checks every character here
    except yaml.reader.ReaderError as err:  # a control character; position counts characters
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        raise ScenarioError(f"character #x{err.character:04x} is not allowed in YAML", source, line,
                            column) from err
    try:
        return loader.get_single_node(), loader
    except yaml.MarkedYAMLError as err:
        raise _error(f"YAML syntax error: {err.problem}", source, err.problem_mark) from err
    finally:
        loader.dispose()


def load_located(text: str, source: str) -> Located:
    """Parse ``text`` (one YAML document) keeping positions; every error cites file:line:column."""
    node, loader = _compose(text, source)
    if node is None:
        raise ScenarioError("the file is empty", source, 1)
    marks: dict[Path_, tuple[int, int]] = {}
    key_marks: dict[Path_, tuple[int, int]] = {}
    return Located(_convert(node, (), marks, key_marks, loader), source, marks, key_marks)


def decode_utf8(data: bytes, source: str) -> str:
    """``data`` as text; a byte that is not UTF-8 is an error at its line and column (in characters)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line_start = data.rfind(b"\n", 0, err.start) + 1
        column = len(data[line_start:err.start].decode("utf-8", errors="replace")) + 1
        raise ScenarioError(f"not UTF-8: byte 0x{data[err.start]:02x} cannot be decoded ({err.reason}); "
                            f"save the file as UTF-8", source, data.count(b"\n", 0, err.start) + 1,
                            column) from err


def load_file(path: Path) -> Located:
    """Read and parse a YAML file (UTF-8)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ScenarioError(f"cannot read scenario: {err.strerror}", str(path)) from err
    return load_located(decode_utf8(data, str(path)), str(path))
