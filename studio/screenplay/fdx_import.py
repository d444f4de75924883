"""Final Draft screenplays (``.fdx``) into the studio format.

Final Draft's file is XML: ``<FinalDraft><Content>`` holds one ``<Paragraph Type=...>``
per element (Scene Heading, Action, Character, Parenthetical, Dialogue, Transition,
Shot, General), each with its words in ``<Text>`` runs; ``<DualDialogue>`` wraps the
two speeches of dual dialogue; ``<TitlePage>`` holds the title page as free
paragraphs. This module reads that into the same elements the Fountain parser makes
(:mod:`studio.screenplay.fountain`), so the import from there on is the Fountain
import: introductions, cold open, periods, joint cues and all.

The XML is read with the standard library's expat parser and nothing else, hardened
the way ``defusedxml`` hardens it, without the dependency: a document type
declaration is refused outright (Final Draft writes none; it is where entity bombs
and external entities live), as is any entity declaration or external reference;
nothing is ever fetched or read from disk. The file may be at most
:data:`~studio.screenplay.safe_yaml.MAX_BYTES` long and elements nest at most
:data:`MAX_DEPTH` deep. Anything else that is not Final Draft XML (random bytes, a
YAML file, HTML) is one :class:`ScreenplayError` naming the file and the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

from studio.errors import Problem, ScreenplayError
from studio.screenplay.fountain import (
    Action,
    Dialogue,
    Document,
    Element,
    Heading,
    Speech,
    TitleField,
    Transition,
    _cue,
    _Line,
)
from studio.screenplay.fountain_import import MAX_LINES, MAX_SCENES, FountainImport, _Builder, validated
from studio.screenplay.model import Screenplay
from studio.screenplay.safe_yaml import MAX_BYTES

MAX_DEPTH = 32  # a Final Draft file nests 6 deep; this leaves room and stops a nesting bomb
_FIX = "pass a Final Draft screenplay (.fdx), saved by Final Draft or exported by another screenwriting app"


class _Refused(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class _Paragraph:
    type: str
    text: str
    line: int
    number: str | None = None
    dual: int = 0  # 0: not in dual dialogue; 1, 2, ...: which speech of the dual block
    title_page: bool = False


@dataclass
class _Reader:
    """Expat callbacks gathering paragraphs; every unsafe construct raises."""

    parser: expat.XMLParserType
    paragraphs: list[_Paragraph] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)
    current: _Paragraph | None = None
    texts: list[str] = field(default_factory=list)
    in_text: int = 0
    dual_depth: int = -1  # the stack depth of the open <DualDialogue>, or -1
    dual_speakers: int = 0
    root_seen: bool = False

    def _line(self) -> int:
        return int(self.parser.CurrentLineNumber)

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if not self.stack:
            if self.root_seen or name != "FinalDraft":
                raise _Refused(f"the root element is <{name}>, not <FinalDraft>", self._line())
            self.root_seen = True
        self.stack.append(name)
        if len(self.stack) > MAX_DEPTH:
            raise _Refused(f"elements nest more than {MAX_DEPTH} deep", self._line())
        if name == "DualDialogue":
            self.dual_depth, self.dual_speakers = len(self.stack), 0
        elif name == "Paragraph" and attrs.get("Type") is not None:
            kind = attrs.get("Type", "")
            if kind == "Character" and self.dual_depth >= 0:
                self.dual_speakers += 1
            self.current = _Paragraph(kind, "", self._line(), attrs.get("Number") or None,
                                      self.dual_speakers if self.dual_depth >= 0 else 0, "TitlePage" in self.stack)
            self.texts = []
        elif name == "Paragraph" and "TitlePage" in self.stack:
            self.current = _Paragraph("Title", "", self._line(), title_page=True)
            self.texts = []
        elif name == "Text":
            self.in_text += 1

    def end(self, name: str) -> None:
        if name == "Text":
            self.in_text -= 1
        elif name == "DualDialogue":
            self.dual_depth = -1
        elif name == "Paragraph" and self.current is not None:
            self.current.text = " ".join("".join(self.texts).split())
            self.paragraphs.append(self.current)
            self.current = None
        self.stack.pop()

    def data(self, text: str) -> None:
        if self.in_text and self.current is not None:
            self.texts.append(text)

    def refuse_doctype(self, *_: object) -> None:
        raise _Refused("a document type declaration (<!DOCTYPE>): refused, as entity bombs and external "
                       "entities hide there", self._line())

    def refuse_entity(self, *_: object) -> None:
        raise _Refused("an entity declaration: refused (entities can expand without limit)", self._line())

    def refuse_external(self, *_: object) -> int:
        raise _Refused("a reference to an external entity: refused (nothing is read from disk or network)",
                       self._line())


def _fail(file: str, message: str, line: int = 0, hint: str = _FIX) -> ScreenplayError:
    return ScreenplayError([Problem(message=message, file=file, line=line, hint=hint)], file)


def read_paragraphs(raw: bytes, file: str = "<input>") -> list[_Paragraph]:
    """The paragraphs of a Final Draft file, in order, with their lines; hostile or
    broken XML is a :class:`ScreenplayError`."""
    if len(raw) > MAX_BYTES:
        raise _fail(file, f"file is {len(raw)} bytes, over the {MAX_BYTES} byte limit", hint="")
    if not raw.strip():
        raise _fail(file, "the file is empty")
    parser = expat.ParserCreate()
    reader = _Reader(parser)
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.data
    parser.StartDoctypeDeclHandler = reader.refuse_doctype
    parser.EntityDeclHandler = reader.refuse_entity
    parser.UnparsedEntityDeclHandler = reader.refuse_entity
    parser.ExternalEntityRefHandler = reader.refuse_external
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(raw, True)
    except _Refused as exc:
        raise _fail(file, f"not read: {exc}", exc.line) from None
    except expat.ExpatError as exc:
        raise _fail(file, f"this is not Final Draft XML ({expat.ErrorString(exc.code)})", exc.lineno) from None
    except LookupError as exc:  # the XML declaration names an encoding Python does not know ("aTF-8")
        raise _fail(file, f"this is not Final Draft XML (its declaration names an unknown encoding: {exc})",
                    hint="save it again from Final Draft (its files are UTF-8)") from None
    except RecursionError:  # not expected with the depth limit; a last guard
        raise _fail(file, "the XML nests too deep") from None
    if not reader.root_seen:
        raise _fail(file, "no <FinalDraft> element: this is not a Final Draft file")
    return reader.paragraphs


_CREDIT = re.compile(r"^(?:written by|screenplay by|story by|teleplay by|by)$", re.IGNORECASE)
_SOURCE = re.compile(r"^(?:based on|adapted from)\b", re.IGNORECASE)
_DRAFT = re.compile(r"\b(?:draft|revision|revised)\b|\b(?:19|20)\d\d\b", re.IGNORECASE)


def _title_page(paragraphs: list[_Paragraph]) -> list[TitleField]:
    """Final Draft's title page is free text; by convention the first line is the title,
    'Written by' the credit and the next line the author, 'Based on ...' the source, a
    dated line the draft date, and what is left (address, phone) the contact."""
    texts = [(p.text, p.line) for p in paragraphs if p.title_page and p.text]
    if not texts:
        return []
    fields: dict[str, tuple[list[str], int]] = {}

    def add(key: str, value: str, line: int) -> None:
        fields.setdefault(key, ([], line))[0].append(value)

    add("Title", texts[0][0], texts[0][1])
    k = 1
    while k < len(texts):
        text, line = texts[k]
        if _CREDIT.match(text):
            add("Credit", text, line)
            if k + 1 < len(texts):
                add("Author", texts[k + 1][0], texts[k + 1][1])
                k += 1
        elif _SOURCE.match(text):
            add("Source", text, line)
        elif _DRAFT.search(text) and "Draft date" not in fields:
            add("Draft date", text, line)
        else:
            add("Contact", text, line)
        k += 1
    return [TitleField(key, tuple(values), line) for key, (values, line) in fields.items()]


def _elements(paragraphs: list[_Paragraph]) -> list[Element]:
    """The body's paragraphs as Fountain elements: a Character paragraph and the
    Parenthetical and Dialogue paragraphs below it are one dialogue block."""
    out: list[Element] = []
    body = [p for p in paragraphs if not p.title_page]
    i = 0
    while i < len(body):
        p = body[i]
        i += 1
        kind = p.type.lower()
        if not p.text:
            continue
        if kind == "scene heading":
            out.append(Heading(p.text, p.line, 1, p.number, forced=False))
        elif kind == "character":
            parts: list[Speech] = []
            while i < len(body) and body[i].type.lower() in ("parenthetical", "dialogue"):
                q = body[i]
                i += 1
                if not q.text:
                    continue
                if q.type.lower() == "parenthetical":
                    inner = q.text[1:-1].strip() if q.text.startswith("(") and q.text.endswith(")") else q.text
                    if inner:
                        parts.append(Speech("parenthetical", inner, q.line))
                else:
                    parts.append(Speech("line", q.text, q.line))
            cue = _cue(_Line(p.line, p.text)) or _cue(_Line(p.line, "@" + p.text))
            if cue is None or not parts:
                out.append(Action(p.text, p.line))
                continue
            name, extensions, dual, forced = cue
            out.append(Dialogue(name, extensions, tuple(parts), p.line, 1, dual or p.dual >= 2, forced))
        elif kind == "transition":
            out.append(Transition(p.text, p.line, 1, forced=True))
        elif kind in ("parenthetical", "dialogue"):  # without a Character above: keep the words
            out.append(Action(p.text, p.line))
        else:  # Action, General, Shot, Cast List, ...: action
            out.append(Action(p.text, p.line))
    return out


def import_fdx(raw: bytes, file: str = "<input>") -> FountainImport:
    """Convert a Final Draft file's bytes into studio data with a source map into the
    file's lines. Raises :class:`ScreenplayError` for hostile or non-Final Draft input."""
    paragraphs = read_paragraphs(raw, file)
    headings = sum(1 for p in paragraphs if p.type.lower() == "scene heading")
    if headings > MAX_SCENES:
        raise _fail(file, f"{headings} scene headings, over the {MAX_SCENES} scenes one screenplay may hold",
                    hint="split it into several films, one file each")
    filled = sum(1 for p in paragraphs if p.text)
    if filled > MAX_LINES:
        raise _fail(file, f"{filled} paragraphs with text, over the {MAX_LINES} one screenplay may hold (a "
                    "90-minute feature has about 3,000)", hint="split it into several films, one file each")
    doc = Document(title_page=_title_page(paragraphs), elements=_elements(paragraphs))
    if not any(isinstance(el, (Heading, Dialogue)) for el in doc.elements):
        raise _fail(file, "no scene headings and no dialogue: nothing to film",
                    hint="a Final Draft screenplay has Scene Heading, Action, Character and Dialogue paragraphs")
    return _Builder(doc, file).build(Path(file).stem)


def read_fdx(path: str | Path) -> FountainImport:
    """Read a ``.fdx`` file from disk (at most MAX_BYTES) and convert it."""
    path = Path(path)
    try:
        if not path.is_file():
            raise _fail(str(path), f"{path} is not a regular file", hint="give the path of a .fdx screenplay")
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise _fail(str(path), "no such file", hint="give the path of a .fdx screenplay") from None
    except OSError as exc:
        raise _fail(str(path), f"cannot read the file: {exc.strerror}", hint="") from None
    if len(raw) > MAX_BYTES:
        raise _fail(str(path), f"file is over the {MAX_BYTES} byte limit", hint="")
    return import_fdx(raw, str(path))


def parse_fdx(raw: bytes, file: str = "<input>", *, base_dir: Path | None = None,
              allow_outside: bool = False) -> Screenplay:
    """Read and validate a Final Draft screenplay into a :class:`Screenplay`."""
    return validated(import_fdx(raw, file), base_dir=base_dir, allow_outside=allow_outside)
