"""Fountain syntax: plain text in, a list of screenplay elements out.

Fountain (https://fountain.io/syntax, version 1.1) is the plain-text screenplay
format of Highland, Slugline, Fade In, Final Draft exports and many editors. This
module only reads the syntax; :mod:`studio.screenplay.fountain_import` turns the
elements into the studio format.

What it understands, and the choices it makes where the spec leaves room:

* **Title page**: ``Key: value`` lines at the top (values may continue on lines
  indented by 3+ spaces or a tab), up to the first blank line. It is only a title
  page when one key is a known one (Title, Credit, Author, Draft date, Contact, ...),
  so a script that opens on ``FADE IN:`` is not mistaken for one.
* **Scene headings**: a paragraph's first line beginning with INT, EXT, EST,
  INT./EXT, INT/EXT or I/E (any case) followed by a dot or a space, or forced with
  one leading ``.`` (``..`` is an ellipsis, not a heading); an optional scene number
  ``#12A#`` at the end. The spec wants a blank line after a heading; a heading
  written in capitals with the action straight below it is read as heading + action.
* **Characters**: a line in capitals (at least one letter) after a blank line and
  with text right below it, or any line forced with ``@``; extensions in
  parentheses (``(V.O.)``, ``(O.S.)``, ``(CONT'D)``, lower case allowed); ``^``
  marks the second speaker of dual dialogue. A capitals line ending in ``:`` is
  never a character (``FADE IN:`` is action).
* **Dialogue** runs to the next blank line; a line of two or more spaces keeps it
  going (the spec's blank line inside dialogue). **Parentheticals** are lines in
  ``( )`` inside it, possibly over several lines; **lyrics** are lines starting
  with ``~``.
* **Transitions**: a capitals line ending in ``TO:`` after a blank line, or any line
  forced with ``>`` (but ``>centered<`` is centered action). A transition with text
  straight below it still counts, and the text below starts a new element.
* **Action**: everything else; ``!`` forces it. Centered text ``> THE END <`` is
  action.
* **Sections** (``#``, ``##``, ...) and **synopses** (``= ...``) are kept as structure.
* **Notes** ``[[...]]`` and the **boneyard** ``/* ... */`` are removed from the text
  (both may span lines; a note stops at a blank line); the notes are kept apart, with
  their lines, so the import can keep them as comments; **page breaks** ``===`` are ignored;
  **emphasis** (``*italic*``, ``**bold**``, ``***both***``, ``_underline_``) is
  stripped and backslash escapes (``\\*``) give the character itself.
* Tabs count as four spaces; leading spaces and tabs are ignored everywhere but in
  action; CRLF, CR and LF line endings and a UTF-8 byte order mark are all fine.

Every element carries the 1-based line (and column) it starts on, so problems found
later can point at the Fountain file.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field

# --------------------------------------------------------------------------- elements


@dataclass(frozen=True)
class TitleField:
    key: str
    lines: tuple[str, ...]  # a value may run over several indented lines
    line: int

    @property
    def value(self) -> str:
        return ", ".join(self.lines)


@dataclass(frozen=True)
class Heading:
    text: str  # as written, without the forcing '.', the scene number or markup
    line: int
    column: int = 1
    number: str | None = None
    forced: bool = False


@dataclass(frozen=True)
class Action:
    text: str
    line: int
    column: int = 1
    centered: bool = False


@dataclass(frozen=True)
class Lyrics:
    lines: tuple[str, ...]
    line: int
    column: int = 1


@dataclass(frozen=True)
class Speech:
    """One piece of a dialogue block: a spoken (or sung) line, or a parenthetical."""

    kind: str  # "line", "lyric" or "parenthetical"
    text: str
    line: int
    column: int = 1


@dataclass(frozen=True)
class Dialogue:
    name: str  # without '@', extensions and '^'
    extensions: tuple[str, ...]
    parts: tuple[Speech, ...]
    line: int
    column: int = 1
    dual: bool = False  # the second speaker of dual dialogue ('^')
    forced: bool = False


@dataclass(frozen=True)
class Transition:
    text: str
    line: int
    column: int = 1
    forced: bool = False


@dataclass(frozen=True)
class Section:
    text: str
    level: int
    line: int
    column: int = 1


@dataclass(frozen=True)
class Synopsis:
    text: str
    line: int
    column: int = 1


Element = Heading | Action | Lyrics | Dialogue | Transition | Section | Synopsis


@dataclass
class Document:
    title_page: list[TitleField] = field(default_factory=list)
    elements: list[Element] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)  # (line, text) of each [[note]], for comments

    def title(self) -> str:
        """The Title field, its lines joined ('BRICK & STEEL: FULL RETIRED'), or ''."""
        return next((": ".join(f.lines) for f in self.title_page if f.key.lower() == "title" and f.lines), "")


# --------------------------------------------------------------------------- text clean-up

_ESCAPABLE = "\\*_[]/#!@~.>=<^"
_PLACEHOLDER = {c: chr(0xE000 + i) for i, c in enumerate(_ESCAPABLE)}
_RESTORE = {v: k for k, v in _PLACEHOLDER.items()}
_ESCAPE = re.compile(r"\\([" + re.escape(_ESCAPABLE) + r"])")
# Emphasis opens and closes next to text, never inside a word (so 'snake_case' stays).
_STARS = re.compile(r"(?<![^\W_])(?<!\*)(\*{1,3})(?=[^\s*])(.+?)(?<=[^\s*])\1(?!\*)(?![^\W_])")
_UNDERLINE = re.compile(r"(?<![^\W_])(?<!_)_(?=[^\s_])(.+?)(?<=[^\s_])_(?!_)(?![^\W_])")
# Emphasis left open at a line end (the spec keeps it literal; a film has no use for it).
_DANGLING = re.compile(r"(?:(?<=\s)|^)[*_]+(?=[^\s*_])|(?<=[^\s*_])[*_]+(?=\s|$)")
# Where emphasis may open and close: the two ends of _STARS and _UNDERLINE, alone.
_STARS_OPEN = re.compile(r"(?<![^\W_])(?<!\*)(\*{1,3})(?=[^\s*])")
_STARS_CLOSE = re.compile(r"(?<=[^\s*])(\*{1,3})(?!\*)(?![^\W_])")
_UNDERLINE_OPEN = re.compile(r"(?<![^\W_])(?<!_)(_)(?=[^\s_])")
_UNDERLINE_CLOSE = re.compile(r"(?<=[^\s_])(_)(?!_)(?![^\W_])")
_RESTORE_TABLE = str.maketrans(_RESTORE)


def _unwrap(text: str, emphasis: re.Pattern[str], opener: re.Pattern[str], closer: re.Pattern[str],
            inner: int) -> str:
    """``emphasis.sub(inner group, text)``, in time that grows with the text.

    The regex alone tries every opener against the rest of its line, so a line of
    openers that never close (``/*a`` 20,000 times: 16 s) costs the square of its
    length. Here an opener is tried only when a closer of its length follows it on
    its line (the regex then matches, and its match is consumed); the others are
    passed over at once."""
    lines = text.split("\n")
    for n, line in enumerate(lines):
        last: dict[int, int] = {}  # a mark's length -> where its last closer on the line starts
        for m in closer.finditer(line):
            last[len(m.group(1))] = m.start()
        if not last:
            continue
        pieces: list[str] = []
        pos = 0
        for o in opener.finditer(line):
            at, size = o.start(), len(o.group(1))
            if at < pos or last.get(size, -1) <= at + size:
                continue
            m = emphasis.match(line, at)
            if m is not None:
                pieces += [line[pos:at], m.group(inner)]
                pos = m.end()
        lines[n] = "".join(pieces) + line[pos:]
    return "\n".join(lines)


def strip_markup(text: str) -> str:
    """``text`` without emphasis markup, with backslash escapes resolved.

    Emphasis never spans lines (the spec), so callers pass one line at a time; a
    marker left open at the start or end of a word is dropped too."""
    if "\\" in text:
        text = _ESCAPE.sub(lambda m: _PLACEHOLDER[m.group(1)], text)
    if "*" in text or "_" in text:
        for _ in range(4):  # ***both***, _**nested**_, **bold *and italic***
            new = _unwrap(_unwrap(text, _STARS, _STARS_OPEN, _STARS_CLOSE, 2),
                          _UNDERLINE, _UNDERLINE_OPEN, _UNDERLINE_CLOSE, 1)
            if new == text:
                break
            text = new
        text = _DANGLING.sub("", text)
    return text.translate(_RESTORE_TABLE)


_NOTE_BREAKS = ("\n\n", "\n \n", "\x00")  # what ends a note unclosed: a blank line (or a NUL)


class _NextFinder:
    """The next occurrence of any of some strings at or after a position, for positions
    that only grow: each string's last answer is kept until the position passes it, so a
    whole left-to-right scan costs one pass over the text per string."""

    def __init__(self, text: str, needles: tuple[str, ...]) -> None:
        self.text = text
        self.found = {n: -2 for n in needles}  # -2: not looked up yet; -1: none left

    def __call__(self, pos: int) -> int:
        best = -1
        for needle, at in self.found.items():
            if at == -2 or (0 <= at < pos):
                at = self.found[needle] = self.text.find(needle, pos)
            if at >= 0 and (best < 0 or at < best):
                best = at
        return best


def removed_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) of each boneyard ``/* ... */`` (any length) and note ``[[ ... ]]``
    (closed before a blank line), left to right, as the spec reads them.

    One pass with a forward-only search per marker: time grows with the text, never
    with the number of openers (``[[`` repeated 40,000 times is read as fast as prose)."""
    spans: list[tuple[int, int]] = []
    bone_open, bone_close = _NextFinder(text, ("/*",)), _NextFinder(text, ("*/",))
    note_open, note_close = _NextFinder(text, ("[[",)), _NextFinder(text, ("]]",))
    note_break = _NextFinder(text, _NOTE_BREAKS)
    bones_left = True  # once a '/*' finds no '*/', no later one can
    notes_left = True
    pos = 0
    note_from = 0  # no note opens before this (it would cross a blank line)
    while bones_left or notes_left:
        b = bone_open(pos) if bones_left else -1
        n = note_open(max(pos, note_from)) if notes_left else -1
        if b < 0 and n < 0:
            break
        if b >= 0 and (n < 0 or b < n):
            end = bone_close(b + 2)
            if end < 0:
                bones_left = False
                continue
            spans.append((b, end + 2))
            pos = end + 2
            continue
        end = note_close(n + 2)
        if end < 0:
            notes_left = False
            continue
        stop = note_break(n + 2)
        if 0 <= stop < end:  # a blank line first: no note opens before it (it would cross it)
            note_from = max(n + 1, stop - 1)
            continue
        spans.append((n, end + 2))
        pos = end + 2
    return spans


_PAGE_BREAK = re.compile(r"^\s*={3,}\s*$")
_TIGHT = set(".,;:!?)") | {"", "\n"}


@dataclass(frozen=True)
class _Line:
    number: int  # 1-based line in the file
    text: str  # tabs expanded, notes and boneyard removed, no line ending

    @property
    def stripped(self) -> str:
        return self.text.strip()

    @property
    def column(self) -> int:
        return len(self.text) - len(self.text.lstrip()) + 1

    @property
    def blank(self) -> bool:
        """A real blank line. Two or more spaces are the spec's 'blank line that
        keeps the element going' (inside dialogue), so they are not blank."""
        return self.text in ("", " ")


def _lines(text: str, notes: list[tuple[int, str]] | None = None) -> list[_Line]:
    """The file's lines with notes and boneyard removed and original numbers kept.

    A line the removal leaves empty disappears entirely (so a note on its own line
    inside dialogue does not end the dialogue); page breaks become blank lines."""
    text = text.removeprefix("\ufeff")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    spans = removed_spans(text) if ("/*" in text or "[[" in text) else []
    out: list[_Line] = []
    offset = 0
    k = 0  # next span that may touch this line
    for number, raw in enumerate(text.split("\n"), start=1):
        start, end = offset, offset + len(raw)
        offset = end + 1
        touched = False
        if spans and k < len(spans) and spans[k][0] <= end:
            kept: list[str] = []
            pos = start
            while k < len(spans) and spans[k][0] <= end:
                s, e = spans[k]
                if notes is not None and s >= start and text.startswith("[[", s):
                    words = " ".join(text[s + 2:e - 2].split())
                    if words:
                        notes.append((number, words))
                if s > pos:
                    kept.append(text[pos:s])
                if kept and text[e:e + 1] in _TIGHT:
                    kept[-1] = kept[-1].rstrip()  # 'here [[note]].' reads 'here.'
                touched = True
                pos = max(pos, e)
                if e > end:
                    break  # the span continues on the next line
                k += 1
            if pos < end:
                kept.append(text[pos:end])
            raw = "".join(kept)
        if touched and not raw.strip():
            continue
        raw = raw.expandtabs(4).replace("\f", "")
        if _PAGE_BREAK.match(raw):
            raw = ""
        out.append(_Line(number, raw.rstrip() if raw.strip() else raw))
    return out


# --------------------------------------------------------------------------- title page

TITLE_KEYS = {
    "title", "credit", "author", "authors", "source", "draft date", "date", "contact", "copyright",
    "notes", "revision", "episode", "series", "format", "font", "watermark", "tl", "tc", "tr", "cc",
    "bl", "br", "based on", "written by",
}
_TITLE_KEY = re.compile(r"^([^\s:][^:]{0,40}?)\s*:\s*(.*)$")


def _title_page(lines: list[_Line]) -> tuple[list[TitleField], int]:
    """The title page fields and the index of the first body line."""
    i = 0
    while i < len(lines) and lines[i].blank:
        i += 1
    first = _TITLE_KEY.match(lines[i].text) if i < len(lines) else None
    if not first or first.group(1).strip().lower() not in TITLE_KEYS:
        return [], 0
    fields: list[TitleField] = []
    key: str | None = None
    values: list[str] = []
    key_line = 0

    def flush() -> None:
        if key is not None:
            kept = tuple(" ".join(strip_markup(v).split()) for v in values if v.strip())
            fields.append(TitleField(key, tuple(k for k in kept if k), key_line))

    while i < len(lines) and not lines[i].blank:
        line = lines[i]
        indented = line.text.startswith("   ") or line.text.startswith("\t")
        m = None if indented else _TITLE_KEY.match(line.text)
        if m:
            flush()
            key, values, key_line = m.group(1).strip(), [m.group(2)], line.number
        elif indented and key is not None:
            values.append(line.text)
        else:
            break  # not title page syntax: the body starts here
        i += 1
    flush()
    return fields, i


# --------------------------------------------------------------------------- body

_HEADING = re.compile(r"^(?:INT\.?/EXT|INT\./EXT|EXT\.?/INT|INT|EXT|EST|I/E|E/I)(?:\.|\s)", re.IGNORECASE)
_FORCED_HEADING = re.compile(r"^\.(?=[^\s.])")
_SCENE_NUMBER = re.compile(r"\s*#([\w.\-]+)#\s*$")
_CENTERED = re.compile(r"^>\s*(.*?)\s*<$")
_SECTION = re.compile(r"^(#+)\s*(.*)$")
_SYNOPSIS = re.compile(r"^=(?!==)\s*(.*)$")
_FADE_IN = re.compile(r"^fade in[:.]?$", re.IGNORECASE)
# endings writers leave unforced although they do not end in 'TO:'
_END_TRANSITIONS = {"FADE OUT.", "FADE OUT", "FADE TO BLACK.", "FADE TO BLACK", "CUT TO BLACK.", "CUT TO BLACK",
                    "SMASH TO BLACK.", "SMASH TO BLACK"}


def _is_heading(line: _Line) -> bool:
    s = line.stripped
    return bool(_FORCED_HEADING.match(s) or _HEADING.match(s))


def _heading(line: _Line) -> Heading:
    s = line.stripped
    forced = bool(_FORCED_HEADING.match(s))
    if forced:
        s = s[1:].lstrip()
    number = None
    m = _SCENE_NUMBER.search(s)
    if m:
        number, s = m.group(1), s[: m.start()]
    return Heading(strip_markup(s).strip(), line.number, line.column, number, forced)


def _is_transition(line: _Line) -> bool:
    s = line.stripped
    if _CENTERED.match(s):
        return False
    if s.startswith(">"):
        return len(s) > 1
    return s.endswith("TO:") and s == s.upper() and any(c.isalpha() for c in s)


def _transition(line: _Line) -> Transition:
    s = line.stripped
    forced = s.startswith(">")
    text = strip_markup(s[1:].strip() if forced else s)
    return Transition(text, line.number, line.column, forced)


def _cue(line: _Line) -> tuple[str, tuple[str, ...], bool, bool] | None:
    """(name, extensions, dual, forced) when the line can be a character cue."""
    s = line.stripped
    forced = s.startswith("@")
    if forced:
        s = s[1:].strip()
    dual = s.endswith("^")
    if dual:
        s = s[:-1].rstrip()
    extensions: list[str] = []
    while s.endswith(")"):
        open_at = s.rfind("(")
        if open_at <= 0:
            break
        extensions.insert(0, s[open_at + 1 : -1].strip())
        s = s[:open_at].rstrip()
    name = strip_markup(s).strip()
    if not name:
        return None
    if not forced:
        if "(" in name or ")" in name or name.endswith(":") or not (name[0].isalnum() or name[0] in "'\"‘“"):
            return None
        if any(c.islower() for c in name) or not any(c.isupper() for c in name):
            return None
    return name, tuple(strip_markup(e) for e in extensions if e), dual, forced


def _speech(lines: list[_Line]) -> list[Speech]:
    """The parts of a dialogue block below its cue."""
    parts: list[Speech] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        s = line.stripped
        i += 1
        if not s:
            continue  # two spaces: a blank line inside the speech
        if s.startswith("(") and s.endswith(")"):
            inner = strip_markup(s[1:-1]).strip()
            if inner:
                parts.append(Speech("parenthetical", inner, line.number, line.column))
            continue
        if s.startswith("(") and ")" not in s:
            # a parenthetical over several lines, when a later line closes it
            j = i
            while j < len(lines) and lines[j].stripped and not {"(", ")"} & set(lines[j].stripped):
                j += 1
            closing = lines[j].stripped if j < len(lines) else ""
            if closing.endswith(")") and closing.count(")") == 1 and "(" not in closing:
                inner = " ".join(l.stripped for l in [line, *lines[i:j + 1]])[1:-1]
                inner = strip_markup(" ".join(inner.split()))
                if inner:
                    parts.append(Speech("parenthetical", inner, line.number, line.column))
                i = j + 1
                continue
        if s.startswith("~"):
            lyric = strip_markup(s[1:].strip())
            if lyric:
                parts.append(Speech("lyric", lyric, line.number, line.column))
            continue
        parts.append(Speech("line", strip_markup(s), line.number, line.column))
    return parts


def _action(lines: list[_Line]) -> Action | None:
    """Action from a paragraph: '!' forcing and centering marks removed, lines joined."""
    texts: list[str] = []
    centered = True
    for line in lines:
        s = line.stripped
        if s.startswith("!"):
            s = s.lstrip("!").strip()
        m = _CENTERED.match(s)
        if m:
            s = m.group(1)
        else:
            centered = False
        s = strip_markup(s).strip()
        if s:
            texts.append(s)
    if not texts:
        return None
    head = lines[0]
    return Action(" ".join(" ".join(texts).split()), head.number, head.column, centered)


def _paragraph(lines: list[_Line], out: list[Element]) -> None:
    """Classify one paragraph (consecutive non-blank lines), splitting off leading
    one-line elements (sections, synopses, headings, transitions) as it goes."""
    while lines:
        head = lines[0]
        s = head.stripped
        if not s:  # lines of spaces only
            lines = lines[1:]
            continue
        if s.startswith("!"):
            break  # forced action: the whole paragraph
        m = _SECTION.match(s)
        if m:
            text = strip_markup(m.group(2)).strip()
            if text:
                out.append(Section(text, len(m.group(1)), head.number, head.column))
            lines = lines[1:]
            continue
        m = _SYNOPSIS.match(s)
        if m:
            text = strip_markup(m.group(1)).strip()
            if text:
                out.append(Synopsis(text, head.number, head.column))
            lines = lines[1:]
            continue
        if _is_heading(head):
            written_as_heading = s.startswith(".") or s == s.upper()
            if len(lines) == 1 or written_as_heading:
                out.append(_heading(head))
                lines = lines[1:]
                continue
            break  # 'Int. something' running into more text: action
        if all(_CENTERED.match(l.stripped) for l in lines):
            break
        if _is_transition(head) or (len(lines) == 1 and s in _END_TRANSITIONS):
            out.append(_transition(head))
            lines = lines[1:]
            continue
        if len(lines) >= 2:
            cue = _cue(head)
            if cue is not None:
                parts = _speech(lines[1:])
                if parts:
                    name, extensions, dual, forced = cue
                    out.append(Dialogue(name, extensions, tuple(parts), head.number, head.column, dual, forced))
                    return
        if s.startswith("~"):
            texts = [strip_markup(l.stripped.lstrip("~").strip()) for l in lines]
            texts = [t for t in texts if t]
            if texts:
                out.append(Lyrics(tuple(texts), head.number, head.column))
            return
        break
    if lines:
        action = _action(lines)
        if action is not None and not _FADE_IN.match(action.text):
            out.append(action)


def _in_dialogue(paragraph: list[_Line]) -> bool:
    """Whether a paragraph so far is a character cue and its speech (where a line of
    spaces is a blank line inside the speech; anywhere else it ends the paragraph)."""
    return len(paragraph) >= 2 and not _is_heading(paragraph[0]) and _cue(paragraph[0]) is not None


def parse_fountain_text(text: str) -> Document:
    """Parse Fountain text (already decoded) into a :class:`Document`. Never raises
    for any text: anything that is not another element is action."""
    notes: list[tuple[int, str]] = []
    lines = _lines(text, notes)
    title_page, start = _title_page(lines)
    doc = Document(title_page=title_page, notes=notes)
    paragraph: list[_Line] = []
    for line in lines[start:]:
        if line.blank or (not line.stripped and not _in_dialogue(paragraph)):
            if paragraph:
                _paragraph(paragraph, doc.elements)
                paragraph = []
        else:
            paragraph.append(line)
    if paragraph:
        _paragraph(paragraph, doc.elements)
    return doc


# --------------------------------------------------------------------------- page count

LINES_PER_PAGE = 55
_ACTION_WIDTH = 60  # characters a line at 12-point Courier (10 a inch): action runs 6 inches
_DIALOGUE_WIDTH = 35  # 3.5 inches
_PARENTHETICAL_WIDTH = 25  # 2.5 inches


def _wrapped(text: str, width: int) -> int:
    return max(1, len(textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False)))


def _blocks(doc: Document) -> list[tuple[int, int, str]]:
    """(blank lines before, printed lines, kind) of each element as a formatted
    script prints it."""
    blocks: list[tuple[int, int, str]] = []
    for el in doc.elements:
        if isinstance(el, Heading):
            blocks.append((2, 1, "heading"))
        elif isinstance(el, Action):
            blocks.append((1, _wrapped(el.text, _ACTION_WIDTH), "action"))
        elif isinstance(el, Lyrics):
            blocks.append((1, sum(_wrapped(t, _DIALOGUE_WIDTH) for t in el.lines), "action"))
        elif isinstance(el, Transition):
            blocks.append((1, 1, "transition"))
        elif isinstance(el, Dialogue):
            lines = 1 + sum(_wrapped(p.text, _PARENTHETICAL_WIDTH if p.kind == "parenthetical" else _DIALOGUE_WIDTH)
                            for p in el.parts)
            blocks.append((1, lines, "dialogue"))
    return blocks


def page_count(doc: Document) -> float:
    """The screenplay's length in pages as a formatted script would print (12-point
    Courier, 55 lines a page: action 60 characters wide, dialogue 35, parentheticals
    25; two blank lines above a scene heading, one between other elements), whatever
    the line lengths in the file. Pagination follows the usual rules:
    a heading is never the last thing on a page, action splits between lines, and
    dialogue splits with (MORE) at the foot and the cue again (CONT'D) on the next
    page. A page is about a minute of film; the last page counts by its lines."""
    pages, used = 0, 0
    blocks = _blocks(doc)
    for k, (before, lines, kind) in enumerate(blocks):
        gap = before if used else 0
        need = gap + lines
        if kind == "heading" and k + 1 < len(blocks):
            need += blocks[k + 1][0] + min(2, blocks[k + 1][1])  # keep with what follows
        if used + need <= LINES_PER_PAGE:
            used += gap + lines
            continue
        room = LINES_PER_PAGE - used - gap
        if kind == "action" and room >= 2 and lines > room:
            pages, used = pages + 1, lines - room
        elif kind == "dialogue" and room >= 3 and lines > room:
            pages, used = pages + 1, 1 + lines - (room - 1)  # (MORE) here, CUE (CONT'D) there
        else:
            pages, used = pages + 1, lines
    return pages + used / LINES_PER_PAGE
