"""Mutated Fountain and Final Draft screenplays for ``bench/fuzz_screenplays.py``.

Each mutator takes a seeded ``random.Random`` and returns the bytes of one mutant
file, as a screenwriter's app, a careless hand or an attacker might leave it:

* Fountain (``mutate_fountain``): a base file (a short generated feature with title
  page, acts, synopses, notes and boneyard; the example film exported by studio;
  the importer's own fixture with dual dialogue and lyrics) has one to four lines
  replaced, inserted, deleted or duplicated, Fountain marks spliced into a line,
  a line's case flipped, a hostile value (control characters, lone surrogates, SRT
  timing lines, 6,000-letter words) written in, or a mark repeated up to 20,000
  times (the importer's worst cases of issue 21, item 2); the text is then encoded
  with CRLF or CR endings, a BOM, or bytes that are not UTF-8 now and then.
* Final Draft (``mutate_fdx``): a base file (the importer's fixture; the generated
  feature written as Final Draft paragraphs) has paragraphs retyped, rewritten with
  hostile text, renumbered, deleted, duplicated, moved into dual dialogue or the
  title page, or nested; one case in ten is a splice of XML syntax into the bytes
  (doctype and entity declarations, CDATA, character references, broken tags).
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIXTURES = ROOT / "tests" / "screenplay" / "fixtures"

# text values a careless or hostile hand writes into a screenplay
HOSTILE_TEXT = [
    "", " ", "\t", "\u3000", "\x00", "a\x00b", "\x07\x0b\x1b", "\udfff", "x\ud800y", "\ufffe", "\u202e\u200b",
    "M\n\n9\n00:00:00,000 --> 00:59:00,000\nFAKE CUE", "002  AX V C 00:00:00:00 00:00:01:00",
    "</Text></Paragraph><x>&amp;]]>", "%{pts}", "\\", "'\"", "x" * 6000, "é" * 300, "黒澤", "MARA", "mara",
    "INT.", "EXT. ", ".", "..", "@", "^", "~", ">", "<", "> <", "#", "=", "!", "[[", "]]", "/*", "*/", "***",
    "(", ")", "()", "(V.O.)", "(CONT'D)", "FADE OUT.", "CUT TO:", "Title:", "Title: " + "T" * 300,
    "INT. " + "A" * 400 + " - DAY", "A" * 120, "INT. HOUSE - DAY #1#", "#" * 7 + " deep", "99998x99998",
]
# Fountain's marks, spliced into lines and repeated
MARKS = ["*", "**", "***", "_", "\\", "[[", "]]", "/*", "*/", "~", "^", "@", ">", "<", "#", "=", "!", ".",
         "(", ")", "\t", "  ", "\n", "\n\n", ":", "INT. ", "#1#"]


def _generated_fountain() -> str:
    from bench.generate_feature import generate_feature
    from bench.generate_fountain import to_fountain

    return to_fountain(generate_feature(minutes=3, characters=5, seed=21))


def _exported_example() -> str:
    from studio.screenplay import load_screenplay
    from studio.screenplay.fountain_export import to_fountain

    return to_fountain(load_screenplay(ROOT / "screenplays" / "the-last-lamp.yaml"))


FOUNTAIN_BASES: list[str] = []


def fountain_bases() -> list[str]:
    """The Fountain files mutants start from (built once)."""
    if not FOUNTAIN_BASES:
        FOUNTAIN_BASES.extend([_generated_fountain(), _exported_example(),
                               (FIXTURES / "river-years.fountain").read_text(encoding="utf-8")])
    return FOUNTAIN_BASES


def _hostile(rng: random.Random) -> str:
    return rng.choice(HOSTILE_TEXT)


def _encode(rng: random.Random, text: str) -> bytes:
    roll = rng.random()
    if roll < 0.1:
        text = text.replace("\n", "\r\n")
    elif roll < 0.15:
        text = text.replace("\n", "\r")
    if rng.random() < 0.05:
        text = "\ufeff" + text
    data = text.encode("utf-8", "surrogatepass")  # a lone surrogate becomes bytes that are not UTF-8
    if rng.random() < 0.03:
        at = rng.randrange(len(data) + 1)
        data = data[:at] + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\x1a"]) + data[at:]
    return data


def mutate_fountain(rng: random.Random) -> bytes:
    """One mutated Fountain file, as bytes."""
    lines = rng.choice(fountain_bases()).split("\n")
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(lines) + 1)
        line = lines[at] if at < len(lines) else ""
        action = rng.choice(["replace", "insert", "insert", "delete", "duplicate", "splice", "splice",
                             "case", "repeat"])
        if action == "replace" and at < len(lines):
            lines[at] = _hostile(rng)
        elif action == "insert":
            new = [_hostile(rng)] if rng.random() < 0.5 else ["", _hostile(rng), ""]
            lines[at:at] = new
        elif action == "delete" and at < len(lines):
            del lines[at:at + rng.randint(1, 5)]
        elif action == "duplicate" and at < len(lines):
            block = lines[at:at + rng.randint(1, 12)]
            lines[at:at] = block * rng.randint(1, 3)
        elif action == "splice":
            col = rng.randrange(len(line) + 1)
            lines[at:at + 1] = [line[:col] + rng.choice(MARKS) + line[col:]]
        elif action == "case" and at < len(lines):
            lines[at] = line.upper() if rng.random() < 0.7 else line.lower()
        elif action == "repeat":
            mark = rng.choice(MARKS + ["[[a", "/*a", "*a", "_a", "(a", "INT. A\n\n", "A\nB\n\n", "X\n\n"])
            lines[at:at] = [mark * rng.choice([10, 100, 1000, 5000, 20_000])]
    return _encode(rng, "\n".join(lines))


# --------------------------------------------------------------------------- Final Draft

PARAGRAPH_TYPES = ["Scene Heading", "Action", "Character", "Parenthetical", "Dialogue", "Transition", "Shot",
                   "General", "Cast List", "scene heading", "CHARACTER", "", " "]


@dataclass
class _Para:
    type: str | None
    text: str
    number: str | None = None
    dual: int = 0  # which dual-dialogue block it belongs to (0: none)
    title_page: bool = False
    extra: str = ""  # raw XML put inside the paragraph (nesting, stray runs)
    runs: list[str] = field(default_factory=list)  # several <Text> runs, when set


def _fdx_from_fixture() -> list[_Para]:
    from studio.screenplay.fdx_import import read_paragraphs

    raw = (FIXTURES / "river-years.fdx").read_bytes()
    return [_Para(p.type, p.text, p.number, p.dual and 1, p.title_page) for p in read_paragraphs(raw)]


def _fdx_from_fountain(text: str) -> list[_Para]:
    from studio.screenplay.fountain import Action, Dialogue, Heading, Lyrics, Transition, parse_fountain_text

    doc = parse_fountain_text(text)
    out = [_Para(None, line, title_page=True) for f in doc.title_page for line in f.lines]
    for el in doc.elements:
        if isinstance(el, Heading):
            out.append(_Para("Scene Heading", el.text, el.number))
        elif isinstance(el, Dialogue):
            cue = el.name + "".join(f" ({e})" for e in el.extensions)
            out.append(_Para("Character", cue))
            for part in el.parts:
                out.append(_Para("Parenthetical", f"({part.text})") if part.kind == "parenthetical"
                           else _Para("Dialogue", part.text))
        elif isinstance(el, Transition):
            out.append(_Para("Transition", el.text))
        elif isinstance(el, Action):
            out.append(_Para("Action", el.text))
        elif isinstance(el, Lyrics):
            out.append(_Para("Action", " ".join(el.lines)))
    return out


FDX_BASES: list[list[_Para]] = []


def fdx_bases() -> list[list[_Para]]:
    """The Final Draft paragraph lists mutants start from (built once)."""
    if not FDX_BASES:
        FDX_BASES.extend([_fdx_from_fixture(), _fdx_from_fountain(_generated_fountain())])
    return FDX_BASES


def write_fdx(paragraphs: list[_Para]) -> str:
    """Final Draft XML for ``paragraphs`` (their text escaped, ``extra`` written raw)."""

    def para(p: _Para) -> str:
        attrs = "" if p.type is None else f" Type={quoteattr(p.type)}"
        if p.number is not None:
            attrs = f" Number={quoteattr(p.number)}" + attrs
        runs = p.runs or [p.text]
        body = "".join(f"<Text>{escape(r)}</Text>" for r in runs)
        return f"    <Paragraph{attrs}>\n      {body}{p.extra}\n    </Paragraph>\n"

    title = [p for p in paragraphs if p.title_page]
    body: list[str] = []
    k = 0
    content = [p for p in paragraphs if not p.title_page]
    while k < len(content):
        p = content[k]
        if p.dual:
            end = k
            while end < len(content) and content[end].dual == p.dual:
                end += 1
            body.append("    <Paragraph>\n      <DualDialogue>\n" + "".join(para(q) for q in content[k:end])
                        + "      </DualDialogue>\n    </Paragraph>\n")
            k = end
        else:
            body.append(para(p))
            k += 1
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n',
           '<FinalDraft DocumentType="Script" Template="No" Version="5">\n', "  <Content>\n", *body, "  </Content>\n"]
    if title:
        out += ["  <TitlePage>\n    <Content>\n", *(para(p) for p in title), "    </Content>\n  </TitlePage>\n"]
    out.append("</FinalDraft>\n")
    return "".join(out)


XML_SPLICES = [
    '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>', '<!ENTITY e SYSTEM "/etc/passwd">',
    "&e;", "&amp;", "&lt;", "&#0;", "&#xD800;", "&#x1F600;", "&#65;", "<![CDATA[", "]]>", "<Text>", "</Text>",
    "<Paragraph>", "</Paragraph>", '<Paragraph Type="Scene Heading">', "<DualDialogue>", "</DualDialogue>",
    "<?pi x?>", "<!-- a -->", "<", ">", "&", '"', "'", "</FinalDraft>", "<FinalDraft>", "\x00", "\xff", "<TitlePage>",
]


def _mutate_paragraphs(rng: random.Random, paras: list[_Para]) -> None:
    at = rng.randrange(len(paras))
    p = paras[at]
    action = rng.choice(["retype", "retype", "text", "text", "text", "number", "delete", "duplicate", "dual",
                         "title", "nest", "runs", "many"])
    if action == "retype":
        paras[at] = replace(p, type=rng.choice(PARAGRAPH_TYPES + [None]))
    elif action == "text":
        paras[at] = replace(p, text=_hostile(rng), runs=[])
    elif action == "number":
        paras[at] = replace(p, number=rng.choice(["", "1", "1A", "-", "0", "9" * 40, "\x07", " "]))
    elif action == "delete":
        del paras[at:at + rng.randint(1, 4)]
    elif action == "duplicate":
        paras[at:at] = [replace(q) for q in paras[at:at + rng.randint(1, 8)]] * rng.randint(1, 3)
    elif action == "dual":
        block = rng.randint(1, 9)
        for k in range(at, min(len(paras), at + rng.randint(1, 6))):
            paras[k] = replace(paras[k], dual=block)
    elif action == "title":
        paras[at] = replace(p, title_page=not p.title_page)
    elif action == "nest":
        depth = rng.choice([1, 5, 40, 200])
        paras[at] = replace(p, extra="<Text>" * depth + escape(_hostile(rng)) + "</Text>" * depth)
    elif action == "runs":
        paras[at] = replace(p, runs=[_hostile(rng), p.text, _hostile(rng)])
    elif action == "many":
        paras[at:at] = [replace(p) for _ in range(rng.choice([100, 1000, 6000]))]


def mutate_fdx(rng: random.Random) -> bytes:
    """One mutated Final Draft file, as bytes."""
    paras = [replace(p) for p in rng.choice(fdx_bases())]
    for _ in range(rng.randint(1, 4)):
        if paras:
            _mutate_paragraphs(rng, paras)
    data = write_fdx(paras).encode("utf-8", "surrogatepass")
    if rng.random() < 0.1:
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data) + 1)
            splice = rng.choice(XML_SPLICES).encode("utf-8", "surrogatepass")
            data = data[:at] + splice + data[at + rng.randrange(20):]
    return data


MUTATORS: dict[str, Callable[[random.Random], bytes]] = {"fountain": mutate_fountain, "fdx": mutate_fdx}
