"""Write a generated feature-length screenplay as Fountain.

The screenplay comes from ``bench/generate_feature.py`` (same arguments, same film);
this module only writes it the way a screenwriter's Fountain file looks: a title page,
act sections with synopses, numbered scene headings (``CONTINUOUS``/``LATER`` where the
clock does not move), each speaking character introduced by convention before their
first line ("SAM, a paramedic in his sixties, ...": every tenth one is left without an
introduction, as minor parts often are), action wrapped at 60 columns, character cues with their
extensions, parentheticals, dialogue wrapped at 35 columns, transitions, and now and
then a note and a boneyard passage (which the importer drops). Music cues and explicit
shots have no Fountain form and are left out.

Deterministic: the same arguments always give the same bytes.

Usage::

    python bench/generate_fountain.py -o feature.fountain --minutes 90 --seed 0 [--characters 30]
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.generate_feature import generate_feature

ACTION_WIDTH = 60
DIALOGUE_WIDTH = 35
ACTS = ((0.0, "ACT ONE"), (0.25, "ACT TWO"), (0.75, "ACT THREE"))
SAME_CLOCK = ("CONTINUOUS", "LATER", "MOMENTS LATER")


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [text]


def _heading(scene: dict[str, Any], number: int, previous: dict[str, Any] | None) -> str:
    heading = scene["heading"]  # 'INT. KITCHEN - NIGHT', as generate_feature writes it
    if previous is not None and previous["time"] == scene["time"] and number % 3 == 0:
        place = heading.rsplit(" - ", 1)[0]
        heading = f"{place} - {SAME_CLOCK[number % len(SAME_CLOCK)]}"
    return f"{heading} #{number}#"


def to_fountain(data: dict[str, Any], *, author: str = "the studio bench generator") -> str:
    """A screenplay's data (as ``generate_feature`` makes it) as Fountain text."""
    names = {c["id"]: c["name"].upper() for c in data["characters"]}
    scenes = data["scenes"]
    out: list[str] = [
        f"Title: {data['film']['title']}",
        "Credit: Written by",
        f"Author: {author}",
        f"Draft date: seed {data['film'].get('seed', 0)}",
        "",
        "FADE IN:",
        "",
    ]
    acts = {round(share * len(scenes)): name for share, name in ACTS}
    introduced: set[str] = set()
    described = {c["id"]: c.get("description", "") for k, c in enumerate(data["characters"]) if k % 10 != 9}
    for i, scene in enumerate(scenes):
        if i in acts:
            out += [f"# {acts[i]}", "", f"= {len(scenes)} scenes in all; this act opens at scene {i + 1}.", ""]
        out += [_heading(scene, i + 1, scenes[i - 1] if i else None), ""]
        if i % 10 == 4:
            out += [f"= Scene {i + 1}: {scene['heading'].split('. ', 1)[-1].title()}.", ""]
        for k, beat in enumerate(scene["beats"]):
            if "action" in beat:
                lines = _wrap(beat["action"], ACTION_WIDTH)
                if i % 20 == 7 and k == 0:
                    lines[-1] += " [[check the continuity of the props here]]"
                out += lines + [""]
            elif "speaker" in beat:
                if beat["speaker"] not in introduced:
                    introduced.add(beat["speaker"])
                    if described.get(beat["speaker"]):
                        out += _wrap(f"{names[beat['speaker']]}, {described[beat['speaker']]}.", ACTION_WIDTH) + [""]
                cue = names[beat["speaker"]]
                if beat.get("extension"):
                    cue += f" ({beat['extension']})"
                out.append(cue)
                if beat.get("parenthetical"):
                    out.append(f"({beat['parenthetical']})")
                out += _wrap(beat["line"], DIALOGUE_WIDTH) + [""]
            elif "transition" in beat:
                text = beat["transition"]
                out += [text if text.endswith("TO:") else f"> {text}", ""]
        if i % 25 == 12:
            out += ["/*", "A cut exchange, kept in the boneyard:", "", "NOBODY", "This line was cut.", "*/", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def write_fountain(path: str | Path, **kw: Any) -> dict[str, Any]:
    """Generate (``generate_feature(**kw)``) and write the screenplay as Fountain; return the data."""
    data = generate_feature(**kw)
    Path(path).write_text(to_fountain(data), encoding="utf-8")
    return data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", required=True, help="where to write the Fountain file ('-' for stdout)")
    parser.add_argument("--minutes", type=float, default=90, help="running time (default 90)")
    parser.add_argument("--scenes", type=int, default=None, help="scene count (default minutes * 4/3)")
    parser.add_argument("--characters", type=int, default=30, help="number of characters (default 30)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    data = generate_feature(minutes=args.minutes, scenes=args.scenes, characters=args.characters, seed=args.seed)
    text = to_fountain(data)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
    lines = text.count("\n")
    print(f"{args.output}: {len(data['scenes'])} scenes, {len(data['characters'])} characters, {lines} lines "
          f"(~{lines / 55:.0f} pages of 55 lines) ({time.perf_counter() - start:.2f} s)",
          file=sys.stderr if args.output == "-" else sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
