"""Benchmark: faces and identity QA.

Measures on this machine: loading dlib's models, detecting and embedding the face of
scikit-image's astronaut photo, enrolling it as a likeness, then rendering the example
film with Mara cast to it (animatic, no sound) and the identity QA of every shot: its
cost and the face distance per shot that frames Mara.

    python bench/identity.py [--resolution 426x240] [--no-write]

Prints a table and writes its section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import record
from bench.record import machine

MARK = "identity"


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    """Median milliseconds of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1), result


def run(resolution: str) -> dict:
    from PIL import Image
    from skimage import data

    from studio.consistency import faces
    from studio.consistency.cast import apply_cast
    from studio.consistency.likeness import LikenessStore
    from studio.consistency.qa import framed
    from studio.run.local import render_film
    from studio.screenplay import load_screenplay

    out: dict = {"resolution": resolution}
    started = time.perf_counter()
    faces._models()
    out["load_ms"] = round((time.perf_counter() - started) * 1000)
    photo = data.astronaut()
    out["detect0_ms"], found = timed(lambda: faces.detect(photo, upsample=0))
    out["detect1_ms"], _ = timed(lambda: faces.detect(photo, upsample=1))
    face = found[0]  # type: ignore[index]
    out["embed_ms"], _ = timed(lambda: faces.embed(photo, face))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        Image.fromarray(photo).save(root / "astronaut.jpg", quality=92)
        store = LikenessStore(root / "likenesses")
        started = time.perf_counter()
        store.add("astro", [root / "astronaut.jpg"], "I agree (benchmark).")
        out["enrol_ms"] = round((time.perf_counter() - started) * 1000)
        import os

        os.environ["STUDIO_LIKENESSES"] = str(store.root)
        sp = load_screenplay(ROOT / "screenplays" / "the-last-lamp.yaml")
        sp = sp.model_copy(update={"film": sp.film.model_copy(update={"resolution": resolution, "fps": 12})})
        plain = render_film(sp, root / "out-plain", cache_dir=root / "cache-plain", name="lamp", audio=False)
        out["render_plain_s"] = plain.report["wall_seconds"]
        result = render_film(apply_cast(sp, {"mara": "astro"}), root / "out", cache_dir=root / "cache",
                             name="lamp", audio=False)
        qa = result.report["identity_qa"]
        out["render_s"] = result.report["wall_seconds"]
        out["qa_s"] = round(sum(c["seconds"] for c in qa.values()), 2)
        out["qa_shots"] = len(qa)
        out["distances"] = {p.shot_id: (p.size, next(c["distance"] for c in qa[p.shot_id]["characters"]
                                                    if c["character_id"] == "mara"))
                            for p in result.plans if "mara" in framed(p)}
        from studio.consistency.qa import decode_frames

        plan, clip = next((p, c) for p, c in zip(result.plans, result.clips) if "mara" in framed(p))
        frame = decode_frames(clip.path, [clip.frames // 2], plan.width, plan.height)[0]
        out["detect_frame_ms"], _ = timed(lambda: faces.detect(frame, upsample=1, min_score=0.0))
    return out


def table(r: dict) -> str:
    rows = [
        ("load dlib's models", f"{r['load_ms']} ms", "once per process"),
        ("detect, astronaut 512x512, upsample 0", f"{r['detect0_ms']} ms", "median of 5"),
        ("detect, astronaut 512x512, upsample 1", f"{r['detect1_ms']} ms", "what enrolment uses"),
        ("128-D embedding of one face", f"{r['embed_ms']} ms", "5-point alignment + ResNet"),
        ("enrol one photo (`studio likeness add`)", f"{r['enrol_ms']} ms", "read, detect, embed, crop, write"),
        (f"detect in one {r['resolution']} frame, upsample 1", f"{r['detect_frame_ms']} ms", "what QA does per frame"),
        (f"render the example film, nobody cast, {r['resolution']}", f"{r['render_plain_s']} s",
         "animatic, no sound: the baseline"),
        (f"render the example film, Mara cast, {r['resolution']}", f"{r['render_s']} s", "animatic, no sound"),
        ("of which identity QA", f"{r['qa_s']} s", f"{r['qa_shots']} shots, 3 frames each"),
    ]
    lines = ["| step | time | notes |", "| --- | ---: | --- |"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    lines += ["", "| shot framing Mara | size | face distance |", "| --- | --- | ---: |"]
    lines += [f"| {sid} | {size} | {d} |" for sid, (size, d) in r["distances"].items()]
    return "\n".join(lines)


def write_section(r: dict, command: str) -> None:
    record.write_section(MARK, f"<!-- {MARK} -->\n## Faces and identity QA (`bench/identity.py`)\n\n"
                         f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, {machine()}. Command: `{command}`.\n\n"
                         f"{table(r)}\n<!-- /{MARK} -->")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", default="426x240")
    parser.add_argument("--no-write", action="store_true", help="Do not update BENCHMARKS.md.")
    args = parser.parse_args()
    result = run(args.resolution)
    print(table(result))
    if not args.no_write:
        write_section(result, "python bench/identity.py" + (f" --resolution {args.resolution}"
                                                             if args.resolution != "426x240" else ""))


if __name__ == "__main__":
    main()
