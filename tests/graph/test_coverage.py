"""The coverage planner: a director's first shot list."""

from __future__ import annotations

from studio.graph.coverage import plan_shots
from studio.graph.shots import LINE_LEAD_IN, LINE_TAIL, speech_seconds
from studio.screenplay import load_screenplay, parse_screenplay
from tests.conftest import MINIMAL

EXCHANGE = """\
version: 1
film: {title: Exchange}
characters:
  - {id: ana, name: Ana Ruiz, description: green coat}
  - {id: ben, name: Ben, description: brown cardigan}
locations:
  - {id: kitchen, name: Kitchen, interior: true}
  - {id: street, name: Street, interior: false}
scenes:
  - id: s1
    location: kitchen
    characters: [ana, ben]
    beats:
      - action: The kettle screams on the stove.
      - {speaker: ben, line: "You waited up."}
      - {speaker: ana, line: "Somebody had to. The whole street was dark, and you weren't answering."}
      - {speaker: ben, line: "The phone died.", parenthetical: beat}
      - {speaker: ana, line: "It always dies.", parenthetical: whispering}
      - {speaker: ben, line: "Not this time. This time I threw it in the river."}
      - {speaker: ben, line: "Along with the car keys."}
      - {speaker: ana, line: "Why?"}
      - action: Ana picks up the letter from the table.
        focus: the letter
  - id: s2
    location: kitchen
    characters: [ana]
    beats:
      - action: Ana walks to the window.
  - id: s3
    location: street
    characters: [ben]
    beats:
      - {speaker: ben, line: "Nobody here but me."}
"""


def exchange():
    screenplay = parse_screenplay(EXCHANGE, "exchange.yaml")
    return screenplay, plan_shots(screenplay)


def test_every_dialogue_line_belongs_to_exactly_one_shot():
    screenplay, shots = exchange()
    dialogue = [(scene.id, n) for scene in screenplay.scenes for n, b in enumerate(scene.beats, 1)
                if hasattr(b, "speaker")]
    carried = [(s.scene, line.beat) for s in shots for line in s.lines]
    assert sorted(carried) == sorted(dialogue)
    assert len(carried) == len(set(carried))


def test_shot_reverse_shot_alternates_speakers():
    _, shots = exchange()
    s1 = [s for s in shots if s.scene == "s1" and s.lines]
    speakers = [s.speakers for s in s1]
    assert all(len(sp) == 1 for sp in speakers)
    assert all(a != b for a, b in zip(speakers, speakers[1:])), speakers
    # the first time each side speaks: over the shoulder; afterwards: close-ups
    assert [s.size for s in s1[:2]] == ["over-the-shoulder", "over-the-shoulder"]
    assert all(s.size == "close-up" for s in s1[2:])
    # an over-the-shoulder is on the speaker, over the listener
    assert s1[0].subjects == ("ben", "ana") and s1[1].subjects == ("ana", "ben")


def test_consecutive_lines_of_one_speaker_share_a_shot():
    _, shots = exchange()
    (both,) = [s for s in shots if len(s.lines) == 2]
    assert [line.text for line in both.lines] == ["Not this time. This time I threw it in the river.",
                                                  "Along with the car keys."]


def test_no_shot_is_shorter_than_its_speech():
    screenplay, shots = exchange()
    for shot in shots:
        speech = sum(speech_seconds(l.text, l.parenthetical) for l in shot.lines)
        assert shot.duration >= speech, shot.id
        if shot.lines:
            assert shot.duration >= shot.lines[-1].end + LINE_TAIL - 1e-6
            assert shot.lines[0].start == LINE_LEAD_IN
            assert all(a.end <= b.start for a, b in zip(shot.lines, shot.lines[1:]))


def test_longer_lines_make_longer_shots():
    short = speech_seconds("Why?")
    long = speech_seconds("Somebody had to. The whole street was dark, and you weren't answering.")
    assert long > 3 * short
    assert speech_seconds("The phone died.", "beat") > speech_seconds("The phone died.")
    assert speech_seconds("It always dies.", "whispering") > speech_seconds("It always dies.")
    assert speech_seconds("Go now.", rate=1.5) < speech_seconds("Go now.")


def test_establishing_shot_only_at_a_new_location():
    _, shots = exchange()
    firsts = {scene: next(s for s in shots if s.scene == scene) for scene in ("s1", "s2", "s3")}
    assert firsts["s1"].size == "wide" and firsts["s1"].description.startswith("Establishing")
    assert firsts["s1"].action == "The kettle screams on the stove."  # folded into the establishing shot
    assert not firsts["s2"].description.startswith("Establishing")  # same kitchen as before
    assert firsts["s3"].size == "extreme-wide"  # exterior


def test_an_action_that_singles_out_an_object_gets_an_insert():
    _, shots = exchange()
    inserts = [s for s in shots if s.size == "insert"]
    assert [s.focus for s in inserts] == ["the letter"]
    before = shots[shots.index(inserts[0]) - 1]
    assert before.action.startswith("Ana picks up") and before.subjects == ("ana",)


def test_movement_is_covered_wide():
    _, shots = exchange()
    (walk,) = [s for s in shots if s.action == "Ana walks to the window."]
    assert walk.size == "wide" and walk.move != "static"


def test_ids_are_stable_and_scene_scoped():
    screenplay, shots = exchange()
    assert [s.id for s in shots if s.scene == "s2"] == ["s2-01"]
    again = plan_shots(parse_screenplay(EXCHANGE, "exchange.yaml"))
    assert [s.id for s in again] == [s.id for s in shots]
    assert [s.number for s in shots] == list(range(1, len(shots) + 1))
    # editing scene s1 leaves the ids of the other scenes alone
    edited = plan_shots(parse_screenplay(EXCHANGE.replace('      - {speaker: ana, line: "Why?"}\n', ""), "e.yaml"))
    assert [s.id for s in edited if s.scene != "s1"] == [s.id for s in shots if s.scene != "s1"]


def test_explicit_shots_are_kept_as_written(example_path):
    screenplay = load_screenplay(example_path)
    shots = [s for s in plan_shots(screenplay) if s.scene == "climb"]
    assert [s.id for s in shots] == ["climb-1", "climb-2", "climb-3", "climb-4", "climb-5"]
    assert [s.size for s in shots] == ["wide", "medium", "over-the-shoulder", "close-up", "close-up"]
    assert shots[1].continuity == "continuous" and shots[1].duration == 3.0
    assert [len(s.lines) for s in shots] == [0, 0, 1, 1, 1]
    assert not any(s.derived for s in shots)


def test_written_duration_grows_to_fit_its_dialogue():
    text = MINIMAL + (
        "    shots:\n"
        "      - {id: a, size: wide, covers: [1]}\n"
        "      - {id: b, size: close-up, subjects: [ben], duration: 0.5, covers: [2]}\n"
        "      - {id: c, size: close-up, subjects: [ana], covers: [3]}\n"
    )
    shots = plan_shots(parse_screenplay(text, "f.yaml"))
    b = next(s for s in shots if s.id == "b")
    assert b.stretched_from == 0.5 and b.duration > 1.0


def test_off_screen_voice_plays_over_the_listeners():
    text = MINIMAL.replace("      - speaker: ana\n        line: Somebody had to.",
                           "      - speaker: ana\n        extension: V.O.\n        line: Somebody had to.")
    shots = plan_shots(parse_screenplay(text, "f.yaml"))
    voice_over = next(s for s in shots if s.lines and s.lines[0].speaker == "ana")
    assert voice_over.lines[0].off_screen and "ana" not in voice_over.subjects


def test_measured_speech_overrides_the_estimate():
    screenplay = parse_screenplay(MINIMAL, "f.yaml")
    shots = plan_shots(screenplay)
    line = next(s for s in shots if s.lines).lines[0]
    longer = plan_shots(screenplay, speech={line.id: 9.0})
    shot = next(s for s in longer if s.lines and s.lines[0].id == line.id)
    assert shot.lines[0].seconds == 9.0 and shot.duration >= 9.0


def test_example_film_runs_two_to_four_minutes(example_path):
    shots = plan_shots(load_screenplay(example_path))
    runtime = sum(s.duration for s in shots)
    assert 120 <= runtime <= 240
