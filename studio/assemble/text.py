"""What user text may become in each file format the studio writes.

One rule: a writer passes every piece of user text through its format's function here,
in one place, and then applies the format's own escaping. Each function removes what
the format cannot hold or would read as its own syntax:

* subtitles (SRT, WebVTT): one line (a line break, let alone a blank line, would end
  or forge a cue), no control characters, no ``-->``; an empty result means no cue;
* EDL (CMX 3600): one line, no control characters (a line break forges an event);
* FCP XML: one line, and no character XML 1.0 cannot hold (most C0 controls, U+FFFE,
  U+FFFF, lone surrogates), which end the writer with an ExpatError;
* OpenTimelineIO (JSON): any text but NUL (OTIO's strings end at it) and the other
  control characters bar tab and line feed;
* MP4 tags (through FFMETADATA, which escapes line breaks): no NUL (it truncates the
  tag) nor other control characters.

Whitespace of every kind (tabs, vertical tabs, form feeds, U+2028/2029, NEL) counts
as a line break and becomes one space.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def _visible(ch: str) -> bool:
    category = unicodedata.category(ch)
    # Cc: C0/C1 controls; Cs: lone surrogates; Cn noncharacters such as U+FFFE/U+FFFF
    if category in ("Cc", "Cs"):
        return False
    return not (0xFDD0 <= ord(ch) <= 0xFDEF or (ord(ch) & 0xFFFE) == 0xFFFE)


def one_line(text: str) -> str:
    """``text`` on one line: every run of whitespace one space, control characters
    dropped, no leading or trailing space."""
    kept = "".join(" " if ch.isspace() else ch for ch in text if ch.isspace() or _visible(ch))
    return _SPACES.sub(" ", kept).strip()


def subtitle_text(text: str) -> str:
    """Text for an SRT or WebVTT cue (before WebVTT's own ``&<>`` escaping)."""
    return one_line(text).replace("-->", "→")


def edl_text(text: str) -> str:
    """Text for a CMX 3600 EDL title, clip name or comment."""
    return one_line(text)


_XML_OK = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """Text for an XML 1.0 element or attribute (before the writer's ``&<>`` escaping)."""
    return _XML_OK.sub("", one_line(text))


def otio_text(text: str) -> str:
    """Text for an OpenTimelineIO name or metadata value: line breaks kept."""
    return "".join(ch for ch in text if ch in "\t\n" or _visible(ch))


def mp4_tag(text: str) -> str:
    """Text for an MP4 metadata tag or chapter title (before FFMETADATA escaping, which
    keeps line breaks): no NUL, no other control characters."""
    return otio_text(text).strip()
