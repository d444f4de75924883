"""Assembling the cut: clips joined by stream copy, the mixed audio muxed in, chapters
at scene starts and the film's metadata (title, an AI-generated label, the tool).

The concat list sits at the cache root and names clips by relative paths made of
hex digits, dots and slashes only, so ffmpeg's ``safe=1`` mode accepts it; nothing
the user wrote ever reaches ffmpeg except through the escaped FFMETADATA file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio import __version__
from studio.assemble.ffmpeg import escape_ffmetadata, run_ffmpeg
from studio.assemble.text import mp4_tag
from studio.atomic import atomic_output, write_text
from studio.render.plan import canonical_hash

AI_LABEL = "AI-generated"


@dataclass(frozen=True)
class Chapter:
    title: str
    start: float  # seconds
    end: float


def film_metadata(title: str, backend: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    label = f"{AI_LABEL}: made with studio {__version__} ({backend} backend)"
    meta = {
        "title": title,
        "comment": label,
        "description": label,
        "encoded_by": f"studio {__version__}",
    }
    meta.update(extra or {})
    return meta


def ffmetadata(metadata: dict[str, str], chapters: list[Chapter]) -> str:
    lines = [";FFMETADATA1"]
    for key, value in metadata.items():
        lines.append(f"{escape_ffmetadata(mp4_tag(key))}={escape_ffmetadata(mp4_tag(value))}")
    for chapter in chapters:
        lines += [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={round(chapter.start * 1000)}",
            f"END={round(chapter.end * 1000)}",
            f"title={escape_ffmetadata(mp4_tag(chapter.title))}",
        ]
    return "\n".join(lines) + "\n"


def silent_track(cache_root: Path, seconds: float) -> Path:
    """A silent stereo AAC track ``seconds`` long, encoded once and kept in the cache (a
    film without sound still has an audio stream, and the cut then muxes it by copy)."""
    path = cache_root / "silence" / f"silence-{round(seconds * 1000)}ms.m4a"
    if not path.is_file():
        with atomic_output(path) as tmp:
            run_ffmpeg(["-f", "lavfi", "-t", f"{seconds:.6f}", "-i", "anullsrc=r=48000:cl=stereo",
                        "-c:a", "aac", "-b:a", "192k", "-fflags", "+bitexact", "-flags:a", "+bitexact",
                        "-f", "mp4", str(tmp)], what="making a silent sound track")
    return path


def concat_list(clips: list[Path], cache_root: Path) -> Path:
    """Write the concat demuxer's list at the cache root; return its path."""
    rels = [c.resolve().relative_to(cache_root.resolve()).as_posix() for c in clips]
    for rel in rels:
        if not all(ch.isalnum() or ch in "._-/" for ch in rel) or any(p.startswith(".") for p in rel.split("/")):
            raise ValueError(f"unsafe clip path for the concat list: {rel}")
    text = "ffconcat version 1.0\n" + "".join(f"file {rel}\n" for rel in rels)
    path = cache_root / f"cut-{canonical_hash(rels)[:16]}.txt"
    write_text(path, text)
    return path


def assemble_cut(clips: list[Path], cache_root: Path, audio: Path | None, output: Path, *,
                 seconds: float, metadata: dict[str, str], chapters: list[Chapter]) -> Path:
    """Join ``clips`` (stream copy), mux ``audio`` (an ``.m4a`` is copied as it is, other
    files are encoded to AAC; silence when None), add chapters and metadata.
    ``seconds`` is the film's length."""
    listing = concat_list(clips, cache_root)
    sound = ["-i", str(audio)] if audio else [
        # a constant source: numbers only, never user text
        "-f", "lavfi", "-t", f"{seconds:.6f}", "-i", "anullsrc=r=48000:cl=stereo",
    ]
    meta = output.with_name(f".{output.stem}.ffmetadata.txt")
    write_text(meta, ffmetadata(metadata, chapters))
    try:
        with atomic_output(output) as tmp:
            run_ffmpeg(
                [
                    "-f", "concat", "-safe", "1", "-i", str(listing),
                    *sound,
                    "-f", "ffmetadata", "-i", str(meta),
                    "-map", "0:v:0", "-map", "1:a:0", "-map_metadata", "2", "-map_chapters", "2",
                    "-c:v", "copy",
                    *(["-c:a", "copy"] if audio is not None and audio.suffix == ".m4a"
                      else ["-c:a", "aac", "-b:a", "192k", "-ar", "48000"]),
                    "-movflags", "+faststart", "-fflags", "+bitexact", "-flags:a", "+bitexact",
                    "-f", "mp4", str(tmp),
                ],
                what=f"assembling {output.name}",
            )
    finally:
        meta.unlink(missing_ok=True)
        listing.unlink(missing_ok=True)
    return output
