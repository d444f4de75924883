"""Ambience: recipes from location words, block-exact streaming, levels and spectra."""

from __future__ import annotations

import numpy as np
import pytest

from studio.audio.ambience import (
    BED_DB,
    AmbienceRecipe,
    AmbienceTrack,
    _envelope,
    _smooth,
    ambience_for,
)
from studio.screenplay.model import TimeOfDay

SR = 48_000
LAMP_ROOM = ("the glass lamp room at the top of a lighthouse, a great brass lens, rain streaming down the "
             "windows, the sea far below")
QUAY = "a stone harbour quay with fishing boats, gulls, coiled ropes and puddles"
KITCHEN = "a small kitchen"


def db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)) + 1e-12))


def test_recipes_follow_the_words():
    lamp = ambience_for(LAMP_ROOM, True, TimeOfDay.night)
    assert lamp.layer("rain") is not None and lamp.layer("rain").param("muffled") == 1.0
    assert "room_tone" in lamp.kinds and "sea" in lamp.kinds
    assert "wind" not in lamp.kinds  # "windows" is not "wind"

    quay = ambience_for(QUAY, False, "day")
    assert {"sea", "gulls"} <= set(quay.kinds)
    assert "gulls" not in ambience_for(QUAY, False, "night").kinds

    kitchen = ambience_for(KITCHEN, True, "morning")
    assert kitchen.kinds[0] == "room_tone" and "hum" in kitchen.kinds

    assert "crowd" in ambience_for("a busy café near the station", True, "afternoon").kinds
    assert ambience_for("a busy café", True, "day").layer("crowd").param("clinks") == 1.0
    assert "traffic" in ambience_for("a rainy city street", False, "day").kinds
    assert "birds" in ambience_for("a forest clearing", False, "dawn").kinds
    night_forest = ambience_for("a forest clearing", False, "night")
    assert "crickets" in night_forest.kinds and "birds" not in night_forest.kinds
    assert "fire" in ambience_for("a cabin with a crackling fireplace", True, "evening").kinds
    assert ambience_for("a windswept clifftop in a storm", False, "dusk").layer("wind").param("strength") == 1.0
    assert ambience_for("an empty field of stones", False, "day").kinds[-1] == "wind"  # a breeze at least
    assert ambience_for("", None, None).kinds == ["wind"]
    assert ambience_for("a dark bedroom", None, "night").interior  # guessed from the words


def test_recipes_are_pure_and_levelled():
    a = ambience_for(QUAY, False, "day")
    assert a == ambience_for(QUAY, False, "day")
    assert isinstance(a, AmbienceRecipe) and hash(a) == hash(ambience_for(QUAY, False, "day"))
    assert a.level_db == pytest.approx(BED_DB, abs=0.05)
    assert ambience_for(KITCHEN, True, "day").level_db < BED_DB  # a quiet room is quieter
    assert a.to_dict()["layers"][0]["kind"] == "sea"
    assert "gulls" in a.describe()


def _film() -> AmbienceTrack:
    lamp = ambience_for(LAMP_ROOM, True, "night")
    quay = ambience_for(QUAY, False, "dawn")
    cafe = ambience_for("a busy cafe on a city street", True, "day")
    return AmbienceTrack([(0.0, 1.3, lamp, 1), (1.3, 1.0, quay, 2), (2.3, 1.2, quay, 2), (3.5, 2.5, cafe, 3)])


def test_block_reads_equal_one_big_read():
    track = _film()
    whole = track.read(0, 96_000)
    assert np.array_equal(whole, np.concatenate([track.read(0, 48_000), track.read(48_000, 48_000)]))
    fresh = _film()  # no shared caches
    assert np.array_equal(whole[12_345:12_345 + 777], fresh.read(12_345, 777))
    rng = np.random.default_rng(3)
    length = track.length
    big = _film().read(0, length)
    parts, pos = [], 0
    while pos < length:
        n = min(int(rng.integers(1, 40_000)), length - pos)
        parts.append(track.read(pos, n))
        pos += n
    assert np.array_equal(big, np.concatenate(parts))
    assert np.array_equal(np.concatenate(list(_film().blocks(10_000))), big)


@pytest.mark.parametrize("rate", [0.05, 1.5, 5.5])
def test_envelopes_follow_the_smooth_curve_and_any_block_gives_the_same_samples(rate):
    """Envelopes are evaluated every few samples and interpolated: within 1e-4 of the
    value noise at every sample (crowd syllables, 5.5 a second, are the fastest), and a
    pure function of position, whatever block reads them (blocks not on the grid)."""
    start, n = 7_654_321, 96_001
    exact = _smooth(5, 9, np.arange(start, start + n) / SR, rate)
    env = _envelope(5, 9, start, n, rate)
    assert env.shape == (n,) and np.abs(env - exact).max() < 1e-4
    cuts = [0, 1, 33, 1_000, 48_017, n]
    parts = [_envelope(5, 9, start + a, b - a, rate) for a, b in zip(cuts, cuts[1:])]
    assert np.array_equal(np.concatenate(parts), env)
    assert _envelope(5, 9, start, 0, rate).shape == (0,)


def test_deterministic_and_seeded():
    recipe = ambience_for(QUAY, False, "day")
    a = AmbienceTrack([(0.0, 4.0, recipe, 7)]).read(SR, SR)
    b = AmbienceTrack([(0.0, 4.0, recipe, 7)]).read(SR, SR)
    c = AmbienceTrack([(0.0, 4.0, recipe, 8)]).read(SR, SR)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.dtype == np.float32 and a.shape == (SR, 2)
    assert not np.array_equal(a[:, 0], a[:, 1])  # stereo


@pytest.mark.parametrize("description, interior, tod", [
    (LAMP_ROOM, True, "night"), (QUAY, False, "day"), (KITCHEN, True, "day"),
    ("a busy cafe on a city street", True, "afternoon"), ("a forest clearing with a campfire", False, "night"),
    ("a windswept clifftop in a storm", False, "dusk"), ("a forest at dawn", False, "dawn"),
])
def test_levels_are_a_low_bed(description, interior, tod):
    recipe = ambience_for(description, interior, tod)
    x = AmbienceTrack([(0.0, 12.0, recipe, 1)]).read(0, 12 * SR)
    level = db(x)
    assert -37.0 < level < -26.0
    assert abs(level - recipe.level_db) < 4.0
    assert float(np.abs(x).max()) < 10 ** (-8 / 20)  # transients stay well under full scale


def _bands(x: np.ndarray) -> np.ndarray:
    """Energy per octave band (31 Hz .. 16 kHz), in dB relative to the total."""
    spectrum = np.abs(np.fft.rfft(x[:, 0].astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    edges = 31.25 * 2.0 ** np.arange(11)
    energy = np.array([spectrum[(freqs >= lo) & (freqs < hi)].sum() for lo, hi in zip(edges[:-1], edges[1:])])
    return 10 * np.log10(energy / energy.sum() + 1e-20)


def test_different_places_sound_different():
    places = {
        "lamp": ambience_for(LAMP_ROOM, True, "night"),
        "quay": ambience_for(QUAY, False, "day"),
        "kitchen": ambience_for(KITCHEN, True, "day"),
        "street": ambience_for("a rainy city street", False, "day"),
        "forest": ambience_for("a forest at dawn", False, "dawn"),
    }
    bands = {name: _bands(AmbienceTrack([(0.0, 6.0, r, 1)]).read(0, 6 * SR)) for name, r in places.items()}
    names = list(bands)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.max(np.abs(bands[a] - bands[b])) > 6.0, (a, b)
    # a kitchen's room tone is dark; rain on a street is bright
    centroid = {n: float(np.sum(np.arange(10) * 10 ** (b / 10))) for n, b in bands.items()}
    assert centroid["kitchen"] < centroid["street"]


def test_scene_changes_crossfade_without_gaps():
    quay = ambience_for(QUAY, False, "day")
    kitchen = ambience_for("a small kitchen, a fire in the hearth", True, "day")
    track = AmbienceTrack([(0.0, 4.0, quay, 1), (4.0, 4.0, kitchen, 2)], crossfade=0.5)
    win = SR // 10
    levels = [db(track.read(round(t * SR) - win // 2, win)) for t in (3.0, 3.6, 3.8, 4.0, 4.2, 4.4, 5.0)]
    assert min(levels) > -40
    assert levels[3] < max(levels[0], levels[-1]) + 3.0


def test_the_same_place_continues_seamlessly():
    quay = ambience_for(QUAY, False, "day")
    one = AmbienceTrack([(0.0, 8.0, quay, 5)]).read(SR, 6 * SR)
    split = AmbienceTrack([(0.0, 3.0, quay, 5), (3.0, 5.0, quay, 5)]).read(SR, 6 * SR)
    assert np.allclose(one, split, atol=1e-6)


def test_segments_from_a_screenplay(example_path):
    from studio.audio.ambience import ambience_segments
    from studio.screenplay import load_screenplay

    screenplay = load_screenplay(example_path)
    seconds = {s.id: 5.0 for s in screenplay.scenes}
    segments = ambience_segments(screenplay, seconds)
    assert [s[0] for s in segments] == [5.0 * i for i in range(len(screenplay.scenes))]
    by_scene = dict(zip((s.id for s in screenplay.scenes), segments))
    assert "rain" in by_scene["storm"][2].kinds
    same_place = [s for s in screenplay.scenes if s.location == "lamp-room"]
    assert len({by_scene[s.id][3] for s in same_place}) == 1  # one seed per location
    AmbienceTrack(segments).read(0, 1000)
