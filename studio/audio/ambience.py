"""Procedural ambience: a quiet bed of sound per location, chosen from its words.

:func:`ambience_for` reads a location's description, whether it is inside, and the
scene's time of day, and returns an :class:`AmbienceRecipe`: a list of layers with
levels, and the reason each was chosen. Words are matched whole (a final "s" dropped,
accents folded), so "windows" is not "wind":

==========  ================================================================  ===========================
layer       chosen when the description says                                  notes
==========  ================================================================  ===========================
room_tone   (any interior)                                                    low pink/brown noise
hum         kitchen, fridge, office, lab, hospital, factory, workshop,        mains hum and harmonics
            server, machine, engine, fluorescent, basement, garage, diner...
rain        rain, raining, rainy, drizzle, downpour, storm, shower, thunder   hiss and droplet ticks;
                                                                              inside: muffled, glass taps
wind        wind, breeze, gust, gale, storm, blizzard, cliff, moor, mountain, band-passed noise, slow
            summit, ridge, desert, rooftop, dune, snow, heath...              gusts; storm: strong; also
                                                                              a soft breeze for any
                                                                              exterior with nothing else
sea         sea, ocean, harbour, beach, shore, coast, quay, pier, dock, wave,  low rumble and slow swells;
            surf, port, bay, lighthouse, cove, marina, jetty, ship...         inside: muffled, lower
gulls       gull, seagull, harbour, quay, pier, beach, port, marina, jetty,    calls in small clusters
            fishing (outside, not at night)
traffic     street, city, road, traffic, avenue, car, downtown, highway,      rumble and passing
            alley, parking, town, sidewalk, boulevard, bus, taxi, urban...    swooshes; inside: muffled;
                                                                              sparser at night
birds       forest, wood, garden, park, meadow, field, tree, orchard,         sparse chirps over a soft
            countryside, farm, village, valley, river, lake... or bird words   rustle; outside, dawn to
                                                                              afternoon (denser at dawn)
crickets    the same nature words outside at dusk/evening/night, or           pulsed chirps of a few
            cricket, insect, cicada                                           crickets
crowd       cafe, bar, pub, restaurant, station, market, diner, canteen,      murmur of voices (cup
            lobby, airport, terminal, party, crowd, club, platform, mall...   clinks where people eat or
                                                                              drink); quieter at night
fire        fire, fireplace, hearth, campfire, bonfire, torch, burning,       low roar and crackles
            blaze, embers, brazier, furnace, forge, woodstove
==========  ================================================================  ===========================

Levels: every layer has a level relative to the others; the recipe is then scaled so
the whole bed's RMS is :data:`BED_DB` (-30 dBFS; -33 for a quiet room with nothing but
room tone and hum). The mixer sets the final gain.

:class:`AmbienceTrack` renders scenes' recipes block by block at 48 kHz stereo. Every
sample is a pure function of (recipe, seed, absolute sample position): noise comes
from fixed overlap-added segments and events from fixed time slots, each seeded by its
index, so a block read at any offset equals the same samples read inside a bigger
block. Scenes meet with a short equal-power crossfade centred on the cut (a plain
crossfade when both sides are the same recipe and seed, which then continue seamlessly).
"""

from __future__ import annotations

import math
import unicodedata
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.audio.wav import apply_fades, write_track_wav

SAMPLE_RATE = 48_000
BED_DB = -30.0  # the recipe's total RMS, dBFS
QUIET_ROOM_DB = -33.0
DEFAULT_CROSSFADE = 0.5  # seconds, centred on each cut

# -- the keyword table ------------------------------------------------------------------

INTERIOR_WORDS = frozenset(
    "room kitchen bedroom bathroom hall hallway corridor office inside interior indoors cellar basement attic "
    "apartment flat house lobby library study studio classroom church cathedral chapel shop store cafe bar pub "
    "restaurant diner canteen cabin stair stairs staircase lift elevator ward warehouse garage tavern inn".split())
HUM_WORDS = frozenset(
    "kitchen fridge refrigerator freezer office lab laboratory hospital ward factory workshop server machine "
    "machinery engine fluorescent basement garage diner generator elevator lift laundry launderette".split())
RAIN_WORDS = frozenset("rain raining rainy drizzle drizzling downpour storm stormy shower thunder thunderstorm "
                       "monsoon rainstorm".split())
STORM_WORDS = frozenset("storm stormy gale thunderstorm blizzard hurricane tempest squall".split())
WIND_WORDS = frozenset(
    "wind windy breeze breezy gust gusty gale storm stormy blizzard cliff clifftop moor moorland mountain "
    "summit ridge desert rooftop roof dune snow snowy heath tundra hilltop windswept".split())
SEA_WORDS = frozenset(
    "sea ocean harbour harbor beach shore coast coastal quay pier dock wave surf port bay lighthouse cove "
    "seaside seafront marina jetty ship seashore waterfront promenade".split())
GULL_WORDS = frozenset("gull seagull harbour harbor quay pier beach port marina jetty fishing seaside seafront "
                       "waterfront".split())
CITY_WORDS = frozenset(
    "street city road traffic avenue car downtown highway motorway intersection alley parking town sidewalk "
    "pavement crossing boulevard bus taxi urban suburb suburban freeway junction".split())
NATURE_WORDS = frozenset(
    "forest wood woods woodland garden park meadow field tree orchard countryside jungle grove farm farmyard "
    "village glade valley hill river stream lake pond country yard backyard porch clearing vineyard".split())
BIRD_WORDS = frozenset("bird birdsong songbird sparrow blackbird robin thrush".split())
CRICKET_WORDS = frozenset("cricket insect cicada".split())
CROWD_WORDS = frozenset(
    "cafe coffeehouse bar pub restaurant station market diner canteen cafeteria lobby airport terminal party "
    "crowd crowded club nightclub platform mall tavern inn saloon bistro ballroom stadium concourse festival "
    "fair bazaar plaza queue foodcourt".split())
CLINK_WORDS = frozenset("cafe coffeehouse bar pub restaurant diner canteen cafeteria tavern inn saloon bistro "
                        "party".split())
FIRE_WORDS = frozenset("fire fireplace hearth campfire bonfire torch burning blaze embers brazier furnace forge "
                       "woodstove fireside".split())

DAYTIME = frozenset({"dawn", "morning", "day", "afternoon"})
DARK = frozenset({"dusk", "evening", "night"})


def _tokens(text: str) -> set[str]:
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    words = set()
    for word in "".join(c if c.isalpha() else " " for c in folded).split():
        words.add(word)
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            words.add(word[:-1])
    return words


# -- recipes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    kind: str  # one of LAYER_KINDS
    level_db: float  # this layer's RMS, dBFS
    params: tuple[tuple[str, float], ...] = ()  # sorted (name, value)
    reason: str = ""

    def param(self, name: str, default: float = 0.0) -> float:
        return dict(self.params).get(name, default)


@dataclass(frozen=True)
class AmbienceRecipe:
    """What a location sounds like: layers with levels (inspectable, hashable)."""

    layers: tuple[Layer, ...]
    interior: bool
    time_of_day: str

    @property
    def kinds(self) -> list[str]:
        return [layer.kind for layer in self.layers]

    def layer(self, kind: str) -> Layer | None:
        return next((layer for layer in self.layers if layer.kind == kind), None)

    @property
    def level_db(self) -> float:
        """The bed's expected RMS, dBFS (the power sum of its layers)."""
        power = sum(10 ** (layer.level_db / 10) for layer in self.layers)
        return 10 * math.log10(power) if power > 0 else -math.inf

    def key(self) -> dict[str, Any]:
        """What determines the sound (for cache keys): kinds, levels and params."""
        return {"layers": [[layer.kind, round(layer.level_db, 3), [list(p) for p in layer.params]]
                           for layer in self.layers]}

    def to_dict(self) -> dict[str, Any]:
        return {"interior": self.interior, "time_of_day": self.time_of_day,
                "level_db": round(self.level_db, 2), "layers": [asdict(layer) for layer in self.layers]}

    def describe(self) -> str:
        return "\n".join(f"{layer.kind:<10} {layer.level_db:6.1f} dBFS  {layer.reason}" for layer in self.layers)


def ambience_for(location_description: str, interior: bool | None, time_of_day: Any = "day") -> AmbienceRecipe:
    """The ambience of a location at a time of day (see the module's table). Pure."""
    words = _tokens(location_description)
    tod = str(getattr(time_of_day, "value", time_of_day) or "day").lower()
    inside = bool(interior) if interior is not None else bool(words & INTERIOR_WORDS)
    night = tod in DARK
    chosen: list[tuple[str, float, dict[str, float], str]] = []  # kind, relative dB, params, reason

    def hit(vocabulary: frozenset[str]) -> list[str]:
        return sorted(words & vocabulary)

    def add(kind: str, rel: float, reason: str, **params: float) -> None:
        chosen.append((kind, rel, params, reason))

    storm = hit(STORM_WORDS)
    if inside:
        add("room_tone", 0.0, "interior")
        if hit(HUM_WORDS):
            add("hum", -12.0, f"interior with {', '.join(hit(HUM_WORDS))}", hz=50.0)
    if hit(RAIN_WORDS):
        add("rain", -3.0 if inside else 0.0, f"{', '.join(hit(RAIN_WORDS))}" + (" (heard inside)" if inside else ""),
            muffled=1.0 if inside else 0.0, heavy=1.0 if storm else 0.0)
    if hit(WIND_WORDS):
        rel = 3.0 if storm else 0.0
        add("wind", rel - (6.0 if inside else 0.0),
            f"{', '.join(hit(WIND_WORDS))}" + (" (heard inside)" if inside else ""),
            strength=1.0 if storm else 0.5, muffled=1.0 if inside else 0.0)
    if hit(SEA_WORDS):
        add("sea", -6.0 if inside else 0.0, f"{', '.join(hit(SEA_WORDS))}" + (" (heard inside)" if inside else ""),
            muffled=1.0 if inside else 0.0)
    if hit(GULL_WORDS) and not inside and not night:
        add("gulls", -6.0, ", ".join(hit(GULL_WORDS)))
    if hit(CITY_WORDS):
        add("traffic", (-8.0 if inside else 0.0) - (4.0 if night else 0.0),
            f"{', '.join(hit(CITY_WORDS))}" + (" (heard inside)" if inside else ""),
            muffled=1.0 if inside else 0.0, density=0.4 if night else 1.0)
    nature = hit(NATURE_WORDS)
    if not inside and tod in DAYTIME and (nature or hit(BIRD_WORDS)):
        add("birds", -4.0 if tod == "dawn" else -6.0, f"{', '.join(nature + hit(BIRD_WORDS))} at {tod}",
            density=2.0 if tod == "dawn" else 1.0)
    if hit(CRICKET_WORDS) or (not inside and night and nature and not hit(CITY_WORDS)):
        add("crickets", -5.0, f"{', '.join(hit(CRICKET_WORDS) or nature)} at {tod}")
    if hit(CROWD_WORDS):
        add("crowd", -3.0 if night and tod == "night" else 0.0, ", ".join(hit(CROWD_WORDS)),
            clinks=1.0 if hit(CLINK_WORDS) else 0.0)
    if hit(FIRE_WORDS):
        add("fire", -2.0, ", ".join(hit(FIRE_WORDS)))
    if not inside and not any(k in ("wind", "sea", "traffic", "rain") for k, *_ in chosen):
        add("wind", -4.0, "exterior: a soft breeze", strength=0.25, muffled=0.0)

    quiet = all(kind in ("room_tone", "hum") for kind, *_ in chosen)
    target = QUIET_ROOM_DB if quiet else BED_DB
    total = 10 * math.log10(sum(10 ** (rel / 10) for _k, rel, _p, _r in chosen))
    layers = tuple(
        Layer(kind, round(rel - total + target, 2), tuple(sorted((k, float(v)) for k, v in params.items())), reason)
        for kind, rel, params, reason in chosen
    )
    return AmbienceRecipe(layers, inside, tod)


# -- pure random functions of position -------------------------------------------------

_M = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise on uint64 (wrapping)."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _uniform(seed: int, stream: int, index: np.ndarray) -> np.ndarray:
    """A uniform [0, 1) per integer index: a pure function of (seed, stream, index)."""
    base = _mix64(np.array([(seed & 0xFFFFFFFF) << 32 | (stream & 0xFFFFFFFF)], dtype=np.uint64))
    with np.errstate(over="ignore"):
        h = _mix64(np.asarray(index, dtype=np.int64).astype(np.uint64) ^ base)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)


def _smooth(seed: int, stream: int, t: np.ndarray, rate: float) -> np.ndarray:
    """Smooth value noise in [0, 1] at ``rate`` control points per second."""
    x = t * rate
    k = np.floor(x)
    f = x - k
    k = k.astype(np.int64)
    if len(k) == 0:
        return np.zeros(0)
    k0 = int(k[0])
    values = _uniform(seed, stream, np.arange(k0, int(k[-1]) + 2, dtype=np.int64))  # the control points
    a = values[k - k0]
    b = values[k - k0 + 1]
    s = f * f * (3 - 2 * f)
    return a + (b - a) * s


_ENVELOPE_STEP = 32  # samples between the points where :func:`_envelope` evaluates the value noise


def _envelope(seed: int, stream: int, start: int, n: int, rate: float) -> np.ndarray:
    """:func:`_smooth` over samples ``[start, start + n)`` at 48 kHz, evaluated every
    :data:`_ENVELOPE_STEP` samples (on the film's clock, so any block gives the same
    samples) and interpolated linearly between: a third of the work, and within 2e-5
    (-94 dB) of the smooth curve at the fastest rate used (the crowd's syllables, 5.5 control
    points a second)."""
    if n <= 0:
        return np.zeros(0)
    step = _ENVELOPE_STEP
    first, last = start // step, -(-(start + n - 1) // step)
    grid = np.arange(first, last + 1, dtype=np.int64) * step
    values = _smooth(seed, stream, grid / SAMPLE_RATE, rate)
    return np.interp(np.arange(start, start + n, dtype=np.float64), grid.astype(np.float64), values)


def _rng(seed: int, stream: int, index: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64([seed & 0xFFFFFFFF, stream & 0xFFFFFFFF, index + (1 << 40)]))


def _stream_id(*parts: Any) -> int:
    import zlib

    return zlib.crc32(":".join(map(str, parts)).encode())


# -- coloured noise -----------------------------------------------------------------------

_SEG = 16384  # noise segment length; segments hop by half, sine-windowed (power sums to one)
_HOP = _SEG // 2
_WINDOW = np.sin(np.pi * (np.arange(_SEG) + 0.5) / _SEG)


def _magnitude(spec: tuple, sr: int = SAMPLE_RATE) -> np.ndarray:
    """A magnitude response over the real-FFT bins of a segment, from
    ``(slope_db_per_octave, highpass_hz, lowpass_hz, ((peak_hz, gain_db, width_octaves), ...))``."""
    slope, hp, lp, peaks = spec
    f = np.fft.rfftfreq(_SEG, 1.0 / sr)
    f[0] = 1e-3
    mag = (f / 1000.0) ** (slope / 6.0206)
    if hp:
        mag /= np.sqrt(1 + (hp / f) ** 4)
    if lp:
        mag /= np.sqrt(1 + (f / lp) ** 4)
    for peak_hz, gain_db, width in peaks:
        g = 10 ** (gain_db / 20)
        mag *= 1 + (g - 1) * np.exp(-0.5 * (np.log2(f / peak_hz) / width) ** 2)
    mag[0] = 0.0
    mag[f > sr / 2 * 0.98] = 0.0
    return mag


class _Noise:
    """Stationary stereo noise with a given spectrum and unit RMS per channel, as a
    pure function of position: fixed segments ``[j*HOP, j*HOP + SEG)``, each seeded by
    ``j``, sine-windowed and overlap-added. Left and right are independent."""

    def __init__(self, spec: tuple, seed: int, stream: int) -> None:
        self.seed, self.stream = seed, stream
        mag = _magnitude(spec)
        keep = mag > mag.max() * 3e-3  # -50 dB: bins below are left silent
        self.bins = np.nonzero(keep)[0]
        self.mag = mag[self.bins].astype(np.float32)
        # irfft of bins with E|X|^2 = 2 mag^2 has variance 4 * sum(mag^2) / N^2
        self.scale = _SEG / (2.0 * math.sqrt(float(np.sum(mag[self.bins] ** 2))))
        self.window = (_WINDOW * self.scale).astype(np.float32)
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()

    def _segment(self, j: int) -> np.ndarray:
        seg = self._cache.get(j)
        if seg is not None:
            self._cache.move_to_end(j)
            return seg
        rng = _rng(self.seed, self.stream, j)
        m = len(self.bins)
        spectrum = np.zeros((2, _SEG // 2 + 1), np.complex64)
        # random-phase noise: each bin's real and imaginary parts are +-1 (from raw random
        # bits: far cheaper than normals); a segment's samples are Gaussian all the same
        words = rng.bit_generator.random_raw((4 * m + 63) // 64).astype("<u8")
        bits = np.unpackbits(words.view(np.uint8))[: 4 * m]
        z = (bits.astype(np.float32) * 2.0 - 1.0).view(np.complex64).reshape(2, m)
        z *= self.mag
        spectrum[:, self.bins] = z
        x = np.fft.irfft(spectrum, n=_SEG, axis=1)  # left, right
        seg = (x.T * self.window[:, None]).astype(np.float32)
        self._cache[j] = seg
        while len(self._cache) > 3:
            self._cache.popitem(last=False)
        return seg

    def render(self, start: int, n: int) -> np.ndarray:
        out = np.zeros((n, 2), np.float32)
        first = (start - _SEG) // _HOP + 1
        last = (start + n - 1) // _HOP
        for j in range(first, last + 1):
            s0 = j * _HOP
            lo, hi = max(start, s0), min(start + n, s0 + _SEG)
            if hi > lo:
                out[lo - start:hi - start] += self._segment(j)[lo - s0:hi - s0]
        return out


# -- layers -------------------------------------------------------------------------------


def _pan(p: float) -> tuple[float, float]:
    """Constant-power gains for a pan position in [-1, 1]."""
    a = (p + 1) * math.pi / 4
    return math.cos(a), math.sin(a)


class _Layer:
    """A layer's raw sound at roughly unit RMS; ``render`` is a pure function of position."""

    def __init__(self, layer: Layer, seed: int, index: int) -> None:
        self.layer = layer
        self.seed = seed
        self.stream = _stream_id(layer.kind, index)
        self.sr = SAMPLE_RATE

    def p(self, name: str, default: float = 0.0) -> float:
        return self.layer.param(name, default)

    def noise(self, name: str, spec: tuple) -> _Noise:
        cache = self.__dict__.setdefault("_noises", {})
        if name not in cache:
            cache[name] = _Noise(spec, self.seed, _stream_id(self.stream, name))
        return cache[name]

    def times(self, start: int, n: int) -> np.ndarray:
        return np.arange(start, start + n, dtype=np.float64) / self.sr

    def render(self, start: int, n: int) -> np.ndarray:
        raise NotImplementedError


class _Events(_Layer):
    """Sparse sounds scheduled in fixed slots: slot ``m`` of ``slot`` seconds holds a
    Poisson number of events drawn from a generator seeded by ``m`` alone."""

    slot = 1.0
    max_seconds = 1.0  # longest event

    def rate(self) -> float:
        raise NotImplementedError

    def make(self, rng: np.random.Generator) -> np.ndarray:
        """One event's samples (k, 2)."""
        raise NotImplementedError

    def events(self, m: int) -> list[tuple[int, np.ndarray]]:
        cache = self.__dict__.setdefault("_events", OrderedDict())
        if m in cache:
            cache.move_to_end(m)
            return cache[m]
        rng = _rng(self.seed, self.stream, m)
        count = int(rng.poisson(self.rate() * self.slot))
        offsets = np.sort(rng.uniform(0, self.slot, count))
        evs = [(round((m * self.slot + float(t)) * self.sr), self.make(rng)) for t in offsets]
        cache[m] = evs
        keep = math.ceil((self.max_seconds + 2.0) / self.slot) + 2  # the slots a 2 s read touches
        while len(cache) > keep:
            cache.popitem(last=False)
        return evs

    def render_events(self, start: int, n: int) -> np.ndarray:
        out = np.zeros((n, 2), np.float32)
        slot_n = self.slot * self.sr
        first = math.floor((start - self.max_seconds * self.sr) / slot_n)
        last = math.floor((start + n - 1) / slot_n)
        for m in range(first, last + 1):
            for t0, wave in self.events(m):
                lo, hi = max(start, t0), min(start + n, t0 + len(wave))
                if hi > lo:
                    out[lo - start:hi - start] += wave[lo - t0:hi - t0]
        return out

    def render(self, start: int, n: int) -> np.ndarray:
        return self.render_events(start, n)


class _Lazy:
    """A long event computed only where it is read: ``fn(i0, i1)`` gives samples
    ``[i0, i1)`` (shape (i1 - i0, 2)) of an event ``length`` samples long."""

    def __init__(self, length: int, fn) -> None:
        self.length, self.fn = length, fn

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, span: slice) -> np.ndarray:
        return self.fn(span.start, span.stop)


def _decay_tone(rng: np.random.Generator, sr: int, freq: float, seconds: float, pan: float, amp: float,
                partials: Sequence[tuple[float, float]] = ((1.0, 1.0),)) -> np.ndarray:
    k = max(8, int(seconds * sr * 5))
    t = np.arange(k) / sr
    wave = np.zeros(k)
    for ratio, gain in partials:
        wave += gain * np.sin(2 * np.pi * freq * ratio * t + rng.uniform(0, 2 * np.pi))
    wave *= amp * np.exp(-t / seconds) * np.minimum(1.0, t / 0.0008)
    left, right = _pan(pan)
    return np.stack([wave * left, wave * right], axis=1).astype(np.float32)


class RoomTone(_Layer):
    def render(self, start, n):
        bed = self.noise("bed", (-4.5, 35.0, 900.0, ((120.0, 3.0, 1.0),))).render(start, n)
        drift = 0.9 + 0.2 * _envelope(self.seed, self.stream, start, n, 0.2)
        return bed * drift[:, None].astype(np.float32)


class Hum(_Layer):
    def render(self, start, n):
        t = self.times(start, n)
        hz = self.p("hz", 50.0)
        wave = np.zeros(n)
        for k, amp in ((1, 1.0), (2, 0.55), (3, 0.3), (4, 0.12), (6, 0.05)):
            wave += amp * np.sin(2 * np.pi * hz * k * t + k)
        wave *= 0.85 + 0.15 * _envelope(self.seed, self.stream, start, n, 0.3)
        wave *= 1.0 / 0.83
        fizz = self.noise("fizz", (0.0, 2000.0, 6000.0, ())).render(start, n) * 0.05
        return (np.stack([wave * 0.95, wave * 0.9], axis=1) + fizz).astype(np.float32)


class Wind(_Layer):
    def render(self, start, n):
        muffled = self.p("muffled") > 0
        strength = self.p("strength", 0.5)
        gust = _envelope(self.seed, self.stream, start, n, 0.12 + 0.15 * strength)
        gust = 0.6 * gust + 0.4 * _envelope(self.seed, self.stream + 1, start, n, 0.5)
        low = self.noise("low", (-3.0, 60.0, 320.0 if muffled else 700.0, ((260.0, 6.0, 0.8),))).render(start, n)
        out = low * (0.35 + 0.75 * gust)[:, None].astype(np.float32)
        if not muffled:
            high = self.noise("high", (-1.0, 400.0, 2500.0, ((900.0, 8.0, 0.5),))).render(start, n)
            out += high * (0.6 * gust ** 2 * (0.5 + strength))[:, None].astype(np.float32)
        return out


class Rain(_Events):
    slot = 0.25
    max_seconds = 0.12

    def rate(self):
        base = 8.0 if self.p("muffled") else 28.0
        return base * (1.6 if self.p("heavy") else 1.0)

    def make(self, rng):
        if self.p("muffled"):  # taps on glass and roof
            return _decay_tone(rng, self.sr, rng.uniform(900, 2600), rng.uniform(0.003, 0.012),
                               rng.uniform(-0.8, 0.8), 1.4 * rng.lognormal(0, 0.5), ((1.0, 1.0), (2.7, 0.3)))
        return _decay_tone(rng, self.sr, rng.uniform(2000, 7000), rng.uniform(0.002, 0.01),
                           rng.uniform(-0.9, 0.9), 1.1 * rng.lognormal(0, 0.6))

    def render(self, start, n):
        if self.p("muffled"):
            hiss = self.noise("hiss", (-3.0, 150.0, 1400.0, ((500.0, 3.0, 1.0),))).render(start, n)
        else:
            hiss = self.noise("hiss", (0.0, 700.0, 9000.0, ((4000.0, 4.0, 1.2),))).render(start, n)
        swell = 0.85 + 0.3 * _envelope(self.seed, self.stream, start, n, 0.08)
        return hiss * (0.8 * swell)[:, None].astype(np.float32) + self.render_events(start, n) * 0.5


class Sea(_Events):
    """Steady low rumble plus waves: each a slow rise and longer fall of surf noise."""

    slot = 8.0
    max_seconds = 14.0

    def rate(self):
        return 1.0 / 8.0

    def make(self, rng):  # a wave's envelope, with pan carried in the two channels
        rise, fall = rng.uniform(1.8, 3.2), rng.uniform(3.5, 6.5)
        amp = rng.uniform(0.55, 1.0)
        left, right = _pan(rng.uniform(-0.5, 0.5))
        sr = self.sr

        def env(i0: int, i1: int) -> np.ndarray:
            t = np.arange(i0, i1) / sr
            e = np.where(t < rise, np.sin(0.5 * np.pi * np.minimum(t, rise) / rise) ** 2,
                         np.exp(-np.maximum(t - rise, 0.0) / fall * 1.6)) * (amp * 1.41)
            return np.stack([e * left, e * right], axis=1).astype(np.float32)

        return _Lazy(int((rise + fall * 2) * sr), env)

    def render(self, start, n):
        muffled = self.p("muffled") > 0
        rumble = self.noise("rumble", (-6.0, 25.0, 300.0 if muffled else 450.0, ())).render(start, n)
        surf = self.noise("surf", (-3.0, 80.0, 500.0 if muffled else 3500.0, ((700.0, 3.0, 1.5),))).render(start, n)
        env = self.render_events(start, n)  # overlapping waves add
        return 0.45 * rumble + surf * (0.15 + 0.9 * env)


class Gulls(_Events):
    slot = 6.0
    max_seconds = 3.0

    def rate(self):
        return 1 / 9.0

    def make(self, rng):
        calls = int(rng.integers(1, 5))
        spacing = rng.uniform(0.28, 0.5)
        length = rng.uniform(0.25, 0.45)
        f0 = rng.uniform(1100, 1600)
        total = int((calls * spacing + length) * self.sr) + 1
        wave = np.zeros(total)
        for c in range(calls):
            k = int(length * self.sr)
            u = np.arange(k) / k
            glide = f0 * (1 + 0.35 * np.sin(np.pi * np.minimum(1, u * 1.6)) - 0.25 * u)
            phase = 2 * np.pi * np.cumsum(glide) / self.sr
            call = sum(g * np.sin(h * phase) for h, g in ((1, 1.0), (2, 0.6), (3, 0.35), (4, 0.2), (5, 0.1)))
            env = np.minimum(1, u / 0.06) * np.exp(-3.0 * u) * (1 + 0.3 * np.sin(2 * np.pi * 28 * u * length))
            s0 = int(c * spacing * self.sr)
            wave[s0:s0 + k] += call * env * rng.uniform(0.6, 1.0)
        left, right = _pan(rng.uniform(-0.8, 0.8))
        amp = rng.uniform(0.4, 1.0) * 1.3
        return (np.stack([wave * left, wave * right], axis=1) * amp).astype(np.float32)


class Traffic(_Events):
    """A distant rumble plus cars passing: a swell of road noise that pans across."""

    slot = 5.0
    max_seconds = 8.0

    def rate(self):
        return 0.18 * self.p("density", 1.0)

    def make(self, rng):
        dur = rng.uniform(4.0, 7.5)
        k = int(dur * self.sr)
        width = rng.uniform(0.18, 0.35)
        amp = rng.uniform(0.5, 1.0) * 1.41
        direction = 1 if rng.random() < 0.5 else -1

        def env(i0: int, i1: int) -> np.ndarray:
            u = np.arange(i0, i1) * (2.0 / (k - 1)) - 1.0
            e = (1 / (1 + (u / width) ** 2)) ** 1.5 * amp
            a = (np.clip(direction * u * 1.2, -1, 1) + 1) * np.pi / 4
            return np.stack([e * np.cos(a), e * np.sin(a)], axis=1).astype(np.float32)

        return _Lazy(k, env)

    def render(self, start, n):
        muffled = self.p("muffled") > 0
        lp = 350.0 if muffled else 5000.0
        rumble = self.noise("rumble", (-6.0, 25.0, 220.0, ((60.0, 3.0, 1.0),))).render(start, n)
        road = self.noise("road", (-3.0, 60.0, lp, ((900.0, 4.0, 1.2),))).render(start, n)
        env = self.render_events(start, n)
        drift = 0.8 + 0.4 * _envelope(self.seed, self.stream, start, n, 0.05)
        return (0.55 * rumble) * drift[:, None].astype(np.float32) + road * (0.08 + 1.3 * env)


class Birds(_Events):
    slot = 2.0
    max_seconds = 2.0

    def rate(self):
        return 0.7 * self.p("density", 1.0)

    def make(self, rng):
        syllables = int(rng.integers(2, 7))
        f0 = rng.uniform(2500, 5500)
        length = rng.uniform(0.04, 0.11)
        gap = rng.uniform(0.05, 0.14)
        sweep = rng.uniform(-0.45, 0.45)
        total = int(syllables * (length + gap) * self.sr) + 1
        wave = np.zeros(total)
        for s in range(syllables):
            k = int(length * self.sr)
            u = np.arange(k) / k
            f = f0 * (1 + sweep * u) * (1 + 0.04 * np.sin(2 * np.pi * rng.uniform(20, 60) * u * length))
            phase = 2 * np.pi * np.cumsum(f) / self.sr
            tone = np.sin(phase) + 0.2 * np.sin(2 * phase)
            s0 = int(s * (length + gap) * self.sr)
            wave[s0:s0 + k] += tone * np.sin(np.pi * u) ** 2 * rng.uniform(0.6, 1.0)
        left, right = _pan(rng.uniform(-0.9, 0.9))
        amp = rng.uniform(0.3, 1.0) * 1.2
        return (np.stack([wave * left, wave * right], axis=1) * amp).astype(np.float32)

    def render(self, start, n):
        rustle = self.noise("rustle", (-2.0, 700.0, 6000.0, ())).render(start, n)
        wave = 0.5 + 0.5 * _envelope(self.seed, self.stream, start, n, 0.3)
        return rustle * (0.25 * wave)[:, None].astype(np.float32) + self.render_events(start, n)


class Crickets(_Layer):
    """A few crickets, each a carrier pulsed in chirps of three, on its own period."""

    def render(self, start, n):
        t = self.times(start, n)
        out = np.zeros((n, 2), np.float64)
        count = 5
        for c in range(count):
            u = _uniform(self.seed, self.stream + c, np.arange(6))
            carrier = 3800 + 1400 * u[0]
            period = 0.45 + 0.6 * u[1]
            offset = u[2] * period
            pulses = 2 + int(u[3] * 3)
            amp = 0.4 + 0.6 * u[4]
            phase = np.mod(t + offset, period)
            pulse_idx = np.floor(phase / 0.03)
            in_pulse = np.mod(phase, 0.03)
            env = np.where((pulse_idx < pulses) & (in_pulse < 0.018), np.sin(np.pi * in_pulse / 0.018) ** 2, 0.0)
            rest = 0.6 + 0.4 * _envelope(self.seed, self.stream + 100 + c, start, n, 0.15)  # they pause and resume
            wave = np.sin(2 * np.pi * carrier * t) * env * amp * rest
            left, right = _pan(2 * u[5] - 1)
            out[:, 0] += wave * left
            out[:, 1] += wave * right
        return (out * 1.6).astype(np.float32)


class Crowd(_Events):
    """Babble: speech-shaped noises, each with its own syllabic envelope, plus cup clinks."""

    slot = 2.0
    max_seconds = 1.6

    def rate(self):
        return 0.35 if self.p("clinks") else 0.0

    def make(self, rng):
        f = rng.uniform(1800, 4200)
        return _decay_tone(rng, self.sr, f, rng.uniform(0.05, 0.25), rng.uniform(-0.8, 0.8),
                           0.5 * rng.uniform(0.3, 1.0), ((1.0, 1.0), (2.32, 0.5), (4.25, 0.25)))

    def render(self, start, n):
        out = np.zeros((n, 2), np.float32)
        bed = self.noise("bed", (-3.0, 120.0, 3500.0, ((450.0, 6.0, 0.6), (1500.0, 3.0, 0.7)))).render(start, n)
        out += 0.45 * bed
        for v in range(2):
            voices = self.noise(f"voices{v}", (-2.0, 150.0, 4000.0, ((550.0, 8.0, 0.5), (1700.0, 5.0, 0.5))))
            x = voices.render(start, n)
            for ch in range(2):
                syll = _envelope(self.seed, self.stream + 10 * v + ch, start, n, 4.5 + v)
                phrase = _envelope(self.seed, self.stream + 50 + 10 * v + ch, start, n, 0.35)
                env = (np.clip(syll * 1.6 - 0.4, 0, 1) ** 2) * (phrase > 0.35)
                out[:, ch] += x[:, ch] * (0.7 * env).astype(np.float32)
                out[:, 1 - ch] += x[:, ch] * (0.3 * env).astype(np.float32)
        if self.p("clinks"):
            out += self.render_events(start, n)
        return out


class Fire(_Events):
    slot = 0.5
    max_seconds = 0.2

    def rate(self):
        return 14.0

    def make(self, rng):
        if rng.random() < 0.06:  # a pop
            k = int(0.08 * self.sr)
            t = np.arange(k) / self.sr
            wave = (rng.standard_normal(k) * 0.5 + np.sin(2 * np.pi * rng.uniform(150, 400) * t)) * np.exp(-t / 0.02)
            amp = rng.uniform(0.5, 1.0)
        else:
            k = int(rng.uniform(0.001, 0.006) * self.sr)
            t = np.arange(k) / self.sr
            wave = np.clip(np.diff(rng.standard_normal(k + 1)), -3, 3) * np.exp(-t / (t[-1] / 3 + 1e-4))
            amp = min(1.5, rng.pareto(2.5) + 0.2) * 0.6
        left, right = _pan(rng.uniform(-0.6, 0.6))
        return (np.stack([wave * left, wave * right], axis=1) * amp).astype(np.float32)

    def render(self, start, n):
        roar = self.noise("roar", (-6.0, 30.0, 400.0, ())).render(start, n)
        flicker = 0.6 + 0.5 * _envelope(self.seed, self.stream, start, n, 1.5)
        return roar * (0.6 * flicker)[:, None].astype(np.float32) + self.render_events(start, n)


LAYERS: dict[str, type[_Layer]] = {
    "room_tone": RoomTone, "hum": Hum, "wind": Wind, "rain": Rain, "sea": Sea, "gulls": Gulls,
    "traffic": Traffic, "birds": Birds, "crickets": Crickets, "crowd": Crowd, "fire": Fire,
}
LAYER_KINDS = tuple(LAYERS)

# each continuous layer's raw RMS at its usual parameters (measured over 60 s), so its
# level_db is its actual RMS. Sparse layers (gulls, birds, crickets) are calibrated so
# level_db is roughly their RMS while they sound: their long-term RMS is lower.
_CALIBRATION: dict[str, float] = {
    "room_tone": 1.006, "hum": 0.862, "wind": 0.684, "rain": 0.768, "sea": 0.797, "traffic": 0.726,
    "crowd": 0.608, "fire": 0.509, "gulls": 0.15, "birds": 0.35, "crickets": 0.4,
}


class RecipeRenderer:
    """A recipe with a seed, rendered at any position (a pure function of position)."""

    def __init__(self, recipe: AmbienceRecipe, seed: int) -> None:
        self.recipe = recipe
        self.seed = int(seed) & 0xFFFFFFFF
        self.layers = [
            (LAYERS[layer.kind](layer, self.seed, i),
             np.float32(10 ** (layer.level_db / 20) / _CALIBRATION[layer.kind]))
            for i, layer in enumerate(recipe.layers)
        ]

    def render(self, start: int, n: int) -> np.ndarray:
        out = np.zeros((n, 2), np.float32)
        for layer, gain in self.layers:
            out += layer.render(start, n).astype(np.float32) * gain
        return out


def location_seed(film_seed: int, location_id: str) -> int:
    """One seed per place: the same location sounds the same in every scene."""
    import zlib

    return (int(film_seed) * 1_000_003 + zlib.crc32(f"ambience:{location_id}".encode())) % 2**32


def ambience_segments(screenplay: Any, seconds: Mapping[str, float], *,
                      start: float = 0.0) -> list[tuple[float, float, AmbienceRecipe, int]]:
    """``AmbienceTrack`` segments for the screenplay's scenes, back to back from
    ``start``: each scene's location recipe at its time of day, seeded per location.
    ``seconds`` maps scene id to its length on the timeline."""
    out = []
    t = float(start)
    for scene in screenplay.scenes:
        location = screenplay.location(scene.location)
        interior = location.interior
        if interior is None and scene.heading:
            head = scene.heading.strip().upper()
            interior = True if head.startswith(("INT", "I/E")) else False if head.startswith("EXT") else None
        text = " ".join(filter(None, [location.name, location.description]))
        recipe = ambience_for(text, interior, scene.time)
        length = float(seconds[scene.id])
        out.append((t, length, recipe, location_seed(screenplay.film.seed, location.id)))
        t += length
    return out


@dataclass(frozen=True)
class _Segment:
    start: int
    end: int
    renderer_key: tuple
    fade_in: tuple[int, int, str]
    fade_out: tuple[int, int, str]


class AmbienceTrack:
    """The film's ambience as a stream: ``read(start, n)`` gives frames ``[start,
    start+n)`` as float32 stereo at 48 kHz.

    ``segments``: ``(start_seconds, seconds, recipe, seed)`` per scene, in film order.
    Use one seed per location (e.g. the film's seed mixed with the location's id) so a
    place sounds the same, and continues seamlessly, in consecutive scenes."""

    sample_rate = SAMPLE_RATE

    def __init__(self, segments: Sequence[tuple[float, float, AmbienceRecipe, int]], *,
                 crossfade: float = DEFAULT_CROSSFADE, length: int | None = None, edge_fade: float = 0.05) -> None:
        sr = self.sample_rate
        half = round(crossfade / 2 * sr)
        edge = round(edge_fade * sr)
        spans = [(round(s * sr), round((s + d) * sr)) for s, d, _r, _seed in segments]
        keys = [(recipe, int(seed) & 0xFFFFFFFF) for _s, _d, recipe, seed in segments]
        self.segments: list[_Segment] = []
        for i, (a, b) in enumerate(spans):
            before = i > 0 and abs(spans[i - 1][1] - a) <= 1
            after = i + 1 < len(spans) and abs(spans[i + 1][0] - b) <= 1
            same_before = before and keys[i - 1] == keys[i]
            same_after = after and keys[i + 1] == keys[i]
            # identical neighbours are the same signal: complementary linear gains sum to it exactly
            fade_in = (a - half, a + half, "linear" if same_before else "power") if before else (a, a + edge, "power")
            fade_out = (b - half, b + half, "linear" if same_after else "power") if after else (b - edge, b, "power")
            self.segments.append(_Segment(a, b, keys[i], fade_in, fade_out))
        self.length = length if length is not None else max((b for _a, b in spans), default=0)
        self._renderers: OrderedDict[tuple, RecipeRenderer] = OrderedDict()

    def _renderer(self, key: tuple) -> RecipeRenderer:
        if key in self._renderers:
            self._renderers.move_to_end(key)
            return self._renderers[key]
        renderer = RecipeRenderer(*key)
        self._renderers[key] = renderer
        while len(self._renderers) > 3:
            self._renderers.popitem(last=False)
        return renderer

    def read(self, start: int, n: int) -> np.ndarray:
        out = np.zeros((max(0, n), 2), np.float32)
        end = start + n
        for seg in self.segments:
            lo, hi = max(start, seg.fade_in[0]), min(end, seg.fade_out[1])
            if hi <= lo:
                continue
            x = self._renderer(seg.renderer_key).render(lo, hi - lo)
            apply_fades(x, lo, seg.fade_in, seg.fade_out)
            out[lo - start:hi - start] += x
        return out

    def blocks(self, block: int = SAMPLE_RATE) -> Iterator[np.ndarray]:
        for pos in range(0, self.length, block):
            yield self.read(pos, min(block, self.length - pos))

    def write_wav(self, path: Path | str, *, block: int = SAMPLE_RATE * 10) -> Path:
        return write_track_wav(self, path, block=block)
