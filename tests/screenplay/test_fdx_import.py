"""Final Draft (.fdx) import: every element of the fixture, and hostile XML refused in
well under a second with a clear message, nothing read from disk or network."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.errors import ScreenplayError
from studio.screenplay import load_screenplay
from studio.screenplay.fdx_import import MAX_DEPTH, import_fdx, read_fdx
from studio.screenplay.safe_yaml import MAX_BYTES

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
FDX = HERE / "fixtures" / "river-years.fdx"


def data() -> dict[str, Any]:
    return import_fdx(FDX.read_bytes(), str(FDX)).data


def test_the_fixture_imports_every_element():
    d = data()
    assert d["film"] == {"title": "The River Years", "title_page": {
        "Credit": "Written by", "Author": "Ada Quill", "Draft date": "Draft of 2 December 2026",
        "Contact": "ada@example.com"}}
    chars = {c["id"]: c["description"] for c in d["characters"]}
    # the introduction spread over styled <Text> runs still reads as one sentence
    assert chars["will"] == "age 3, listens wide-eyed from his bed"
    assert chars["edward"] == "40's and handsome, sits on the edge of it"
    scenes = {s["id"]: s for s in d["scenes"]}
    assert list(scenes) == ["opening", "s1", "s2", "s3"]  # a cold open, then the numbered scenes
    assert scenes["opening"]["beats"] == [{"action": "A river at first light. No one in sight."}]
    assert scenes["s1"]["period"] == "1973" and scenes["s3"]["period"] == "1977"
    assert scenes["s2"]["continues"] is True
    talk = [b for b in scenes["s1"]["beats"] if "speaker" in b]
    assert talk[:2] == [
        {"speaker": "edward", "line": "The biggest fish in the river."},
        {"speaker": "edward", "line": "Nobody could catch it & nobody tried.", "parenthetical": "leaning in"},
    ]
    assert talk[3:6] == [  # a joint cue, then an off-screen line
        {"speaker": "edward", "line": "Not even you!"},
        {"speaker": "will", "line": "Not even you!", "overlaps": True},
        {"speaker": "sandra", "line": "Lights out, you two.", "extension": "O.S."},
    ]
    beats = scenes["s2"]["beats"]
    assert beats[-3:] == [  # <DualDialogue>: the second speech is spoken over the first
        {"speaker": "sandra", "line": "It gets bigger."},
        {"speaker": "will", "line": "It gets bigger!", "overlaps": True},
        {"transition": "CUT TO:"},
    ]
    assert scenes["s3"]["beats"][0] == {"action": "ANGLE ON the trees."}  # a Shot paragraph is action
    assert scenes["s3"]["beats"][-1] == {"transition": "FADE OUT."}


def test_check_and_import_read_fdx_files(tmp_path: Path):
    screenplay = load_screenplay(FDX)
    assert screenplay.film.title == "The River Years" and len(screenplay.scenes) == 4
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "studio", "import", str(FDX), "-o", str(tmp_path / "r.yaml")],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert load_screenplay(tmp_path / "r.yaml").model_dump() == screenplay.model_dump()


def test_a_validation_problem_points_at_the_fdx_line():
    imported = import_fdx(FDX.read_bytes(), str(FDX))
    assert imported.source.locate(("scenes", 1)) == (7, 1)  # <Paragraph Number="1" Type="Scene Heading">


SECRET = "TOP-SECRET-CONTENT-OF-A-LOCAL-FILE"


def _importing_the_fixture(times: int) -> float:
    """CPU seconds to import the 3 KB fixture `times` times: what "quickly" is measured against, in the same
    test, rather than a fixed number of seconds that a loaded machine could pass."""
    raw = FDX.read_bytes()
    started = time.process_time()
    for _ in range(times):
        import_fdx(raw, str(FDX))
    return time.process_time() - started


def _hostile(tmp_path: Path) -> dict[str, bytes]:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    laughs = "".join(f'<!ENTITY lol{i} "{"".join(f"&lol{i - 1};" for _ in range(10))}">' for i in range(1, 10))
    body = '<Content><Paragraph Type="Action"><Text>{}</Text></Paragraph></Content>'
    return {
        "billion laughs": (f'<?xml version="1.0"?><!DOCTYPE FinalDraft [<!ENTITY lol0 "lol">{laughs}]>'
                           f'<FinalDraft>{body.format("&lol9;")}</FinalDraft>').encode(),
        "external entity": (f'<?xml version="1.0"?><!DOCTYPE FinalDraft [<!ENTITY x SYSTEM "file://{secret}">]>'
                            f'<FinalDraft>{body.format("&x;")}</FinalDraft>').encode(),
        "external DTD": (f'<?xml version="1.0"?><!DOCTYPE FinalDraft SYSTEM "file://{secret}">'
                         f'<FinalDraft>{body.format("hi")}</FinalDraft>').encode(),
        "network DTD": (b'<?xml version="1.0"?><!DOCTYPE FinalDraft SYSTEM "http://203.0.113.1/x.dtd">'
                        b'<FinalDraft><Content/></FinalDraft>'),
        "deep nesting": b"<FinalDraft>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</FinalDraft>",
        "random bytes": os.urandom(1 << 20),
        "not xml": b"INT. HOUSE - DAY\n\nThis is Fountain.\n",
        "html": b"<html><body><p>hello</p></body></html>",
        "truncated": FDX.read_bytes()[:700],
    }


@pytest.mark.parametrize("case, message", [
    ("billion laughs", "document type declaration"),
    ("external entity", "document type declaration"),
    ("external DTD", "document type declaration"),
    ("network DTD", "document type declaration"),
    ("deep nesting", f"nest more than {MAX_DEPTH} deep"),
    ("random bytes", "not Final Draft XML"),
    ("not xml", "not Final Draft XML"),
    ("html", "not <FinalDraft>"),
    ("truncated", "not Final Draft XML"),
])
def test_hostile_xml_is_refused_quickly_and_clearly(tmp_path: Path, case: str, message: str):
    raw = _hostile(tmp_path)[case]
    reference = _importing_the_fixture(times=20)
    started = time.process_time()
    with pytest.raises(ScreenplayError) as caught:
        import_fdx(raw, "hostile.fdx")
    assert time.process_time() - started < 5 * reference  # well under 1 ms here, the reference ~20 ms
    text = str(caught.value)
    assert message in text and "hostile.fdx" in text
    assert SECRET not in text


def test_fifty_megabytes_are_refused_before_reading_them_all(tmp_path: Path):
    big = tmp_path / "big.fdx"
    with big.open("wb") as f:
        f.write(b'<?xml version="1.0"?><FinalDraft><Content>')
        f.truncate(50 * 1024 * 1024)
    reference = _importing_the_fixture(times=20)
    started = time.process_time()
    with pytest.raises(ScreenplayError) as caught:
        read_fdx(big)
    assert time.process_time() - started < 5 * reference
    assert f"over the {MAX_BYTES} byte limit" in str(caught.value)
    with pytest.raises(ScreenplayError):
        import_fdx(big.read_bytes(), "big.fdx")


def test_the_cli_refuses_hostile_xml_without_a_traceback(tmp_path: Path):
    path = tmp_path / "laughs.fdx"
    path.write_bytes(_hostile(tmp_path)["billion laughs"])
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "200"}
    for command in (["import", str(path)], ["check", str(path)]):
        done = subprocess.run([sys.executable, "-m", "studio", *command], capture_output=True, text=True, env=env)
        assert done.returncode != 0
        assert "document type declaration" in done.stdout + done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "laughs.yaml").exists()


def test_too_many_scenes_are_refused_before_the_work_that_grows_with_them():
    para = ('<Paragraph Type="Scene Heading"><Text>INT. ROOM {} - DAY</Text></Paragraph>'
            '<Paragraph Type="Action"><Text>Something happens.</Text></Paragraph>')
    raw = ('<?xml version="1.0"?><FinalDraft><Content>' + "".join(para.format(i) for i in range(40_000))
           + "</Content></FinalDraft>").encode()
    started = time.process_time()
    with pytest.raises(ScreenplayError) as caught:
        import_fdx(raw, "long.fdx")
    assert time.process_time() - started < 2.0
    assert "40000 scene headings, over the 5000" in str(caught.value)

def test_more_paragraphs_than_a_screenplay_holds_are_refused():
    para = '<Paragraph Type="Action"><Text>X</Text></Paragraph>'
    raw = ('<?xml version="1.0"?><FinalDraft><Content><Paragraph Type="Scene Heading"><Text>INT. A - DAY</Text>'
           "</Paragraph>" + para * 160_000 + "</Content></FinalDraft>").encode()
    with pytest.raises(ScreenplayError) as caught:
        import_fdx(raw, "long.fdx")
    assert "160001 paragraphs with text, over the 20000" in str(caught.value)
    imported = import_fdx(raw[: raw.index(para.encode()) + len(para) * 19_999] + b"</Content></FinalDraft>", "ok.fdx")
    assert len(imported.data["scenes"][0]["beats"]) == 19_999


_FIXTURE_BYTES = FDX.read_bytes()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(_FIXTURE_BYTES) - 1), st.binary(min_size=0, max_size=8)), max_size=6),
       st.integers(0, len(_FIXTURE_BYTES)))
def test_mutated_final_draft_files_are_read_or_refused_never_crash(edits: list[tuple[int, bytes]], cut: int):
    from studio.screenplay.validate import validate

    raw = bytearray(_FIXTURE_BYTES[:max(cut, 1)] if cut < 200 else _FIXTURE_BYTES)
    for at, new in edits:
        raw[at:at + len(new)] = new
    try:
        imported = import_fdx(bytes(raw), "mutated.fdx")
    except ScreenplayError:
        return
    validate(imported.data, imported.source)  # what imports always validates


def test_an_unknown_encoding_in_the_declaration_is_refused_not_a_crash() -> None:
    # found by the mutation test above: expat asks Python for the codec, which raises LookupError
    from studio.screenplay.fdx_import import read_paragraphs

    with pytest.raises(ScreenplayError, match="unknown encoding"):
        read_paragraphs(b'<?xml version="1.0" encoding="aTF-8"?><FinalDraft></FinalDraft>', "mutated.fdx")
