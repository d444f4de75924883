"""A studio screenplay back in Fountain (``studio export FILE.yaml -o FILE.fountain``).

The export is written so that importing it (:mod:`studio.screenplay.fountain_import`)
gives the same screenplay: the title page carries ``film.title`` and
``film.title_page``; each scene is its act (``# ACT ONE``), its heading with the scene
id as scene number (``INT. HOUSE - NIGHT #12#``), its synopsis (``= ...``) and its
beats; dialogue is a cue in capitals with its extension, its parenthetical and the
line; a beat spoken over the one before it is dual dialogue (``^``); transitions are
forced with ``>`` unless they read as one already. Text that Fountain would read as
markup (``*``, ``_``, a leading ``!``, ``[[``, ``/*``) is escaped with a backslash.

A cold open (the first scene at the unnamed location, without a heading) is written
before the first heading, as it was read. What Fountain has no place for (voices,
looks, references, LoRAs, music cues, explicit shots, descriptions not written as an
introduction, location descriptions) is listed by :func:`left_out`; it stays in the
YAML.
"""

from __future__ import annotations

import re

from studio.screenplay.fountain import _HEADING, Action, Transition, _cue, _Line, parse_fountain_text
from studio.screenplay.fountain_import import _TIMES, display_name
from studio.screenplay.model import ActionBeat, DialogueBeat, Scene, Screenplay, TransitionBeat

_MARKUP = re.compile(r"([\\*_])")  # what strip_markup would eat
_LEADING = set("!.@#=~>[/")  # what starts another element at a paragraph's start
_TIME_WORD = {time: words.split("|")[0].replace("(?:EARLY |LATE )?", "") for time, words in _TIMES}


def _escape(text: str) -> str:
    """Text that reads back as itself: markup characters and openers escaped."""
    text = _MARKUP.sub(r"\\\1", text)
    text = text.replace("[[", "\\[\\[")
    if text[:1] in _LEADING:
        text = "\\" + text
    return text


def _one_line(text: str) -> str:
    """Text on one line, its other spacing as written (the import keeps it)."""
    return re.sub(r"\s*[\r\n\f\v\x1c-\x1e\x85\u2028\u2029]+\s*", " ", text).strip()


def _unmarked(text: str) -> str:
    """Markup characters escaped (``*``, ``_``, ``\\``)."""
    return _MARKUP.sub(r"\\\1", text)


def _parenthetical(text: str) -> str:
    return "(" + _one_line(_unmarked(text)) + ")"


def _action(text: str) -> str:
    """Action that reads back as this action: forced with '!' when Fountain would read
    it as something else (a heading, a cue, a transition, FADE IN)."""
    escaped = _escape(text)
    want = " ".join(text.split())
    for candidate in (escaped, "!" + escaped):
        elements = parse_fountain_text(candidate).elements
        if len(elements) == 1 and isinstance(elements[0], Action) and elements[0].text == want:
            return candidate
    return "!" + escaped


def _cue_text(name: str) -> str:
    """The character's cue: capitals, or forced with '@' when the name has lower case
    that capitals would lose (McKENNA)."""
    upper = _one_line(name.upper())
    written = upper if display_name(upper) == name else _one_line(name)
    escaped = _MARKUP.sub(r"\\\1", written)
    if written == upper and _cue(_Line(1, escaped)) == (upper, (), False, False):
        return escaped  # the cue in capitals, as screenwriters write it
    return "@" + escaped


def _heading(scene: Scene, screenplay: Screenplay) -> str:
    heading = scene.heading
    if not heading:
        loc = screenplay.location(scene.location)
        side = {True: "INT.", False: "EXT.", None: "INT./EXT."}[loc.interior]
        words = [(loc.name or loc.id).upper(), _TIME_WORD.get(scene.time, scene.time.upper())]
        if scene.period:
            words.append(scene.period)
        if scene.continues:
            words.append("CONTINUOUS")
        heading = f"{side} {' - '.join(words)}"
    text = re.sub(r"\s*[\r\n]+\s*", " ", _escape(heading)).strip()  # one line; inner spacing as written
    forced = not _HEADING.match(heading) or heading.startswith(("\\", "."))
    number = scene.id[1:] if re.fullmatch(r"s\d[a-z0-9.\-]*", scene.id) else scene.id
    return f"{'.' if forced else ''}{text} #{number}#"


def _beat(beat: ActionBeat | DialogueBeat | TransitionBeat, screenplay: Screenplay) -> str:
    if isinstance(beat, ActionBeat):
        return _action(beat.action)
    if isinstance(beat, TransitionBeat):
        text = _one_line(_unmarked(beat.transition))
        for candidate in (text, ">" + text):  # as written when it reads as a transition, else forced
            elements = parse_fountain_text(candidate).elements
            if len(elements) == 1 and isinstance(elements[0], Transition) and elements[0].text == beat.transition:
                return candidate
        return ">" + text
    cue = _cue_text(screenplay.character(beat.speaker).name)
    if beat.extension:
        cue += f" ({beat.extension})"
    if beat.overlaps:
        cue += " ^"
    lines = [cue]
    if beat.parenthetical:
        lines.append(_parenthetical(beat.parenthetical))
    lines.append(" ".join(_escape(beat.line).split()))
    return "\n".join(lines)


def _business(name: str, action: str) -> str | None:
    """The parenthetical of 'Edward nods.', the action a cue with only a parenthetical
    imports as, when ``action`` reads so for the character ``name``."""
    m = re.fullmatch(re.escape(name) + r" (.+[^.])\.", action)
    # only when the parenthetical reads back as written: on one line, no space at its ends
    # ('Mara 0 .' would come back as 'Mara 0.')
    return m.group(1) if m and _one_line(m.group(1)) == m.group(1) else None


def _is_cold_open(scene: Scene, index: int) -> bool:
    return index == 0 and scene.heading is None and scene.location == "unspecified"


def to_fountain(screenplay: Screenplay) -> str:
    """The screenplay as Fountain text that imports back into the same screenplay."""
    out: list[str] = []
    page = [("Title", screenplay.film.title), *screenplay.film.title_page.items()]
    out.append("\n".join(f"{key}: {' '.join(_escape(value).split())}" for key, value in page if value))
    # characters enter the import in the order of their first cue; one whose first cue had
    # only a parenthetical came in as the action 'Edward nods.', written back as that cue
    waiting = [c for c in screenplay.characters]
    for i, scene in enumerate(screenplay.scenes):
        blocks: list[str] = []
        if scene.act:
            blocks.append("# " + _one_line(_unmarked(scene.act)))
        if not _is_cold_open(scene, i):
            blocks.append(_heading(scene, screenplay))
            if scene.synopsis:
                blocks.append("= " + _one_line(_unmarked(scene.synopsis)))
        for beat in scene.beats:
            if isinstance(beat, DialogueBeat):
                waiting = [c for c in waiting if c.id != beat.speaker]
            elif isinstance(beat, ActionBeat) and waiting:
                business = _business(waiting[0].name, beat.action)
                if business is not None:
                    blocks.append(f"{_cue_text(waiting.pop(0).name)}\n{_parenthetical(business)}")
                    continue
            blocks.append(_beat(beat, screenplay))
        out.append("\n\n".join(blocks))
    return "\n\n".join(b for b in out if b) + "\n"


def wrapped_in_parentheses(line: str) -> bool:
    """A dialogue line Fountain cannot hold: it would read as a parenthetical."""
    line = line.strip()
    return line.startswith("(") and line.endswith(")")


def left_out(screenplay: Screenplay) -> list[str]:
    """What the Fountain export cannot carry (it stays in the YAML), in words."""
    lost: list[str] = []
    film = screenplay.film
    defaults = type(film).model_fields
    changed = [name for name in ("fps", "resolution", "look", "negative", "seed", "title_cards", "render", "sound")
               if getattr(film, name) != defaults[name].get_default(call_default_factory=True)]
    if changed:
        lost.append("film settings: " + ", ".join(changed))
    for char in screenplay.characters:
        extra = [name for name in ("voice", "likeness", "references", "loras")
                 if getattr(char, name) != type(char).model_fields[name].get_default(call_default_factory=True)]
        if extra:
            lost.append(f"character {char.id}: " + ", ".join(extra))
    said = " ".join(b.action for s in screenplay.scenes for b in s.beats if isinstance(b, ActionBeat))
    unsaid = [c.id for c in screenplay.characters if c.description and c.description not in said]
    if unsaid:
        lost.append("descriptions that are not an introduction in the action: " + ", ".join(unsaid))
    speakers = {b.speaker for s in screenplay.scenes for b in s.beats if isinstance(b, DialogueBeat)}
    silent = [c.id for c in screenplay.characters if c.id not in speakers]
    if silent:
        lost.append("characters who never speak (a Fountain character is a cue): " + ", ".join(silent))
    if any(wrapped_in_parentheses(b.line) for s in screenplay.scenes for b in s.beats if isinstance(b, DialogueBeat)):
        lost.append("dialogue lines wholly in parentheses (Fountain reads them as parentheticals)")
    if any(loc.description or loc.references for loc in screenplay.locations):
        lost.append("location descriptions and references")
    if any(scene.music for scene in screenplay.scenes):
        lost.append("music cues")
    if any(scene.shots for scene in screenplay.scenes):
        lost.append("explicit shots")
    if any(getattr(b, "focus", None) or getattr(b, "id", None) for s in screenplay.scenes for b in s.beats):
        lost.append("beat ids and focus")
    return lost
