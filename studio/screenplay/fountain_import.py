"""Fountain screenplays into the studio format.

:func:`import_fountain` reads a Fountain file (see :mod:`studio.screenplay.fountain`
for the syntax) and builds the same plain data a YAML screenplay loads into, with a
:class:`SourceMap` from every data path to its Fountain line, so validation problems
point at the ``.fountain`` file. :func:`parse_fountain` validates it into a
:class:`Screenplay`; :func:`to_yaml` writes it as a readable YAML screenplay
(``studio import``).

How Fountain maps onto the format:

* the title page's Title is ``film.title`` (else the file name); the other fields
  (Credit, Author, Draft date, ...) are ``film.title_page``, and comments at the top of
  the written YAML;
* each scene heading starts a scene: INT/EXT set the location's ``interior``
  (a place seen both inside and out, or only in EST., I/E or forced headings, leaves
  it to the headings), the words before the last `` - `` name the location
  ("INT. HOUSE - KITCHEN - NIGHT" is location ``house-kitchen`` at ``night``; a
  parenthesis such as "CAR (MOVING)" does not make a new place), and the time of day
  maps DAWN/SUNRISE, MORNING, DAY/NOON, AFTERNOON, DUSK/SUNSET/TWILIGHT, EVENING,
  NIGHT/MIDNIGHT onto the format's times; CONTINUOUS, LATER, MOMENTS LATER, SAME and
  no time at all keep the previous scene's time (the first scene: day). A period
  ((1973), 1977, DAY 2, FLASHBACK) is the scene's ``period``; CONTINUOUS and MOMENTS
  LATER make it ``continues``. A scene
  number (``#12#``) becomes the scene id (``s12``) when it is unique; in a numbered
  script an unnumbered scene after s12 is s12a, as inserted scenes are; otherwise
  scenes count s1, s2, ...;
* characters are gathered from the cues and de-duplicated by name, whatever their
  extensions ("EDWARD" and "EDWARD (V.O.)" are one character); names in capitals
  are written in title case ("DR. SMITH" is "Dr. Smith"), forced names (``@McCLANE``)
  as written. A character's ``description`` is their introduction: the first time the
  cue's name stands in capitals in the action, the rest of that sentence; one never
  introduced has none (nothing is made up). A joint cue (EDWARD AND WILL, each of whom
  speaks alone somewhere) is the same line from each, overlapping;
* a dialogue block becomes dialogue beats: a parenthetical before the first line
  applies to it, and a parenthetical between lines starts a new beat; the extension
  kept is the off-screen one (V.O., O.S., O.C.) first, else CONT'D, else the first
  one that fits (20 characters). Dual dialogue keeps both speeches, in order, the second
  one ``overlaps`` the first. A cue
  with only a parenthetical ("EDWARD / (nods)") is the action "Edward nods."; a
  parenthetical after the last line has nothing to direct and is dropped. Lines over
  the format's 5,000 characters are split between words into several beats;
* lyrics (``~``) sung after a cue are dialogue with the parenthetical "singing";
  lyrics on their own are an action beat framed by ♪;
* transitions are transition beats; action, centered text included, is action;
  ``FADE IN:`` on its own is dropped (every film starts somewhere);
* a level-one section (``# ACT ONE``) is the next scene's ``act``; a synopsis right below
  a heading is the scene's ``synopsis``; other sections and synopses, and ``[[notes]]``,
  become comments above a scene in the written YAML;
* a scene's ``characters`` are its on-screen speakers and the characters its
  action names (their cue in capitals, or their name as written);
* anything before the first scene heading is a cold open: a scene of its own, id
  ``opening``, at an unspecified location; a screenplay with dialogue but no scene
  heading at all is one scene at an unspecified location, with a warning.

What is refused, with one :class:`ScreenplayError` naming the file and a fix: binary
files, text that is not UTF-8, an empty file, a studio YAML screenplay, and text with
neither a scene heading nor dialogue (prose, a bare title page), and more than
MAX_SCENES headings, MAX_CHARACTERS speakers or MAX_LINES non-blank lines (counted
before the work that would grow with them). A stray control character or two in a text
file are dropped.
"""

from __future__ import annotations

import bisect
import re
import string
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import yaml

from studio.errors import Problem, ScreenplayError
from studio.screenplay.fountain import (
    Action,
    Dialogue,
    Document,
    Heading,
    Lyrics,
    Section,
    Synopsis,
    Transition,
    page_count,
    parse_fountain_text,
)
from studio.screenplay.model import Screenplay
from studio.screenplay.safe_yaml import MAX_BYTES, Path_, SourceMap
from studio.screenplay.validate import validate

MAX_TEXT = 5000  # ActionBeat.action and DialogueBeat.line
MAX_TRANSITION = 100
MAX_PARENTHETICAL = 200
MAX_EXTENSION = 20
MAX_HEADING = 200
MAX_NAME = 100
MAX_TITLE = 200
MAX_PERIOD = 100
MAX_SYNOPSIS = 2000
MAX_DESCRIPTION = 2000
MAX_TITLE_VALUE = 1000
# A produced feature has 100 to 250 scenes and a few dozen speaking parts; a whole
# season in one file stays well inside these. Past them the file is refused at once
# (before parsing) instead of taking minutes and gigabytes.
MAX_SCENES = 5000
MAX_CHARACTERS = 2000
# Non-blank lines of a Fountain file (paragraphs of a Final Draft one): a 90-minute
# feature has about 3,000, seven hours under 15,000. Each becomes at most one beat;
# 20,000 one-line beats import, check and plan in about a second here.
MAX_LINES = 20_000

# --------------------------------------------------------------------------- names and ids


def slug(text: str, limit: int = 60) -> str:
    """An id from words: ASCII, lower case, '-' between words ('' when nothing is left)."""
    folded = unicodedata.normalize("NFKD", text.replace("’", "'")).encode("ascii", "ignore").decode("ascii")
    folded = re.sub(r"(?<=\w)'(?=\w)", "", folded)  # "WILL'S BEDROOM" -> wills-bedroom
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:limit].strip("-")


def _unique(base: str, used: set[str], fallback: str) -> str:
    ident = base or fallback
    candidate, n = ident, 2
    while candidate in used:
        candidate, n = f"{ident}-{n}", n + 1
    used.add(candidate)
    return candidate


def display_name(written: str) -> str:
    """A name for people: capitals become title case ('O'BRIEN' -> "O'Brien",
    'MARY-JANE' -> 'Mary-Jane'); anything with lower case stays as written."""
    if any(c.islower() for c in written):
        return written

    def word(w: str) -> str:
        parts = re.split(r"([-'’])", w)
        out = []
        for k, part in enumerate(parts):
            if k % 2 == 1 or not part:
                out.append(part)
            elif k >= 2 and parts[k - 1] in "'’" and len(parts[k - 2]) > 1:
                out.append(part.lower())  # "BOB'S" -> "Bob's", but "O'BRIEN" -> "O'Brien"
            elif part[1:].lower().upper() != part[1:]:
                out.append(part)  # capitals Unicode cannot give back from lower case ('İ'): as written
            else:
                out.append(part[:1].upper() + part[1:].lower())
        return "".join(out)

    words = [word(w) for w in written.split()]
    return " ".join(w.lower() if k and w.lower() in _SMALL_WORDS else w for k, w in enumerate(words))


_SMALL_WORDS = {"a", "an", "and", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"}


def _name_key(name: str) -> str:
    """One key per character: 'DR. SMITH', 'Dr Smith' and 'DR SMITH' are the same person."""
    return " ".join(name.upper().replace("’", "'").replace(".", " ").split())


# --------------------------------------------------------------------------- headings

_PREFIX = re.compile(
    r"^(?P<prefix>INT\.?/EXT|INT\./EXT|EXT\.?/INT|INT|EXT|EST|I/E|E/I)\.?(?:\s+|$)", re.IGNORECASE
)
_SEPARATOR = re.compile(r"\s+(?:-{1,2}|–|—)\s+|\s*--\s*|\s*[–—]\s*")
_TIMES = (  # most specific first
    ("dawn", r"DAWN|SUNRISE|DAYBREAK|FIRST LIGHT|SUN ?UP"),
    ("morning", r"(?:EARLY |LATE )?MORNING"),
    ("afternoon", r"(?:EARLY |LATE )?AFTERNOON"),
    ("dusk", r"DUSK|SUNSET|SUNDOWN|TWILIGHT|MAGIC HOUR"),
    ("evening", r"(?:EARLY |LATE )?EVENING"),
    ("night", r"(?:LATE )?NIGHT|MIDNIGHT|NIGHTTIME"),
    ("day", r"DAY|DAYTIME|NOON|MIDDAY|MID-DAY"),
)
_TIME_WORDS = [(time, re.compile(rf"\b(?:{words})\b")) for time, words in _TIMES]
_SAME_TIME = re.compile(
    r"\b(?:CONTINUOUS|CONTINUING|LATER|MOMENTS? LATER|A MOMENT LATER|SECONDS LATER|MINUTES LATER|SAME|"
    r"SAME TIME|SIMULTANEOUS|MOMENTS? BEFORE|EARLIER)\b"
)
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")


_NUMBER = r"(?:\d+|ONE|TWO|THREE|FOUR|FIVE|SIX|SEVEN|EIGHT|NINE|TEN|SOME|MANY|SEVERAL|A FEW)"
# what says when a scene happens beyond the time of day: a year or an era, a story day, a jump
_PERIOD = re.compile(
    r"^(?:(?:(?:EARLY|LATE|MID|SUMMER|WINTER|SPRING|FALL|AUTUMN|CHRISTMAS)[\s-]+)?(?:1\d{3}|2\d{3})(?:['’]?S)?"
    r"|(?:THE\s+)?[1-9]0['’]?S"
    rf"|(?:DAY|NIGHT|WEEK|MONTH|YEAR)\s+{_NUMBER}"
    rf"|{_NUMBER}\s+(?:YEARS?|MONTHS?|WEEKS?|DAYS?)\s+(?:LATER|EARLIER|AGO|BEFORE)"
    r"|FLASHBACK|END FLASHBACK|PRESENT(?:\s+DAY)?|THE PAST|THE FUTURE|DREAM|FANTASY|MEMORY)$"
)
# the scene picks up where the previous one stopped (LATER alone is a jump, however small)
_CONTINUES = re.compile(r"\b(?:CONTINUOUS|CONTINUING|MOMENTS? LATER|A MOMENT LATER|SECONDS LATER)\b")


@dataclass
class _Slug:
    interior: bool | None
    place: str  # location words as written, e.g. 'HOUSE - KITCHEN'
    time: str | None  # a TimeOfDay value, or None: the previous scene's
    period: str | None = None  # '1973', 'DAY 2', 'FLASHBACK' as written
    continues: bool = False  # CONTINUOUS, MOMENTS LATER


def _time(words: str) -> str | None:
    """The time of day the words name first ('DAY TO NIGHT' starts by day)."""
    upper = words.upper()
    best: tuple[int, str] | None = None
    for time, pattern in _TIME_WORDS:
        m = pattern.search(upper)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), time)
    return best[1] if best else None


def parse_heading(text: str) -> _Slug:
    """Interior/exterior, place and time of day from a scene heading's text."""
    interior: bool | None = None
    rest = text.strip()
    m = _PREFIX.match(rest)
    if m:
        prefix = m.group("prefix").upper()
        if "/" not in prefix:
            interior = {"INT": True, "EXT": False}.get(prefix)
        rest = rest[m.end():]
    # asides such as (1973), [FLASHBACK] or (MOVING) do not change the place or the time;
    # a period among them is the scene's period
    period: str | None = None
    for aside in _PARENS.finditer(rest):
        words = " ".join(aside.group()[1:-1].split())
        if _PERIOD.match(words.upper()):
            period = period or words
    parts = [" ".join(_PARENS.sub(" ", p).split()) for p in _SEPARATOR.split(rest)]
    parts = [p for p in parts if p.strip(" -/")]
    if len(parts) == 1 and "-" in parts[0]:
        head, _, tail = parts[0].rpartition("-")
        if head.strip() and (_time(tail) or _SAME_TIME.search(tail.upper())) and len(tail.split()) <= 3:
            parts = [head.strip(), tail.strip()]
    time: str | None = None
    period_time: str | None = None  # 'DAY 2' says day only when nothing else says a time
    continues = False
    while len(parts) >= 2:  # 'BIG TOP - NIGHT - CONTINUOUS': both tail parts are time
        tail = parts[-1].upper()
        said = _time(tail)
        if _PERIOD.match(tail):
            period, period_time = parts[-1], period_time or said
        elif said is None and not _SAME_TIME.search(tail):
            break
        else:
            time = time or said
            continues = continues or bool(_CONTINUES.search(tail))
        parts = parts[:-1]
    return _Slug(interior, " - ".join(parts).strip(" -"), time or period_time, period, continues)


# --------------------------------------------------------------------------- dialogue

_OFF_SCREEN = {"VO": "V.O.", "OS": "O.S.", "OC": "O.C."}
_JOINT = re.compile(r"\s+(?:AND|&)\s+|\s*/\s*|\s*,\s*(?:AND\s+)?", re.IGNORECASE)
_CONTINUED = re.compile(r"^CONT(?:['’]?D|INUED|INUING|\.)?$")


def _extension(extensions: tuple[str, ...]) -> str | None:
    """The one extension a beat keeps: off-screen first, then CONT'D, then what fits."""
    normal = []
    for ext in (e.strip() for written in extensions for e in re.split(r"[,;/]", written) if e.strip()):
        squeezed = ext.upper().replace(" ", "").replace(".", "")
        if squeezed in _OFF_SCREEN:
            normal.append(_OFF_SCREEN[squeezed])
        elif _CONTINUED.match(ext.upper().replace(" ", "")):
            normal.append("CONT'D")
        else:
            normal.append(" ".join(ext.split()))
    for pick in (
        next((e for e in normal if e in _OFF_SCREEN.values()), None),
        "CONT'D" if "CONT'D" in normal else None,
        next((e for e in normal if 0 < len(e) <= MAX_EXTENSION), None),
    ):
        if pick:
            return pick
    return None


def _chunks(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Text cut at spaces into pieces no longer than ``limit``."""
    if len(text) <= limit:
        return [text]
    out: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit + 1)
        cut = cut if cut > limit // 2 else limit
        out.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        out.append(text)
    return out


# a run of words in capitals, as a character is introduced ('EDWARD BLOOM', "O'BRIEN", 'DR. SMITH')
_CAPITALS = re.compile(r"(?<![\w'’])[A-Z0-9][A-Z0-9'’.\-]*(?:[ ]+[A-Z0-9][A-Z0-9'’.\-]*)*(?<!\.)(?![\w'’])")
_SENTENCE_END = re.compile(r"(?<![A-Z]\.)(?<!\b(?:Mr|Ms|Dr|St|Jr|Sr)\.)(?<!\bMrs\.)[.!?]+(?=\s|$)")


def _sentence_rest(text: str, start: int) -> str:
    """What follows a name up to the end of its sentence, without leading punctuation:
    ', AGE 3, listens wide-eyed.' -> 'AGE 3, listens wide-eyed'."""
    end = _SENTENCE_END.search(text, start)
    rest = text[start:end.start() if end else len(text)]
    rest = rest.lstrip(" ,;:–—-").strip()
    rest = re.sub(r"^\(([^()]{1,40})\)", r"\1", rest)  # 'MARA (40s), in a raincoat' -> '40s, in a raincoat'
    rest = re.sub(r"^AGE(?= \d)", "age", rest)  # 'WILL, AGE 3, listens' -> 'age 3, listens'
    return rest if any(c.isalpha() or c.isdigit() for c in rest) else ""


_SCENE_ORDER = ("id", "heading", "act", "location", "time", "period", "continues", "synopsis", "characters", "beats")


def _ordered(scene: dict[str, Any]) -> dict[str, Any]:
    """A scene's keys in the order a writer reads them."""
    return {k: scene[k] for k in _SCENE_ORDER if k in scene} | scene


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class NameFinder:
    """Where known names stand in text as whole words, longest name first at each place.

    Names are looked up by their first word, so the time grows with the text and not
    with the number of names (one regex alternation of 50,000 names takes seconds to
    compile and to run)."""

    _WORD = re.compile(r"(?<![\w'’])\w+")
    _END = re.compile(r"(?![\w’]|'\w)")

    def __init__(self, names: dict[str, str]) -> None:
        self.by_word: dict[str, list[tuple[str, str]]] = {}
        odd: list[str] = []
        for form, value in names.items():
            m = re.match(r"\w+", form)
            if m:
                self.by_word.setdefault(m.group(), []).append((form, value))
            else:
                odd.append(form)
        for forms in self.by_word.values():
            forms.sort(key=lambda f: len(f[0]), reverse=True)
        self.names = names
        self.odd = (re.compile(r"(?<![\w'’])(" + "|".join(re.escape(n) for n in sorted(odd, key=len, reverse=True))
                               + r")(?![\w’]|'\w)") if odd else None)

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, value) of each name in ``text``, left to right, never overlapping."""
        found: list[tuple[int, int, str]] = []
        if self.odd is not None:
            found = [(m.start(), m.end(), self.names[m.group(1)]) for m in self.odd.finditer(text)]
        free = 0
        for m in self._WORD.finditer(text):
            start = m.start()
            if start < free:
                continue
            for form, value in self.by_word.get(m.group(), ()):
                end = start + len(form)
                if text.startswith(form, start) and self._END.match(text, end):
                    found.append((start, end, value))
                    free = end
                    break
        if self.odd is not None:
            found.sort()
            kept: list[tuple[int, int, str]] = []
            for hit in found:
                if not kept or hit[0] >= kept[-1][1]:
                    kept.append(hit)
            found = kept
        return found


# --------------------------------------------------------------------------- the import


@dataclass
class FountainImport:
    """A Fountain screenplay converted to studio data, not yet validated."""

    data: dict[str, Any]
    source: SourceMap
    title_page: list[tuple[str, str]] = field(default_factory=list)
    comments: dict[int, list[str]] = field(default_factory=dict)  # scene index -> comments above it
    trailing: list[str] = field(default_factory=list)
    pages: float = 0.0
    file: str = "<input>"
    warnings: list[Problem] = field(default_factory=list)
    introductions: dict[str, int] = field(default_factory=dict)  # character id -> line its description came from

    @property
    def dialogue_lines(self) -> int:
        return sum(1 for s in self.data["scenes"] for b in s["beats"] if "speaker" in b)


def _fail(file: str, message: str, hint: str = "", line: int = 0) -> ScreenplayError:
    return ScreenplayError([Problem(message=message, file=file, line=line, hint=hint)], file)


_YAML_KEYS = re.compile(r"^(version|film|characters|locations|scenes)\s*:", re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def decode_fountain(raw: str | bytes, file: str) -> str:
    """The text of a Fountain file, or a clear error for what is not one."""
    fix = "pass a Fountain screenplay: plain UTF-8 text with scene headings (INT. PLACE - DAY)"
    if isinstance(raw, bytes):
        if len(raw) > MAX_BYTES:
            raise _fail(file, f"file is {len(raw)} bytes, over the {MAX_BYTES} byte limit")
        if b"\x00" in raw:
            raise _fail(file, "this is a binary file, not a Fountain screenplay", fix)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise _fail(file, "the file is not valid UTF-8 text", "save the screenplay as UTF-8", line) from None
    else:
        text = raw.removeprefix("\ufeff")
    if len(text) > MAX_BYTES:
        raise _fail(file, f"file is over the {MAX_BYTES} byte limit")
    if "\r" in text:  # one line ending, so that '^' (MULTILINE) starts every line the parser sees
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    controls = _CONTROL.findall(text)
    if controls:
        if len(controls) > max(2, len(text) // 100):
            m = _CONTROL.search(text)
            assert m is not None
            line = text.count("\n", 0, m.start()) + 1
            raise _fail(file, f"control characters (U+{ord(m.group()):04X} ...): this is not a text screenplay",
                        fix, line)
        text = _CONTROL.sub("", text)  # a stray one (an old editor's EOF mark, say) means nothing
    if not text.strip():
        raise _fail(file, "the file is empty",
                    "write a scene: a heading (INT. KITCHEN - NIGHT), action, and a CHARACTER cue over their line")
    if len({m.group(1) for m in _YAML_KEYS.finditer(text)}) >= 2:
        raise _fail(file, "this is a studio YAML screenplay, not Fountain",
                    "give it a .yaml name: studio reads it as it is")
    return text


class _Builder:
    """Elements in, studio data and its source map out (one pass, in order)."""

    def __init__(self, doc: Document, file: str) -> None:
        self.doc = doc
        self.file = file
        self.source = SourceMap(file=file)
        self.characters: dict[str, dict[str, Any]] = {}  # name key -> character data
        self.character_lines: dict[str, tuple[int, int]] = {}
        self.cues: dict[str, str] = {}  # name key -> the cue as first written
        self.locations: dict[str, dict[str, Any]] = {}  # slug -> location data
        self.location_lines: dict[str, tuple[int, int]] = {}
        self.interiors: dict[str, set[bool | None]] = {}
        self.scenes: list[dict[str, Any]] = []
        self.scene_numbers: list[str | None] = []
        self.beat_lines: list[list[dict[str, tuple[int, int]]]] = []  # per scene, per beat: field -> position
        self.scene_lines: list[tuple[int, int]] = []
        self.comments: dict[int, list[str]] = {}
        self.pending: list[str] = []  # comments waiting for the next scene
        self.opening: list[tuple[dict[str, Any], dict[str, tuple[int, int]]]] = []  # beats before any heading
        self.used_character_ids: set[str] = set()
        self.used_location_ids: set[str] = set()
        self.act: str | None = None  # a '#' section waiting for the next scene
        self.opening_comments: list[str] = []
        self.opening_act: str | None = None
        self.warnings: list[Problem] = []
        self.solo = {_name_key(el.name) for el in doc.elements if isinstance(el, Dialogue)}

    # -- gathering ---------------------------------------------------------
    def character(self, name: str, forced: bool, where: tuple[int, int]) -> str:
        key = _name_key(name)
        char = self.characters.get(key)
        if char is None:
            if len(self.characters) >= MAX_CHARACTERS:
                raise _fail(self.file, f"more than {MAX_CHARACTERS} different characters speak: this is more than "
                            "one screenplay", "split it into several films, one file each", where[0])
            shown = _clip(display_name(name), MAX_NAME)
            if not any(ch.isprintable() and not ch.isspace() for ch in shown):
                raise _fail(self.file, f"the cue {name!r} names no one: it has no visible character",
                            "write the character's name in the cue, e.g. MARA", where[0])
            ident = _unique(slug(name), self.used_character_ids, f"character-{len(self.characters) + 1}")
            char = {"id": ident, "name": shown, "description": ""}
            self.characters[key] = char
            self.character_lines[key] = where
            self.cues[key] = name
        elif forced and any(c.islower() for c in name) and not any(c.islower() for c in char["name"]):
            char["name"] = _clip(name, MAX_NAME)  # '@McCLANE' names 'MCCLANE' better
        return str(char["id"])

    def location(self, place: str, interior: bool | None, where: tuple[int, int]) -> str:
        key = slug(place) or "unspecified"
        if key not in self.locations:
            ident = _unique(key, self.used_location_ids, f"location-{len(self.locations) + 1}")
            self.locations[key] = {"id": ident, "name": _clip(display_name(place), 200) if place else "Unspecified"}
            self.location_lines[key] = where
            self.interiors[key] = set()
        self.interiors[key].add(interior)
        return str(self.locations[key]["id"])

    # -- beats ---------------------------------------------------------------
    def add_beat(self, beat: dict[str, Any], where: dict[str, tuple[int, int]]) -> None:
        if not self.scenes:
            if not self.opening:  # structure above the cold open belongs to it
                self.opening_comments, self.pending = self.pending, []
                self.opening_act, self.act = self.act, None
            self.opening.append((beat, where))
        else:
            self.scenes[-1]["beats"].append(beat)
            self.beat_lines[-1].append(where)

    def action(self, text: str, where: tuple[int, int]) -> None:
        for piece in _chunks(text):
            self.add_beat({"action": piece}, {"": where})

    def joint(self, el: Dialogue) -> list[str] | None:
        """The speakers of a joint cue ('EDWARD AND WILL'): each one speaks alone somewhere
        in the script; otherwise the cue is one character's name ('LOCK, STOCK')."""
        if el.forced:
            return None
        names = [n.strip() for n in _JOINT.split(el.name)]
        if len(names) < 2 or not all(names) or not all(_name_key(n) in self.solo for n in names):
            return None
        return names

    def dialogue(self, el: Dialogue) -> None:
        names = self.joint(el)
        if names is None:
            self.speech(el, el.name, el.dual)
            return
        for k, name in enumerate(names):  # the same words from each, at the same time
            self.speech(el, name, el.dual or k > 0)

    def speech(self, el: Dialogue, name: str, overlaps: bool) -> None:
        cue_at = (el.line, el.column)
        speaker = self.character(name, el.forced, cue_at)
        extension = _extension(el.extensions)
        pieces: list[tuple[str | None, int, list[str], list[tuple[int, int]], bool]] = []
        paren: str | None = None
        paren_at = 0
        lines: list[str] = []
        line_at: list[tuple[int, int]] = []
        sung = False

        def flush() -> None:
            if lines:
                pieces.append((paren, paren_at, list(lines), list(line_at), sung))

        for part in el.parts:
            if part.kind == "parenthetical":
                if lines:
                    flush()
                    lines.clear()
                    line_at.clear()
                    paren, paren_at, sung = part.text, part.line, False
                else:  # two parentheticals in a row read as one
                    paren = f"{paren}; {part.text}" if paren else part.text
                    paren_at = paren_at or part.line
            else:
                lines.append(part.text)
                line_at.append((part.line, part.column))
                sung = sung or part.kind == "lyric"
        flush()
        if not pieces:
            if paren:  # 'EDWARD / (nods)': no words, only business
                shown = self.characters[_name_key(name)]["name"]
                self.action(f"{shown} {paren.rstrip('.')}.", cue_at)
            return
        first = True
        for paren_text, p_line, texts, ats, was_sung in pieces:
            if was_sung and not paren_text:
                paren_text = "singing"
            for k, piece in enumerate(_chunks(" ".join(" ".join(texts).split()))):
                beat: dict[str, Any] = {"speaker": speaker, "line": piece}
                where = {"": cue_at, "speaker": cue_at, "line": ats[0]}
                if paren_text and k == 0:
                    beat["parenthetical"] = _clip(paren_text, MAX_PARENTHETICAL)
                    where["parenthetical"] = (p_line, 1) if p_line else cue_at
                if extension:
                    beat["extension"] = extension
                if overlaps and first:
                    beat["overlaps"] = True
                first = False
                self.add_beat(beat, where)

    # -- scenes ----------------------------------------------------------------
    def heading(self, el: Heading) -> None:
        slug_ = parse_heading(el.text)
        at = (el.line, el.column)
        previous = self.scenes[-1]["time"] if self.scenes else "day"
        scene: dict[str, Any] = {
            "id": "",
            "heading": _clip(el.text, MAX_HEADING) if el.text else None,
            "location": self.location(slug_.place, slug_.interior, at),
            "time": slug_.time or previous,
            "characters": [],
            "beats": [],
        }
        if scene["heading"] is None:
            del scene["heading"]
        if slug_.period:
            scene["period"] = _clip(slug_.period, MAX_PERIOD)
        if slug_.continues and self.scenes:
            scene["continues"] = True
        if self.act:
            scene["act"], self.act = self.act, None
        self.scenes.append(scene)
        self.scene_numbers.append(el.number)
        self.scene_lines.append(at)
        self.beat_lines.append([])
        if self.pending:
            self.comments[len(self.scenes) - 1] = self.pending
            self.pending = []

    def structure(self, text: str, synopsis: bool, level: int = 1) -> None:
        """A '#' section is the act the next scene opens; a synopsis right below a heading
        is that scene's synopsis; deeper sections and other synopses are comments."""
        in_scene_head = self.scenes and not self.scenes[-1]["beats"] and not self.pending and not self.act
        if synopsis and in_scene_head:
            scene = self.scenes[-1]
            joined = f"{scene['synopsis']} {text}" if scene.get("synopsis") else text
            scene["synopsis"] = _clip(joined, MAX_SYNOPSIS)
        elif level == 1 and not synopsis and self.act is None and not self.pending:
            self.act = _clip(text, MAX_HEADING)
        else:
            self.pending.append(f"= {text}" if synopsis else f"{'#' * level} {text}")

    # -- the whole film ----------------------------------------------------------
    def build(self, stem: str) -> FountainImport:
        for el in self.doc.elements:
            if isinstance(el, Heading):
                self.heading(el)
            elif isinstance(el, Action):
                self.action(el.text, (el.line, el.column))
            elif isinstance(el, Dialogue):
                self.dialogue(el)
            elif isinstance(el, Transition):
                if self.scenes:
                    self.add_beat({"transition": _clip(el.text, MAX_TRANSITION)}, {"": (el.line, el.column)})
            elif isinstance(el, Lyrics):
                sung = " / ".join(" ".join(line.split()) for line in el.lines)
                self.action(f"♪ {sung} ♪", (el.line, el.column))
            elif isinstance(el, Section):
                self.structure(el.text, False, el.level)
            elif isinstance(el, Synopsis):
                self.structure(el.text, True)
        if self.act:
            self.pending.append(f"# {self.act}")
        self._opening()
        self._ids()
        self._present()
        self._interiors()
        introductions = self._introductions()
        self.scenes = [_ordered(scene) for scene in self.scenes]
        self._notes()
        film: dict[str, Any] = {"title": self._title(stem)}
        page = self._title_page()
        if page:
            film["title_page"] = page
        data: dict[str, Any] = {
            "version": 1,
            "film": film,
            "characters": list(self.characters.values()),
            "locations": list(self.locations.values()),
            "scenes": self.scenes,
        }
        self._source_map()
        return FountainImport(
            data=data,
            source=self.source,
            title_page=[(f.key, f.value) for f in self.doc.title_page],
            comments=self.comments,
            trailing=self.pending,
            pages=round(page_count(self.doc), 2),
            file=self.file,
            warnings=self.warnings,
            introductions=introductions,
        )

    def _title_page(self) -> dict[str, str]:
        """The title page's fields but the title, as written ('Credit': 'written by')."""
        page: dict[str, str] = {}
        for f in self.doc.title_page:
            key = " ".join(f.key.split())[:40]
            if key.lower() != "title" and f.value and key not in page:
                page[key] = _clip(f.value, MAX_TITLE_VALUE)
        return page

    def _notes(self) -> None:
        """[[Notes]] as comments above the scene they were written in."""
        starts = [line for line, _ in self.scene_lines]
        for line, text in self.doc.notes:
            index = max(0, bisect.bisect_right(starts, line) - 1) if starts else 0
            self.comments.setdefault(index, []).append(f"[[{text}]]")

    def _opening(self) -> None:
        """Beats before the first heading: a cold open, its own scene at an unnamed place
        (or the whole film, when a fragment has no heading at all)."""
        if not self.opening:
            return
        first_line = self.opening[0][1][""]
        scene: dict[str, Any] = {"id": "" if not self.scenes else "opening",
                                 "location": self.location("", None, first_line), "time": "day",
                                 "characters": [], "beats": [b for b, _ in self.opening]}
        if self.opening_act:
            scene["act"] = self.opening_act
        fragment = not self.scenes
        self.scenes.insert(0, scene)
        self.scene_numbers.insert(0, None)
        self.scene_lines.insert(0, first_line)
        self.beat_lines.insert(0, [w for _, w in self.opening])
        self.comments = {k + 1: v for k, v in self.comments.items()}
        if self.opening_comments:
            self.comments[0] = self.opening_comments
        if fragment:
            self.warnings.append(Problem(
                message="no scene heading: the whole text is one scene at an unnamed location",
                file=self.file, line=first_line[0], severity="warning",
                hint="start each scene with a heading such as INT. KITCHEN - NIGHT"))

    def _introductions(self) -> dict[str, int]:
        """Each speaking character's description from their introduction: the first time
        their name stands in capitals in an action line ('WILL BLOOM, AGE 3, listens
        wide-eyed'), the rest of that sentence. Nothing is made up: a character never
        introduced keeps an empty description. Returns character id -> line."""
        wanted: dict[str, str] = {}  # a cue name's words in capitals -> name key
        for key in self.characters:
            cue = " ".join(self.cues[key].upper().split())
            if len(cue) >= 2 and any(c.isalpha() for c in cue) and cue == self.cues[key].strip():
                wanted.setdefault(cue, key)
        found: dict[str, int] = {}
        if not wanted:
            return found
        first_word: dict[str, list[str]] = {}
        for cue in wanted:
            m = re.match(r"[^\s]+", cue)
            if m:
                first_word.setdefault(m.group(), []).append(cue)
        for cues in first_word.values():
            cues.sort(key=len, reverse=True)
        seen: set[str] = set()
        for i, scene in enumerate(self.scenes):
            for j, beat in enumerate(scene["beats"]):
                if "action" not in beat or len(seen) == len(wanted):
                    continue
                text = beat["action"]
                for run in _CAPITALS.finditer(text):
                    key = None
                    tail = run.group()  # 'A STRANGER', 'EDWARD BLOOM': the name may start at any word
                    while tail and key is None:
                        cue = next((c for c in first_word.get(tail.split()[0], ()) if tail == c
                                    or tail.startswith(c + " ")), None)
                        key = wanted.get(cue) if cue else None
                        tail = tail.partition(" ")[2].lstrip()
                    if key is None or key in seen:
                        continue
                    seen.add(key)
                    rest = _sentence_rest(text, run.end())
                    if rest:
                        char = self.characters[key]
                        char["description"] = _clip(rest, MAX_DESCRIPTION)
                        found[char["id"]] = self.beat_lines[i][j][""][0]
        return found

    def _ids(self) -> None:
        """Scene numbers as ids where they are unique and valid ('#12A#' is s12a). In a
        numbered script an unnumbered scene is named after the numbered one before it,
        the way inserted scenes are (s12a, s12b); otherwise scenes count up from s1."""
        used: set[str] = {s["id"] for s in self.scenes if s["id"]}  # a cold open is 'opening'
        numbers = Counter(n for n in self.scene_numbers if n)
        for i, number in enumerate(self.scene_numbers):
            if number and numbers[number] == 1:
                ident = slug(number, 60)
                ident = f"s{ident}" if ident[:1].isdigit() else ident
                if ident and ident not in used:
                    self.scenes[i]["id"] = ident
                    used.add(ident)
        base = ""
        opening = 1 if self.scenes and self.scenes[0]["id"] == "opening" else 0
        for i, scene in enumerate(self.scenes):
            if scene["id"]:
                base = scene["id"] if self.scene_numbers[i] else base
                continue
            if base:
                letters = (f"{base}{c}" for c in string.ascii_lowercase)
                scene["id"] = next((x for x in letters if x not in used), None) or _unique(f"{base}-x", used, "s")
                used.add(scene["id"])
            else:
                scene["id"] = _unique(f"s{i + 1 - opening}", used, f"s{i + 1 - opening}")

    def _present(self) -> None:
        """Each scene's characters: on-screen speakers, then whoever its action names."""
        names: dict[str, str] = {}
        for key, char in self.characters.items():
            for form in (self.cues[key], char["name"]):
                if len(form) >= 2 and any(c.isalpha() for c in form):
                    names.setdefault(form, char["id"])
        finder = NameFinder(names)
        for scene in self.scenes:
            present: dict[str, None] = {}  # ordered, and O(1) to ask
            for beat in scene["beats"]:
                if "speaker" in beat:
                    if beat.get("extension") not in _OFF_SCREEN.values():
                        present.setdefault(beat["speaker"])
                elif "action" in beat:
                    for _, _, ident in finder.find(beat["action"]):
                        present.setdefault(ident)
            scene["characters"] = list(present)

    def _interiors(self) -> None:
        for key, loc in self.locations.items():
            seen = self.interiors[key] - {None}
            if len(seen) == 1:
                loc["interior"] = seen.pop()

    def _title(self, stem: str) -> str:
        title = " ".join(self.doc.title().split())
        if not title:
            title = "" if stem.startswith("<") else " ".join(re.sub(r"[_\-]+", " ", stem).split())
            title = title or "Untitled"
            title = title[:1].upper() + title[1:]
        return _clip(title, MAX_TITLE)

    def _source_map(self) -> None:
        pos = self.source.positions
        title_line = next((f.line for f in self.doc.title_page if f.key.lower() == "title"), 0)
        if title_line:
            pos[("film",)] = pos[("film", "title")] = (title_line, 1)
        for i, key in enumerate(self.characters):
            pos[("characters", i)] = self.character_lines[key]
        for i, key in enumerate(self.locations):
            pos[("locations", i)] = self.location_lines[key]
        for i, scene in enumerate(self.scenes):
            path: Path_ = ("scenes", i)
            pos[path] = self.scene_lines[i]
            for j, where in enumerate(self.beat_lines[i]):
                pos[path + ("beats", j)] = where[""]
                for name, at in where.items():
                    if name:
                        pos[path + ("beats", j, name)] = at


# what may be a scene heading, counted before parsing (an upper bound: enough for a limit)
_HEADING_LINE = re.compile(r"^[ \t]*(?:\.(?=[^\s.])|(?:INT|EXT|EST|I/E|E/I)[./ \t])", re.MULTILINE | re.IGNORECASE)
_FILLED_LINE = re.compile(r"^[ \t]*[^\s]", re.MULTILINE)


def import_fountain(raw: str | bytes, file: str = "<input>") -> FountainImport:
    """Convert Fountain text (or the bytes of a file) into studio data with a source
    map into the Fountain file. Raises :class:`ScreenplayError` for input that is not
    a Fountain screenplay (binary, empty, YAML, or nothing to film)."""
    text = decode_fountain(raw, file)
    headings = sum(1 for _ in _HEADING_LINE.finditer(text))
    if headings > MAX_SCENES:
        raise _fail(file, f"{headings} scene headings, over the {MAX_SCENES} scenes one screenplay may hold",
                    "split it into several films, one file each")
    if sum(1 for _ in islice(_FILLED_LINE.finditer(text), MAX_LINES + 1)) > MAX_LINES:
        raise _fail(file, f"more than {MAX_LINES} lines with text, more than one screenplay may hold (a "
                    "90-minute feature has about 3,000)", "split it into several films, one file each")
    doc = parse_fountain_text(text)
    if not any(isinstance(el, (Heading, Dialogue)) for el in doc.elements):
        what = "action" if any(isinstance(el, (Action, Lyrics)) for el in doc.elements) else "nothing"
        raise _fail(
            file,
            f"no scene headings and no dialogue (only {what}): this does not read as a Fountain screenplay",
            "start each scene with a heading such as INT. KITCHEN - NIGHT, and put a CHARACTER cue "
            "in capitals on the line above their dialogue",
            1,
        )
    return _Builder(doc, file).build(Path(file).stem)


def read_fountain(path: str | Path) -> FountainImport:
    """Read a Fountain file from disk and convert it (:func:`import_fountain`); a missing,
    unreadable or oversized file is a :class:`ScreenplayError` too."""
    from studio.screenplay.reading import read_screenplay_bytes

    raw = read_screenplay_bytes(path)
    return import_fountain(raw, str(path))


def parse_fountain(raw: str | bytes, file: str = "<input>", *, base_dir: Path | None = None,
                   allow_outside: bool = False) -> Screenplay:
    """Read and validate a Fountain screenplay into a :class:`Screenplay`. Problems
    carry the Fountain file's line numbers. Raises :class:`ScreenplayError`."""
    return validated(import_fountain(raw, file), base_dir=base_dir, allow_outside=allow_outside)


def validated(imported: FountainImport, *, base_dir: Path | None, allow_outside: bool) -> Screenplay:
    """An imported screenplay (Fountain or Final Draft) validated into a :class:`Screenplay`,
    its problems and warnings pointing into the imported file."""
    screenplay, warnings = validate(imported.data, imported.source, base_dir=base_dir, allow_outside=allow_outside)
    screenplay._source = imported.source
    screenplay._warnings = [*imported.warnings, *warnings]
    screenplay._base_dir = base_dir
    screenplay._allow_outside = allow_outside
    return screenplay


# --------------------------------------------------------------------------- YAML out


def _dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=100)


# what YAML will not read even in a comment (its reader's non-printable characters)
_UNPRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _comment(text: str) -> str:
    return "# " + " ".join(_UNPRINTABLE.sub("", text).split())


def to_yaml(imported: FountainImport) -> str:
    """The imported screenplay as YAML: the same data, readable, with the title page,
    sections and synopses as comments."""
    name = Path(imported.file).name
    head = [_comment(f"Imported from {name} by `studio import`."), "#"]
    for key, value in imported.title_page:
        if key.lower() != "title" and value:
            head.append(_comment(f"{key}: {value}"))
    head += [
        _comment("A description marked 'imported' is the character's introduction in the script: edit it freely."),
        _comment("An empty one had no introduction: describe the appearance (every shot's prompt uses it)."),
        _comment("Locations can take a description too; voices default to piper."),
    ]
    data = imported.data
    out = ["\n".join(head), "", _dump({k: data[k] for k in ("version", "film")}).rstrip("\n"), "characters:"]
    if not data["characters"]:
        out[-1] = "characters: []"
    for char in data["characters"]:
        line = imported.introductions.get(char["id"])
        if line:
            out.append(_comment(f"description imported from the introduction on line {line}"))
        out.append(_dump([char]).rstrip("\n"))
    out += [_dump({"locations": data["locations"]}).rstrip("\n"), "scenes:"]
    for i, scene in enumerate(data["scenes"]):
        for comment in imported.comments.get(i, []):
            out.append(_comment(comment))
        out.append(_dump([scene]).rstrip("\n"))
    for comment in imported.trailing:
        out.append(_comment(comment))
    return "\n".join(out) + "\n"
