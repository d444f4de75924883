"""The published JSON Schema is what the models generate, and it accepts our films."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from studio.screenplay.schema import schema_text, screenplay_schema

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "schema" / "screenplay.schema.json"
FILMS = sorted((ROOT / "screenplays").glob("*.yaml")) + sorted((ROOT / "templates").glob("*.yaml"))


def test_published_schema_is_current():
    assert PUBLISHED.read_text(encoding="utf-8") == schema_text(), (
        "schema/screenplay.schema.json is stale: run `studio schema -o schema/screenplay.schema.json`"
    )


@pytest.mark.parametrize("path", FILMS, ids=lambda p: p.name)
def test_schema_accepts_every_shipped_screenplay(path: Path):
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), screenplay_schema())


def test_schema_rejects_unknown_keys_and_bad_enums():
    film = yaml.safe_load(FILMS[0].read_text(encoding="utf-8"))
    film["film"]["fpss"] = 24
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(film, screenplay_schema())
    film = yaml.safe_load(FILMS[0].read_text(encoding="utf-8"))
    film["scenes"][0]["time"] = "teatime"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(film, screenplay_schema())


def test_schema_is_valid_json_schema():
    schema = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["version"]["const"] == 1
