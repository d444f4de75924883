"""Safe YAML loading with source positions.

PyYAML's ``safe_load`` still expands aliases and merge keys, so a 600-byte file can
ask for billions of nodes (measured: 40 s for a merge-key bomb). This loader:

* refuses merge keys (``<<``) at compose time, before anything expands;
* accepts anchors and aliases but caps what they expand to (total nodes and depth),
  computed on the composed node graph in linear time;
* caps file size, nesting depth and the number of values, counted while composing so
  a long flat list stops at the cap at once instead of after the whole file;
* refuses duplicate keys, non-string keys and every tag outside the YAML core schema;
* returns plain Python data plus a map from each value's path to its line and column,
  so later validation can point at the exact place in the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from studio.errors import Problem, ScreenplayError

MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 40
MAX_EXPANDED_NODES = 200_000
MAX_NODES = 100_000  # values written out in the file (a 90-minute feature has ~8,000; seven hours ~40,000)

Path_ = tuple[str | int, ...]

_CORE_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:timestamp",
}


class _Refused(Exception):
    def __init__(self, message: str, mark: Any, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark
        self.hint = hint


if yaml.__with_libyaml__:
    from yaml.cyaml import CParser

    class _Base(Composer, CParser, SafeConstructor, Resolver):  # type: ignore[misc]
        """libyaml scans and parses (fast, in C); composing stays in Python so it can be
        guarded node by node."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
else:  # pragma: no cover - PyYAML without libyaml
    _Base = yaml.SafeLoader  # type: ignore[misc,assignment]


class GuardedLoader(_Base):
    """A safe loader that refuses merge keys, over-deep and over-large documents while
    composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._composed = 0
        # expanded depth and size of each composed node, aliases counted in full;
        # memoised by node identity, so checking costs one pass over the file
        self._expanded: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refused(
                    f"nesting deeper than {MAX_DEPTH} levels",
                    mark,
                    "a screenplay never needs this; flatten the structure",
                )
            self._composed += 1
            if self._composed > MAX_NODES:
                raise _Refused(
                    f"the file holds more than {MAX_NODES} values (lists, keys and texts)",
                    self.peek_event().start_mark,
                    "a screenplay never needs this many; split the film into several screenplays",
                )
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._measure(node)
        return node

    def _measure(self, node: Node) -> None:
        if id(node) in self._expanded:
            return
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                children += [key, value]
        depth, size = 1, 1
        for child in children:
            self._measure(child)  # already measured unless composed out of order
            d, n = self._expanded[id(child)]
            depth, size = max(depth, d + 1), size + n
        self._expanded[id(node)] = (depth, size)
        if depth > MAX_DEPTH:
            raise _Refused(
                f"aliases nest deeper than {MAX_DEPTH} levels",
                node.start_mark,
                "write repeated parts out instead of chaining aliases",
            )
        if size > MAX_EXPANDED_NODES:
            raise _Refused(
                f"anchors and aliases expand to more than {MAX_EXPANDED_NODES} values",
                node.start_mark,
                "write repeated parts out instead of nesting aliases",
            )

    def compose_mapping_node(self, anchor: str | None) -> MappingNode:  # type: ignore[override]
        node = super().compose_mapping_node(anchor)
        for key, _value in node.value:
            if key.tag == "tag:yaml.org,2002:merge" or (
                isinstance(key, ScalarNode) and key.value == "<<" and key.style is None
            ):
                raise _Refused(
                    "merge keys ('<<') are not allowed",
                    key.start_mark,
                    "write the keys out in full",
                )
        return node


@dataclass
class SourceMap:
    """Where each value of a loaded document came from."""

    file: str
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def locate(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of ``path``, else of its nearest known ancestor."""
        table = self.key_positions if key else self.positions
        p = tuple(path)
        while True:
            if p in table:
                return table[p]
            if key and p in self.positions:
                return self.positions[p]
            if not p:
                return (0, 0)
            p = p[:-1]

    def problem(
        self,
        path: Path_,
        message: str,
        hint: str = "",
        *,
        key: bool = False,
        severity: str = "error",
    ) -> Problem:
        line, column = self.locate(path, key=key)
        return Problem(
            message=message,
            file=self.file,
            line=line,
            column=column,
            field=format_path(path),
            hint=hint,
            severity=severity,
        )


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _mark(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)


def load_yaml(text: str | bytes, file: str = "<input>") -> tuple[Any, SourceMap]:
    """Parse one YAML document safely; return (data, source map).

    Raises :class:`ScreenplayError` with a located problem for anything refused.
    """
    source = SourceMap(file=file)

    def fail(message: str, line: int = 0, column: int = 0, hint: str = "") -> ScreenplayError:
        return ScreenplayError(
            [Problem(message=message, file=file, line=line, column=column, hint=hint)], file
        )

    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise fail(f"file is {len(text)} bytes, over the {MAX_BYTES} byte limit")
        if b"\x00" in text:
            raise fail("this is a binary file, not a YAML screenplay", hint="pass a .yaml file")
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = text[: exc.start].count(b"\n") + 1
            raise fail(
                "the file is not valid UTF-8 text", line, hint="save the screenplay as UTF-8"
            ) from None
    if len(text) > MAX_BYTES:
        raise fail(f"file is over the {MAX_BYTES} byte limit")
    if not text.strip():
        raise fail("the file is empty", hint="start from `studio new NAME`")

    loader: GuardedLoader | None = None
    try:
        loader = GuardedLoader(text)
        node = loader.get_single_node()
        if node is None:
            raise fail("the file holds no YAML document", hint="start from `studio new NAME`")
        data = _construct(loader, node, (), source, 0)
    except _Refused as exc:
        raise fail(exc.message, *_mark(exc.mark), hint=exc.hint) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        raise fail(f"invalid YAML: {what}", *_mark(mark), hint="check indentation and quoting") from None
    except yaml.reader.ReaderError as exc:  # control characters and the like
        before = text[: exc.position]
        line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        raise fail(
            f"invalid character U+{exc.character:04X} in the text", line, column,
            hint="save the screenplay as plain UTF-8 text",
        ) from None
    except yaml.YAMLError as exc:
        raise fail(f"invalid YAML: {exc}".splitlines()[0]) from None
    except RecursionError:
        raise fail("the document nests too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, source


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _construct(loader: GuardedLoader, node: Node, path: Path_, source: SourceMap, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise _Refused(
            f"aliases nest deeper than {MAX_DEPTH} levels",
            node.start_mark,
            "write repeated parts out instead of chaining aliases",
        )
    source.positions.setdefault(path, _mark(node.start_mark))
    if node.tag not in _CORE_TAGS:
        raise _Refused(
            f"the tag {node.tag!r} is not allowed",
            node.start_mark,
            "remove the tag; screenplays use plain YAML values",
        )
    if isinstance(node, ScalarNode):
        try:
            value = loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise _Refused(f"cannot read value: {exc.problem}", node.start_mark) from None
        except ValueError:
            raise _Refused(f"cannot read value {node.value!r}", node.start_mark) from None
        if not isinstance(value, (str, int, float, bool, type(None))):
            value = node.value  # timestamps and the like stay as written
        if isinstance(value, str) and not _encodable(value):
            raise _Refused(
                "the text holds a lone surrogate escape (such as \\udfff), which is not a character",
                node.start_mark,
                "write the character itself, or a pair of \\u escapes that make one",
            )
        return value
    if isinstance(node, SequenceNode):
        return [
            _construct(loader, child, path + (i,), source, depth + 1)
            for i, child in enumerate(node.value)
        ]
    if isinstance(node, MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise _Refused("keys must be plain words", key_node.start_mark)
            key = _construct(loader, key_node, path + ("<key>",), source, depth + 1)
            if isinstance(key, bool) or key is None:
                key = key_node.value  # `on:`/`yes:`/`null:` keys are words here
            if not isinstance(key, str):
                key = str(key)
            if key in out:
                first = source.key_positions.get(path + (key,), (0, 0))
                line, column = _mark(key_node.start_mark)
                source.problems.append(
                    Problem(
                        message=f"duplicate key {key!r} (first at line {first[0]})",
                        file=source.file,
                        line=line,
                        column=column,
                        field=format_path(path + (key,)),
                        hint="keep one of them",
                    )
                )
                continue
            source.key_positions[path + (key,)] = _mark(key_node.start_mark)
            out[key] = _construct(loader, value_node, path + (key,), source, depth + 1)
        source.positions.pop(path + ("<key>",), None)
        return out
    raise _Refused("unsupported YAML node", node.start_mark)
