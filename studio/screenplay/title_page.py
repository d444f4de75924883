"""The screenplay's title page as the film's credits: the words under the opening
title and the file's metadata tags.

A title page is free (Credit, Author, Source, Draft date, Contact, ...); only what a
viewer should see or a player should show is taken, as written."""

from __future__ import annotations

from collections.abc import Mapping

_AUTHOR_KEYS = ("author", "authors", "written by")


def _field(title_page: Mapping[str, str], *keys: str) -> str:
    lowered = {k.strip().lower(): v for k, v in title_page.items()}
    return next((" ".join(lowered[k].split()) for k in keys if lowered.get(k, "").strip()), "")


def opening_credit(title_page: Mapping[str, str]) -> str:
    """The line under the film's title: 'Written by Ada Quill' (the Credit, then the
    Author), 'by Ada Quill' with no Credit, '' with no Author."""
    author = _field(title_page, *_AUTHOR_KEYS)
    if not author:
        return ""
    credit = _field(title_page, "credit") or "by"
    return f"{credit} {author}"


def credit_tags(title_page: Mapping[str, str]) -> dict[str, str]:
    """MP4 tags from the title page: artist (the author), copyright, and the source in the
    synopsis tag ('Based on ...')."""
    tags = {"artist": _field(title_page, *_AUTHOR_KEYS), "copyright": _field(title_page, "copyright"),
            "synopsis": _field(title_page, "source", "based on")}
    return {k: v for k, v in tags.items() if v}
