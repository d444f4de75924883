"""The screenplay format as JSON Schema, generated from the models.

Published at ``schema/screenplay.schema.json`` so editors (VS Code's YAML extension,
JetBrains) validate and autocomplete screenplays: put
``# yaml-language-server: $schema=<path or URL>/screenplay.schema.json`` at the top.
A test keeps the published file equal to what the models generate.
"""

from __future__ import annotations

import json
from typing import Any

from studio.screenplay.model import FORMAT_VERSION, Screenplay

SCHEMA_ID = "https://github.com/studio-film/studio/schema/screenplay.schema.json"


def screenplay_schema() -> dict[str, Any]:
    schema = Screenplay.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"studio screenplay, format version {FORMAT_VERSION}",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def schema_text() -> str:
    return json.dumps(screenplay_schema(), indent=2, ensure_ascii=False) + "\n"
