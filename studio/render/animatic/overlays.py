"""What the animatic draws over the picture: subtitles, title cards, labels, guides.

Every overlay is rendered once per shot into an RGB image and an ``L`` mask and
pasted onto frames (a fade only rescales the mask). Text is drawn with Pillow from
the plain string, so it renders literally: quotes, colons, percent signs, braces,
backslashes are just characters (nothing here goes near an ffmpeg filter).
Positions and sizes are pixels, derived from the frame height so they read the
same at 854x480 and 1920x1080; times are seconds from the shot's start.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from studio.fonts import font
from studio.render.animatic.palette import RGB, mix
from studio.render.plan import PlannedLine, ShotPlan

FILM_TITLE_SECONDS = 3.0
TITLE_CARD_SECONDS = 2.2
MAX_SUBTITLE_LINES = 3


@dataclass
class Overlay:
    """An RGB picture and its mask, pasted at ``pos`` (pixels, top-left)."""

    image: Image.Image
    mask: Image.Image
    pos: tuple[int, int]
    _faded: dict[int, Image.Image] = field(default_factory=dict, repr=False)

    def paste(self, frame: Image.Image, alpha: float = 1.0) -> None:
        """Composite onto ``frame`` (in place) at opacity ``alpha`` (0..1)."""
        if alpha <= 0:
            return
        mask = self.mask
        if alpha < 1:
            q = max(1, min(63, round(alpha * 64)))
            if q not in self._faded:
                self._faded[q] = self.mask.point([v * q // 64 for v in range(256)])
            mask = self._faded[q]
        frame.paste(self.image, self.pos, mask)


@dataclass
class Timed:
    """An overlay shown from ``start`` to ``end`` seconds, fading in and out."""

    start: float
    end: float
    overlay: Overlay
    fade_in: float = 0.0
    fade_out: float = 0.0

    def alpha(self, t: float) -> float:
        if t < self.start or t >= self.end:
            return 0.0
        a = 1.0
        if self.fade_in > 0:
            a = min(a, (t - self.start) / self.fade_in)
        if self.fade_out > 0:
            a = min(a, (self.end - t) / self.fade_out)
        return max(0.0, min(1.0, a))


def _overlay_from_rgba(img: Image.Image, pos: tuple[int, int]) -> Overlay:
    rgba = img if img.mode == "RGBA" else img.convert("RGBA")
    bbox = rgba.getchannel("A").getbbox()
    if bbox is None:
        bbox = (0, 0, 1, 1)
    rgba = rgba.crop(bbox)
    return Overlay(rgba.convert("RGB"), rgba.getchannel("A"), (pos[0] + bbox[0], pos[1] + bbox[1]))


def clean_text(text: str) -> str:
    """Whitespace (newlines, tabs) collapsed to single spaces, control characters dropped.
    Nothing else changes: the text renders literally."""
    out = []
    for ch in text:
        if ch.isspace():
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co"):
            continue
        else:
            out.append(ch)
    return " ".join("".join(out).split())


# --------------------------------------------------------------------------- wrapping

Run = tuple[str, object, RGB]  # text, font, colour


def _wrap(runs: list[Run], max_width: float) -> list[list[Run]]:
    """Greedy word wrap of styled runs into lines no wider than ``max_width`` pixels;
    a word wider than a line is broken between characters."""
    words: list[Run] = []
    for text, f, colour in runs:
        for w in text.split(" "):
            if w:
                words.append((w, f, colour))
    lines: list[list[Run]] = []
    line: list[Run] = []
    width = 0.0
    for w, f, colour in words:
        wl = f.getlength(w)  # type: ignore[attr-defined]
        space = f.getlength(" ") if line else 0.0  # type: ignore[attr-defined]
        if line and width + space + wl > max_width:
            lines.append(line)
            line, width, space = [], 0.0, 0.0
        if wl > max_width:  # break an over-long word
            piece = ""
            for ch in w:
                if f.getlength(piece + ch) > max_width and piece:  # type: ignore[attr-defined]
                    if line:
                        lines.append(line)
                    lines.append([(piece, f, colour)])
                    line, width, piece = [], 0.0, ""
                piece += ch
            w, wl = piece, f.getlength(piece)  # type: ignore[attr-defined]
            space = f.getlength(" ") if line else 0.0  # type: ignore[attr-defined]
        line.append((w, f, colour))
        width += space + wl
    if line:
        lines.append(line)
    return lines


def _balanced(runs: list[Run], max_width: float) -> list[list[Run]]:
    """The wrap of :func:`_wrap` with the same number of lines but as even as it can
    be (no lone last word)."""
    lines = _wrap(runs, max_width)
    if len(lines) < 2:
        return lines
    lo, hi = max_width * 0.3, max_width
    for _ in range(12):
        mid = (lo + hi) / 2
        if len(_wrap(runs, mid)) <= len(lines):
            hi = mid
        else:
            lo = mid
    return _wrap(runs, hi)


def _line_width(line: list[Run]) -> float:
    total = 0.0
    for i, (w, f, _) in enumerate(line):
        total += f.getlength(w) + (f.getlength(" ") if i else 0.0)  # type: ignore[attr-defined]
    return total


def _text_block(lines: list[list[Run]], size: int, box_alpha: int, frame_w: int, bottom: int) -> Overlay:
    """Centred lines on a rounded translucent box whose bottom edge is at ``bottom`` px."""
    line_h = round(size * 1.28)
    pad_x, pad_y = round(size * 0.6), round(size * 0.32)
    widths = [_line_width(line) for line in lines]
    bw = int(max(widths) + 2 * pad_x + 2)
    bh = line_h * len(lines) + 2 * pad_y
    img = Image.new("RGBA", (bw, bh), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, bw - 1, bh - 1), radius=round(size * 0.35), fill=(12, 12, 16, box_alpha))
    text_layer = Image.new("RGBA", (bw, bh), (0, 0, 0, 0))
    td = ImageDraw.Draw(text_layer)
    for i, (line, lw) in enumerate(zip(lines, widths)):
        x = (bw - lw) / 2
        y = pad_y + i * line_h + (line_h - size) / 2 - size * 0.08
        for j, (w, f, colour) in enumerate(line):
            if j:
                x += f.getlength(" ")  # type: ignore[attr-defined]
            # a soft drop shadow keeps letters crisp over bright frames
            td.text((x + 1, y + 1), w, font=f, fill=(0, 0, 0, 150))
            td.text((x, y), w, font=f, fill=(*colour, 255))
            x += f.getlength(w)  # type: ignore[attr-defined]
    img = Image.alpha_composite(img, text_layer)
    return _overlay_from_rgba(img, ((frame_w - bw) // 2, bottom - bh))


# --------------------------------------------------------------------------- subtitles


def subtitle_size(height: int) -> int:
    """Subtitle font size in pixels for a frame ``height`` pixels tall."""
    return max(12, round(height * 0.05))


def subtitle_pages(line: PlannedLine, width: int, height: int, prefix: str | None = None,
                   prefix_colour: RGB = (255, 214, 120)) -> list[Timed]:
    """A line's subtitles: at most three text lines on screen at once; a longer line
    is split into pages of two, each shown for its share of the characters."""
    size = subtitle_size(height)
    regular = font(size)
    bold = font(size, True)
    text = clean_text(line.text)
    runs: list[Run] = []
    if prefix:
        runs.append((prefix, bold, prefix_colour))
    if text:
        runs.append((text, regular, (250, 250, 246)))
    if not runs:
        return []
    lines = _wrap(runs, width * 0.8)
    if len(lines) <= MAX_SUBTITLE_LINES:
        pages = [_balanced(runs, width * 0.8)]
    else:
        pages = [lines[i:i + 2] for i in range(0, len(lines), 2)]
    weights = [sum(len(w) for ln in page for w, _, _ in ln) + 8 for page in pages]
    total = sum(weights)
    start, end = line.start, max(line.end, line.start + 1e-3)
    out: list[Timed] = []
    t = start
    bottom = height - round(height * 0.055)
    for page, weight in zip(pages, weights):
        dt = (end - start) * weight / total
        out.append(Timed(t, t + dt, _text_block(page, size, 170, width, bottom)))
        t += dt
    out[-1].end = end
    return out


# --------------------------------------------------------------------------- titles


def title_card(heading: str, width: int, height: int, start: float = 0.0) -> Timed:
    """A scene heading, top left, on a dark band with an amber rule, for ~2 s."""
    size = max(11, round(height * 0.042))
    f = font(size, True)
    text = clean_text(heading)
    while f.getlength(text) > width * 0.72 and size > 10:
        size -= 1
        f = font(size, True)
    pad = round(size * 0.55)
    tw = int(f.getlength(text))
    bw, bh = tw + 2 * pad + round(size * 0.35), size + 2 * pad
    img = Image.new("RGBA", (bw, bh), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, bw, bh), fill=(10, 10, 14, 175))
    d.rectangle((0, 0, max(2, round(size * 0.18)), bh), fill=(240, 180, 80, 255))
    layer = Image.new("RGBA", (bw, bh), (0, 0, 0, 0))
    ImageDraw.Draw(layer).text((pad + round(size * 0.35), pad - size * 0.1), text, font=f, fill=(248, 244, 236, 255))
    img = Image.alpha_composite(img, layer)
    pos = (round(width * 0.045), round(height * 0.065))
    return Timed(start, start + TITLE_CARD_SECONDS, _overlay_from_rgba(img, pos), 0.3, 0.4)


def film_title(title: str, width: int, height: int, credit: str = "") -> Timed:
    """The film's title over a darkened first shot, the ``credit`` ('Written by Ada
    Quill') under its rule, and a small "AI-generated animatic" label: the first ~3 s."""
    text = clean_text(title)
    size = max(16, round(height * 0.1))
    f = font(size, True)
    while f.getlength(text) > width * 0.84 and size > 12:
        size -= 2
        f = font(size, True)
    img = Image.new("RGBA", (width, height), (6, 6, 10, 150))
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    tw = f.getlength(text)
    x, y = (width - tw) / 2, height * 0.44 - size * 0.62
    d.text((x + 2, y + 2), text, font=f, fill=(0, 0, 0, 140))
    d.text((x, y), text, font=f, fill=(252, 246, 232, 255))
    rule_w = min(tw * 0.5, width * 0.3)
    ry = round(height * 0.44 + size * 0.62)
    d.rectangle(((width - rule_w) / 2, ry, (width + rule_w) / 2, ry + max(2, round(height * 0.005))),
                fill=(240, 180, 80, 255))
    if credit:
        byline = clean_text(credit)
        cf = font(max(10, round(size * 0.36)))
        while cf.getlength(byline) > width * 0.84 and cf.size > 9:
            cf = font(cf.size - 1)
        d.text(((width - cf.getlength(byline)) / 2, ry + size * 0.45), byline, font=cf, fill=(236, 230, 216, 240))
    small = font(max(9, round(height * 0.027)))
    label = "AI-generated animatic"
    lw = small.getlength(label)
    d.text((width - lw - round(width * 0.03), height - round(height * 0.03) - small.size), label, font=small,
           fill=(220, 220, 216, 200))
    img = Image.alpha_composite(img, layer)
    return Timed(0.0, FILM_TITLE_SECONDS, Overlay(img.convert("RGB"), img.getchannel("A"), (0, 0)), 0.45, 0.6)


def label_pill(text: str, width: int, height: int, top: int, caption: str = "INSERT") -> Overlay:
    """A small tag at the top right: ``CAPTION  text`` (an insert's object, a slate)."""
    size = max(10, round(height * 0.034))
    f = font(size)
    fb = font(size, True)
    text = clean_text(text)
    while f.getlength(text) + fb.getlength(caption) > width * 0.6 and len(text) > 4:
        text = text[:-2].rstrip() + "…" if not text.endswith("…") else text[:-2].rstrip() + "…"
    pad = round(size * 0.5)
    cw = fb.getlength(caption + "  ") if caption else 0
    bw = int(cw + f.getlength(text) + 2 * pad)
    bh = size + 2 * pad
    img = Image.new("RGBA", (bw, bh), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, bw - 1, bh - 1), radius=bh // 2, fill=(10, 10, 14, 170))
    layer = Image.new("RGBA", (bw, bh), (0, 0, 0, 0))
    ld = ImageDraw.Draw(layer)
    if caption:
        ld.text((pad, pad - size * 0.1), caption, font=fb, fill=(240, 180, 80, 255))
    ld.text((pad + cw, pad - size * 0.1), text, font=f, fill=(246, 244, 238, 255))
    img = Image.alpha_composite(img, layer)
    return _overlay_from_rgba(img, (width - bw - round(width * 0.035), top))


@lru_cache(maxsize=4)
def vignette(width: int, height: int, strength: float = 0.55) -> Overlay:
    """A dark oval vignette (a point-of-view shot's eye line)."""
    sx, sy = max(2, width // 8), max(2, height // 8)
    x = (np.arange(sx) + 0.5) / sx * 2 - 1
    y = (np.arange(sy) + 0.5) / sy * 2 - 1
    d = np.sqrt(x[None, :] ** 2 + y[:, None] ** 2) / np.sqrt(2)
    a = np.clip((d - 0.45) / 0.55, 0, 1) ** 1.6 * strength
    mask = Image.fromarray((a * 255).astype(np.uint8)).resize((width, height), Image.BILINEAR)
    return Overlay(Image.new("RGB", (width, height), (0, 0, 0)), mask, (0, 0))


def guides(width: int, height: int) -> Overlay:
    """Action-safe (93%) and title-safe (90%... 80%) frames and rule-of-thirds lines."""
    img = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    lw = max(1, round(height / 480))
    for inset, colour in ((0.035, (120, 220, 255, 150)), (0.1, (255, 220, 120, 150))):
        d.rectangle((width * inset, height * inset, width * (1 - inset), height * (1 - inset)), outline=colour,
                    width=lw)
    for k in (1, 2):
        d.line((width * k / 3, 0, width * k / 3, height), fill=(255, 255, 255, 60), width=lw)
        d.line((0, height * k / 3, width, height * k / 3), fill=(255, 255, 255, 60), width=lw)
    return Overlay(img.convert("RGB"), img.getchannel("A"), (0, 0))


def speaker_prefix(plan: ShotPlan, line: PlannedLine, on_screen: frozenset[str]) -> str | None:
    """"NAME (V.O.)" for an off-screen line, "NAME (O.S.)" for a present speaker the
    frame doesn't show, None when we see them speak."""
    if line.off_screen:
        return f"{clean_text(line.speaker_name).upper()} (V.O.)"
    if line.speaker not in on_screen:
        return f"{clean_text(line.speaker_name).upper()} (O.S.)"
    return None


def prefix_colour(accent: RGB) -> RGB:
    """A character's colour made light enough to read on the dark subtitle box."""
    return mix(accent, (255, 255, 255), 0.45)
