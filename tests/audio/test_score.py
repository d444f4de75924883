"""The score: composed cues (length, tempo, key, moods), MIDI round trips, FluidSynth
renders, content-addressed film scoring and crossfades across cuts."""

from __future__ import annotations

import shutil
from collections import Counter

import numpy as np
import pytest

from studio.audio import composer, score
from studio.audio.composer import compose_cue, mood_for_scene, parse_key, resolve_mood
from studio.audio.midi import MidiFile
from studio.audio.score import (
    SAMPLE_RATE,
    ScoreTrack,
    render_cue,
    score_film,
    to_float,
    wav_frames,
    wav_info,
)
from studio.errors import MissingToolError
from studio.screenplay.model import MusicCue

needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or not any(p.exists() for p in score.SOUNDFONTS),
    reason="fluidsynth or a GM soundfont is not installed",
)


def db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)) + 1e-12))


@pytest.mark.parametrize("text, tonic, minor, sharps", [
    ("D minor", 2, True, -1), ("F#", 6, False, 6), ("Bb", 10, False, -2), ("Am", 9, True, 0),
    ("d", 2, True, -1), ("Eb major", 3, False, -3), ("C# minor", 1, True, 4), ("A# major", 10, False, -2),
])
def test_keys(text, tonic, minor, sharps):
    key = parse_key(text)
    assert (key.tonic, key.minor, key.sharps) == (tonic, minor, sharps)


@pytest.mark.parametrize("mood, tempo, key, seconds", [
    ("tense", 84, "D minor", 30.0), ("tender", 76, "F major", 24.0), ("eerie", 70, "A minor", 40.0),
    ("triumphant", 96, "D major", 20.0), ("playful", 132, "Bb", 17.3), ("melancholy", 60, "E minor", 9.0),
    ("mysterious", 72, "B minor", 3.0), (None, None, None, 12.0),
])
def test_cue_has_length_tempo_and_key(mood, tempo, key, seconds):
    cue = MusicCue(mood=mood, tempo=tempo, key=key) if mood else None
    composed = compose_cue(cue, seconds, seed=11)
    midi = MidiFile.parse(composed.to_bytes())  # what a player reads
    notes = midi.notes()
    assert notes
    last_off = midi.seconds_at(max(n.end for n in notes))
    assert abs(last_off - seconds) <= 1.0
    assert midi.length_seconds == pytest.approx(seconds + composer.RELEASE_SECONDS, abs=1.0)
    expected_tempo = tempo or composer.MOODS[composed.mood].tempo
    assert midi.tempos()[0][1] == pytest.approx(expected_tempo, rel=1e-3)
    k = parse_key(key or composer.MOODS[composed.mood].key)
    assert midi.key_signature() == (k.sharps, k.minor)
    drums = composer.CH_DRUMS
    in_scale = sum(1 for n in notes if n.channel != drums and n.pitch % 12 in k.scale)
    assert in_scale / sum(1 for n in notes if n.channel != drums) >= 0.85
    # it ends on the tonic: every voice sounding at the end is a note of the tonic chord
    final = [n for n in notes if n.end == max(m.end for m in notes) and n.channel != drums]
    tonic_triad = {(k.tonic + i) % 12 for i in ((0, 3, 7) if k.minor else (0, 4, 7))}
    assert final and {n.pitch % 12 for n in final} <= tonic_triad
    assert composed.progression[-1] in ("i", "I")


def test_moods_sound_different():
    cues = {m: compose_cue(MusicCue(mood=m), 30, seed=3) for m in ("tense", "tender", "eerie", "triumphant")}
    programs = {m: tuple(sorted(c.programs.items())) for m, c in cues.items()}
    progressions = {m: c.progression[:4] for m, c in cues.items()}
    assert len(set(programs.values())) == 4
    assert len(set(progressions.values())) == 4
    assert cues["tense"].key.minor and not cues["tender"].key.minor
    assert cues["triumphant"].programs["rhythm"] == 61  # brass
    assert cues["eerie"].programs["rhythm"] == 8  # celesta


def test_midi_round_trip_and_determinism():
    cue = MusicCue(mood="tense", tempo=84, key="D minor", description="low strings under the storm")
    a = compose_cue(cue, 25, seed=5)
    b = compose_cue(cue, 25, seed=5)
    assert a.to_bytes() == b.to_bytes()
    parsed = MidiFile.parse(a.to_bytes())
    assert parsed.to_bytes() == a.to_bytes()
    assert parsed.notes() == a.midi.notes()
    assert parsed.programs() == a.midi.programs()
    assert any("mood=tense" in t for t in parsed.texts())
    other = compose_cue(cue, 25, seed=6)
    assert other.to_bytes() != a.to_bytes()  # the seed varies the melody


def test_mood_from_words_time_and_description():
    assert resolve_mood(MusicCue(mood="Heroic")) == "triumphant"
    assert resolve_mood(MusicCue(description="a haunting lullaby")) == "eerie"
    assert resolve_mood(None, "night") == "neutral"  # a hint must be a mood word...
    assert resolve_mood(None, mood_for_scene("night")) == "mysterious"  # ...which mood_for_scene gives
    assert mood_for_scene("dawn") == "tender"
    assert mood_for_scene("day", "They run from the storm.") == "tense"
    assert resolve_mood(None) == "neutral"
    piano = compose_cue(MusicCue(mood="melancholy", description="a solo piano, strings"), 10, seed=1)
    assert piano.programs["melody"] == 0 and piano.programs["pad"] == 48


def test_lead_in_swells_into_the_first_downbeat():
    composed = compose_cue(MusicCue(mood="tender"), 10, seed=2, lead=1.0)
    midi = composed.midi
    notes = midi.notes()
    starts = sorted({round(midi.seconds_at(n.start), 3) for n in notes})
    assert starts[0] == 0.0  # the pad enters at once...
    assert all(n.channel == composer.CH_PAD for n in notes if midi.seconds_at(n.start) < 0.99)  # ...alone
    assert composed.seconds == pytest.approx(11.0, abs=0.05)


@needs_fluidsynth
def test_render_is_sized_loud_enough_and_deterministic(tmp_path):
    composed = compose_cue(MusicCue(mood="triumphant", tempo=96, key="D major"), 6, seed=9)
    a = render_cue(composed, tmp_path / "a.wav")
    b = render_cue(composed, tmp_path / "b.wav")
    assert a.read_bytes() == b.read_bytes()
    info = wav_info(a)
    assert (info.channels, info.rate, info.bits) == (2, SAMPLE_RATE, 16)
    assert info.frames == round(composed.length_seconds * SAMPLE_RATE)
    x = to_float(np.asarray(wav_frames(a)))
    assert db(x) == pytest.approx(composed.level_db, abs=1.0)
    assert np.abs(x).max() < 0.9
    assert db(x[: SAMPLE_RATE * 5]) > -30  # music throughout, not just a blip


def _film(cue2: MusicCue) -> list[tuple]:
    return [
        ("storm", MusicCue(mood="tense", tempo=84, key="D minor"), 0.0, 8.0),
        ("stairs", cue2, 8.0, 7.0),
        ("quay", None, 15.0, 6.0, "triumphant"),
    ]


@needs_fluidsynth
def test_score_film_is_content_addressed_and_crossfades(tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "out"
    first = score_film(_film(MusicCue(mood="eerie", tempo=70, key="A minor")), cache, seed=1, out_dir=out)
    assert first.rendered == ["storm", "stairs", "quay"]
    assert sorted(p.name for p in out.iterdir()) == ["quay.mid", "stairs.mid", "storm.mid"]
    assert all(MidiFile.load(p).notes() for p in first.midi_paths.values())
    assert [c.mood for c in first.cues] == ["tense", "eerie", "triumphant"]
    wav_bytes = {sid: p.read_bytes() for sid, p in first.wav_paths.items()}

    again = score_film(_film(MusicCue(mood="eerie", tempo=70, key="A minor")), cache, seed=1, out_dir=out)
    assert again.rendered == [] and again.reused == ["storm", "stairs", "quay"]

    changed = score_film(_film(MusicCue(mood="eerie", tempo=64, key="A minor")), cache, seed=1, out_dir=out)
    assert changed.rendered == ["stairs"]
    assert changed.wav_paths["storm"] == first.wav_paths["storm"]
    assert changed.wav_paths["storm"].read_bytes() == wav_bytes["storm"]

    # a fresh cache renders the same bytes
    fresh = score_film(_film(MusicCue(mood="eerie", tempo=70, key="A minor")), tmp_path / "c2", seed=1, jobs=1)
    assert {sid: p.read_bytes() for sid, p in fresh.wav_paths.items()} == wav_bytes

    track = first.track
    assert track.length == 21 * SAMPLE_RATE
    win = SAMPLE_RATE // 5
    for i, cut in enumerate((8.0, 15.0)):
        c = round(cut * SAMPLE_RATE)
        # both cues sound at the cut: the earlier rings past it, the next has faded in
        assert db(track.read(c - win // 2, win, only=i)) > -45
        assert db(track.read(c - win // 2, win, only=i + 1)) > -45
        at = db(track.read(c - win // 2, win))
        neighbours = [db(track.read(c + o * SAMPLE_RATE - win // 2, win)) for o in (-2, 2)]
        assert at > -40  # no gap
        assert at < max(neighbours) + 3.0  # no doubling


@needs_fluidsynth
def test_score_track_blocks_are_consistent(tmp_path):
    result = score_film(_film(MusicCue(mood="eerie")), tmp_path, seed=4)
    track = result.track
    whole = track.read(0, track.length)
    rng = np.random.default_rng(0)
    parts, pos = [], 0
    while pos < track.length:
        n = min(int(rng.integers(1, 70_000)), track.length - pos)
        parts.append(track.read(pos, n))
        pos += n
    assert np.array_equal(whole, np.concatenate(parts))
    assert np.array_equal(np.concatenate(list(track.blocks(48_000))), whole)
    out = track.write_wav(tmp_path / "score.wav")
    assert wav_info(out).frames == track.length


def test_score_track_with_silent_cues_has_no_gaps(tmp_path):
    """Constant-level cues crossfade to constant power (equal-power fades)."""
    from studio.audio.wav import pcm16 as _pcm16
    from studio.audio.wav import wav_header as _wav_header

    rng = np.random.default_rng(1)
    paths = []
    for i in range(2):
        x = (rng.standard_normal((12 * SAMPLE_RATE, 2)) * 0.1).astype(np.float32)
        path = tmp_path / f"{i}.wav"
        path.write_bytes(_wav_header(len(x)) + _pcm16(x))
        paths.append(path)
    track = ScoreTrack([(paths[0], 0.0, 10.0, 1.0), (paths[1], 10.0, 10.0, 1.0)], crossfade=2.0)
    levels = [db(track.read(round(t * SAMPLE_RATE), SAMPLE_RATE // 5)) for t in np.arange(7.5, 12.5, 0.2)]
    assert max(levels) - min(levels) < 1.0


def test_missing_tools_say_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(score.shutil, "which", lambda name: None)
    with pytest.raises(MissingToolError, match="fluidsynth") as err:
        score.find_fluidsynth()
    assert "apt-get install fluidsynth timgm6mb-soundfont" in str(err.value)
    monkeypatch.delenv(score.SOUNDFONT_ENV, raising=False)
    monkeypatch.setattr(score, "SOUNDFONTS", (tmp_path / "none.sf2",))
    with pytest.raises(MissingToolError, match="soundfont") as err:
        score.find_soundfont()
    assert "apt-get install fluidsynth timgm6mb-soundfont" in str(err.value)
    monkeypatch.setenv(score.SOUNDFONT_ENV, str(tmp_path / "missing.sf2"))
    with pytest.raises(MissingToolError, match="missing.sf2"):
        score.find_soundfont()
    sf2 = tmp_path / "mine.sf2"
    sf2.write_bytes(b"x")
    monkeypatch.setenv(score.SOUNDFONT_ENV, str(sf2))
    assert score.find_soundfont() == sf2


def test_every_mood_composes_for_every_mode():
    for mood in composer.MOODS:
        for key in ("C major", "C minor"):
            composed = compose_cue(MusicCue(mood=mood, key=key), 20, seed=1)
            counts = Counter(n.pitch % 12 for n in composed.midi.notes() if n.channel != composer.CH_DRUMS)
            assert counts[0] > 0  # the tonic sounds
            assert composed.key.minor == key.endswith("minor")


def test_scene_cues_from_a_screenplay(example_path):
    from studio.screenplay import load_screenplay

    screenplay = load_screenplay(example_path)
    seconds = {s.id: 10.0 + i for i, s in enumerate(screenplay.scenes)}
    cues = score.scene_cues(screenplay, seconds)
    assert [c.scene_id for c in cues] == [s.id for s in screenplay.scenes]
    assert cues[0].start == 0.0 and cues[1].start == pytest.approx(10.0)
    assert cues[0].cue.mood == "tense" and cues[0].mood_hint is None
    assert mood_for_scene("day", "A dark room. The light goes out.") == "neutral"  # too common to read
