"""The composer: one music cue as MIDI, from a mood, a key, a tempo and a seed.

Composition (:func:`compose_cue`) is rule-based and deterministic. A cue's mood (the
screenplay's ``music.mood``, else words in its ``description``, else a hint derived
from the scene, else ``neutral``) picks a :class:`MoodProfile`: a chord progression
for the major and the minor mode, harmonic rhythm, General MIDI programs, bass and
accompaniment patterns, a melody register and density, percussion, reverb and level.

=============  ======  ===========================  ==========================================
mood           mode    progressions                 instruments (GM)
=============  ======  ===========================  ==========================================
tense          minor   i–bVI–iv–V, i–iv–bVI–V       low strings pad, contrabass 8th pulse,
                                                    string ostinato, horn, timpani heartbeat
tender         major   I–vi–IV–V, vi–IV–I–V         slow strings, cello, piano arpeggio, flute
eerie          minor   i–ii°–bVI–ii° (tonic pedal)  halo pad, contrabass drone, celesta
                                                    sparkle, violin (tritone ii° chords)
triumphant     major   I–V–vi–IV, IV–V–I–vi         strings, tuba, brass stabs, horn,
                                                    timpani and cymbal
melancholy     minor   i–bVI–bIII–bVII, i–iv–bVII–  slow strings, contrabass, slow piano
                       bIII                         arpeggio, cello
playful        major   I–IV–V–I, I–vi–ii–V          bassoon, pizzicato off-beats, clarinet
mysterious     minor   i–bVII–bVI–V, i–bIII–iv–bVI  warm pad, contrabass, harp arpeggio,
                                                    vibraphone
neutral        major   I–IV–vi–V, vi–IV–I–V         strings, contrabass, piano, oboe
=============  ======  ===========================  ==========================================

Every progression has a version for the other mode too, so ``mood: tense`` with
``key: C major`` stays in C major. The cue's form is sections of the progression (A A
B A ... chosen from the seed), a cadence chord before the end and the tonic held to the
end; the melody is built from a seeded one-bar motif (statement, sequence, variation,
cadence per four-bar phrase) with strong beats on chord tones. Dynamics: channel
expression (CC11) fades in over the first seconds, swells with each phrase and eases
off at the end; a release tail follows the last note.

Keys: ``D minor``, ``F#``, ``Bb major``, ``Am``; a letter with no quality is major,
except a lower-case letter (``d``), which is minor (the classical convention).

Rendering the MIDI into sound and scoring the film are :mod:`studio.audio.score`'s.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from studio.audio.midi import PPQ, MidiFile, Track
from studio.errors import StudioError
from studio.screenplay.model import MusicCue

RELEASE_SECONDS = 2.0  # the tail after the last note-off
LEVEL_DB = -20.0  # a neutral cue's RMS in dBFS, before the mood's offset

# -- keys ---------------------------------------------------------------------------

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_LETTER_FIFTHS = {"F": -1, "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5}
_KEY_RE = re.compile(r"^\s*([A-Ga-g])(#|b)?\s*(major|minor|maj|min|m)?\s*$")


@dataclass(frozen=True)
class Key:
    tonic: int  # pitch class, C = 0
    minor: bool
    name: str  # e.g. "D minor", "F# major"
    sharps: int  # key signature: sharps > 0, flats < 0

    @property
    def scale(self) -> tuple[int, ...]:
        """The key's pitch classes (natural minor for minor keys)."""
        return tuple((self.tonic + s) % 12 for s in (_MINOR if self.minor else _MAJOR))

    def with_mode(self, minor: bool) -> Key:
        if minor == self.minor:
            return self
        letter = self.name.split()[0]
        return parse_key(f"{letter} {'minor' if minor else 'major'}")


def parse_key(text: str) -> Key:
    """``'D minor'``, ``'F#'``, ``'Bb major'``, ``'Am'``, ``'d'`` (lower case: minor)."""
    m = _KEY_RE.match(text or "")
    if not m:
        raise StudioError(f"not a musical key: {text!r}", hint="write e.g. 'D minor', 'F#' or 'Bb major'")
    letter, accidental, quality = m.group(1), m.group(2) or "", (m.group(3) or "").lower()
    minor = quality in ("minor", "min", "m") or (not quality and letter.islower())
    letter = letter.upper()
    shift = {"#": 1, "b": -1, "": 0}[accidental]
    tonic = (_LETTER_PC[letter] + shift) % 12
    sharps = _LETTER_FIFTHS[letter] + 7 * shift - (3 if minor else 0)
    if sharps > 7:
        sharps -= 12
    elif sharps < -7:
        sharps += 12
    return Key(tonic, minor, f"{letter}{accidental} {'minor' if minor else 'major'}", sharps)


# -- chords -------------------------------------------------------------------------

_NUMERALS = {"I": 0, "II": 2, "III": 4, "IV": 5, "V": 7, "VI": 9, "VII": 11}
_ROMAN_RE = re.compile(r"^(b|#)?(VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)(o|\+|sus2|sus4|maj7|7)?$")


@dataclass(frozen=True)
class Chord:
    numeral: str
    root: int  # semitones above the tonic
    intervals: tuple[int, ...]  # above the root

    def pitch_classes(self, key: Key) -> tuple[int, ...]:
        return tuple((key.tonic + self.root + i) % 12 for i in self.intervals)


def parse_numeral(numeral: str) -> Chord:
    """A roman numeral relative to the major scale: 'bVI' is a major triad a minor
    sixth up; lower case is minor; suffixes 'o' (diminished), '+', 'sus2', 'sus4', '7', 'maj7'."""
    m = _ROMAN_RE.match(numeral)
    if not m:
        raise ValueError(f"bad roman numeral {numeral!r}")
    accidental, roman, suffix = m.group(1) or "", m.group(2), m.group(3) or ""
    root = (_NUMERALS[roman.upper()] + {"b": -1, "#": 1, "": 0}[accidental]) % 12
    upper = roman.isupper()
    intervals: tuple[int, ...] = (0, 4, 7) if upper else (0, 3, 7)
    if suffix == "o":
        intervals = (0, 3, 6)
    elif suffix == "+":
        intervals = (0, 4, 8)
    elif suffix == "sus2":
        intervals = (0, 2, 7)
    elif suffix == "sus4":
        intervals = (0, 5, 7)
    elif suffix == "7":
        intervals = intervals + (10,)
    elif suffix == "maj7":
        intervals = intervals + (11,)
    return Chord(numeral, root, intervals)


# -- moods --------------------------------------------------------------------------


@dataclass(frozen=True)
class MoodProfile:
    name: str
    minor: bool  # the mood's own mode (used when the cue gives no key)
    key: str  # default key
    tempo: int  # default bpm
    major: tuple[str, ...]  # progressions for a major key, each "I V vi IV"
    minor_progressions: tuple[str, ...]  # and for a minor key
    cadence_major: str
    cadence_minor: str
    bars_per_chord: int
    meter: int  # beats per bar
    pad: int | None  # GM program (0-based)
    pad_range: tuple[int, int]
    bass: int
    bass_pattern: str  # pulse8 | half | whole | pedal | oompah | march
    bass_range: tuple[int, int]
    rhythm: int | None
    rhythm_pattern: str  # arp8 | arp4 | harp | ostinato8 | stabs | offbeat | sparkle
    rhythm_range: tuple[int, int]
    melody: int | None
    melody_center: int
    melody_density: str  # sparse | medium | busy
    melody_rests: str  # phrase pattern, 'M' plays and '-' rests, cycled: "M-" is call and silence
    percussion: str  # none | timpani | heartbeat | timpani+cymbal
    reverb: int  # CC91
    chorus: int  # CC93
    level_db: float  # offset from LEVEL_DB
    volumes: tuple[int, int, int, int, int] = (92, 96, 82, 100, 88)  # CC7: pad bass rhythm melody perc


MOODS: dict[str, MoodProfile] = {
    "tense": MoodProfile(
        "tense", True, "D minor", 84,
        ("I bVI IV V", "I bVII IV V"), ("i bVI iv V", "i iv bVI V"), "V", "V",
        1, 4, 48, (45, 62), 43, "pulse8", (26, 40), 48, "ostinato8", (50, 64),
        60, 57, "sparse", "M-", "heartbeat", 70, 0, 0.0, (96, 96, 78, 92, 90),
    ),
    "tender": MoodProfile(
        "tender", False, "F major", 76,
        ("I vi IV V", "vi IV I V"), ("i bVI bIII bVII", "i iv bVII bIII"), "V", "bVII",
        1, 4, 49, (53, 69), 42, "half", (36, 50), 0, "arp8", (55, 76),
        73, 74, "medium", "MM-M", "none", 80, 20, -2.0, (88, 90, 80, 100, 0),
    ),
    "eerie": MoodProfile(
        "eerie", True, "A minor", 70,
        ("Isus2 iv I bVI", "I #IVo IV iv"), ("i iio bVI iio", "isus2 bVI iio v"), "iv", "iio",
        2, 4, 94, (52, 70), 43, "pedal", (28, 40), 8, "sparkle", (72, 96),
        40, 76, "sparse", "-M", "none", 110, 40, -3.0, (96, 92, 76, 78, 0),
    ),
    "triumphant": MoodProfile(
        "triumphant", False, "D major", 96,
        ("I V vi IV", "IV V I vi"), ("i bVI bIII bVII", "i bVII bVI bVII"), "V", "bVII",
        1, 4, 48, (50, 67), 58, "march", (33, 48), 61, "stabs", (55, 70),
        60, 65, "medium", "MMMM", "timpani+cymbal", 75, 10, 1.0, (90, 92, 86, 104, 92),
    ),
    "melancholy": MoodProfile(
        "melancholy", True, "E minor", 66,
        ("vi IV I V", "I iii vi IV"), ("i bVI bIII bVII", "i iv bVII bIII"), "V", "V",
        1, 4, 49, (52, 67), 43, "whole", (28, 43), 0, "arp4", (55, 74),
        42, 57, "sparse", "MM-M", "none", 85, 15, -2.0, (90, 90, 82, 104, 0),
    ),
    "playful": MoodProfile(
        "playful", False, "G major", 120,
        ("I IV V I", "I vi ii V"), ("i iv V i", "i bVII bVI V"), "V", "V",
        1, 4, 49, (55, 67), 70, "oompah", (38, 52), 45, "offbeat", (55, 70),
        71, 69, "busy", "MM-M", "none", 50, 0, -1.0, (70, 96, 88, 100, 0),
    ),
    "mysterious": MoodProfile(
        "mysterious", True, "B minor", 72,
        ("I bVII IV I", "I iii IV iv"), ("i bVII bVI V", "i bIII iv bVI"), "iv", "V",
        1, 4, 89, (50, 66), 43, "whole", (30, 43), 46, "harp", (50, 79),
        11, 72, "sparse", "M-M-", "none", 95, 30, -2.0, (92, 90, 84, 92, 0),
    ),
    "neutral": MoodProfile(
        "neutral", False, "C major", 90,
        ("I IV vi V", "vi IV I V"), ("i bVI bIII bVII", "i iv bVI V"), "V", "V",
        1, 4, 48, (52, 67), 43, "half", (31, 45), 0, "arp4", (55, 72),
        68, 70, "medium", "M-MM", "none", 75, 15, -1.0, (86, 90, 84, 96, 0),
    ),
}

# words that name a mood (in ``mood``, ``description`` or a hint), checked in this order
MOOD_WORDS: dict[str, tuple[str, ...]] = {
    "eerie": ("eerie", "creepy", "haunting", "haunted", "ghost", "ghostly", "uncanny", "spooky", "horror",
              "unsettling", "sinister", "dread", "otherworldly", "strange"),
    "tense": ("tense", "tension", "suspense", "suspenseful", "anxious", "anxiety", "urgent", "action", "chase",
              "danger", "dangerous", "storm", "stormy", "threat", "threatening", "menace", "menacing", "fear",
              "panic", "thriller", "dark", "ominous", "fight", "conflict", "angry"),
    "triumphant": ("triumphant", "triumph", "heroic", "hero", "victory", "victorious", "epic", "glorious",
                   "majestic", "hopeful", "hope", "uplifting", "rousing", "celebration", "celebratory", "proud"),
    "tender": ("tender", "love", "loving", "romantic", "romance", "warm", "warmth", "gentle", "intimate",
               "soft", "sweet", "affectionate", "peaceful", "calm", "serene", "reunion", "reconciliation"),
    "melancholy": ("melancholy", "melancholic", "sad", "sadness", "grief", "grieving", "mournful", "mourning",
                   "wistful", "lonely", "loneliness", "sorrow", "sorrowful", "bittersweet", "nostalgic",
                   "nostalgia", "elegiac", "regret", "loss", "farewell", "funeral", "somber", "sombre"),
    "playful": ("playful", "comic", "comedy", "comedic", "whimsical", "funny", "quirky", "cheerful",
                "happy", "joyful", "bouncy", "mischievous", "silly", "upbeat", "fun", "lighthearted"),
    "mysterious": ("mysterious", "mystery", "curious", "curiosity", "enigmatic", "noir", "secret", "secrets",
                   "intrigue", "wonder", "magical", "dreamy", "dream", "searching", "investigation"),
    "neutral": ("neutral", "plain", "ambient", "underscore"),
}

# the mood of a scene with no cue, from its time of day
TIME_MOODS = {"dawn": "tender", "morning": "neutral", "day": "neutral", "afternoon": "neutral",
              "dusk": "melancholy", "evening": "tender", "night": "mysterious"}

# instrument words in a cue's description: (GM program, role) - the first lead word sets
# the melody, the first bed word the pad
INSTRUMENT_WORDS: dict[str, tuple[int, str]] = {
    "piano": (0, "lead"), "celesta": (8, "lead"), "glockenspiel": (9, "lead"), "vibraphone": (11, "lead"),
    "marimba": (12, "lead"), "guitar": (24, "lead"), "violin": (40, "lead"), "viola": (41, "lead"),
    "cello": (42, "lead"), "harp": (46, "lead"), "trumpet": (56, "lead"), "horn": (60, "lead"),
    "oboe": (68, "lead"), "bassoon": (70, "lead"), "clarinet": (71, "lead"), "flute": (73, "lead"),
    "whistle": (78, "lead"), "strings": (48, "bed"), "choir": (52, "bed"), "voices": (52, "bed"),
    "organ": (19, "bed"), "brass": (61, "bed"), "synth": (89, "bed"), "pad": (89, "bed"),
}


def _words(text: str | None) -> list[str]:
    return re.findall(r"[a-z]+", (text or "").lower())


def mood_from_text(text: str | None) -> str | None:
    """The first mood named (or implied) by ``text``, or None."""
    words = _words(text)
    for word in words:
        if word in MOODS:
            return word
    for mood, vocabulary in MOOD_WORDS.items():
        if any(w in vocabulary for w in words):
            return mood
    return None


# words too common in action lines to read a mood from
_AMBIGUOUS = frozenset("dark light warm soft action plain strange fair hope fun wonder dream secret calm".split())


def mood_for_scene(time_of_day: Any = None, text: str = "") -> str:
    """A mood hint for a scene without a music cue: words in ``text`` (its action lines,
    heading) if they suggest one, else its time of day."""
    mood = mood_from_text(" ".join(w for w in _words(text) if w not in _AMBIGUOUS))
    if mood:
        return mood
    tod = getattr(time_of_day, "value", time_of_day) or "day"
    return TIME_MOODS.get(str(tod), "neutral")


def resolve_mood(cue: MusicCue | None, mood_hint: str | None = None) -> str:
    """The profile a cue uses: its mood, words of its description, the hint, neutral."""
    for text in ((cue.mood if cue else None), (cue.description if cue else None), mood_hint):
        mood = mood_from_text(text)
        if mood:
            return mood
    return "neutral"


# -- composition --------------------------------------------------------------------

CH_PAD, CH_BASS, CH_RHYTHM, CH_MELODY, CH_TIMPANI, CH_DRUMS = 0, 1, 2, 3, 4, 9


@dataclass
class ComposedCue:
    """A composed cue: the MIDI and what it was composed from."""

    midi: MidiFile
    mood: str
    key: Key
    tempo: int
    seconds: float  # to the last note-off (lead-in included); the MIDI runs RELEASE_SECONDS longer
    progression: tuple[str, ...]  # the chord of every harmonic slot, in order
    programs: dict[str, int]  # role -> GM program
    level_db: float  # the RMS the render is normalised to
    lead: float = 0.0  # seconds of lead-in before the first downbeat

    def to_bytes(self) -> bytes:
        return self.midi.to_bytes()

    def save(self, path: Path | str) -> Path:
        return self.midi.save(path)

    @property
    def length_seconds(self) -> float:
        return self.midi.length_seconds


@dataclass(frozen=True)
class _Slot:
    start: int  # tick
    end: int
    bar: int  # the first bar
    chord: Chord


def _voicing(pcs: Sequence[int], lo: int, hi: int, previous: list[int] | None, voices: int) -> list[int]:
    """A close voicing of ``pcs`` inside [lo, hi], nearest the previous voicing."""
    pcs = list(pcs)
    if voices > len(pcs):
        pcs = pcs + [pcs[0]] * (voices - len(pcs))
    best: tuple[float, list[int]] | None = None
    for inversion in range(len(pcs)):
        order = pcs[inversion:] + pcs[:inversion]
        for base in range(lo - 12, hi + 1):
            if base % 12 != order[0]:
                continue
            notes = [base]
            for pc in order[1:]:
                n = notes[-1] + 1
                while n % 12 != pc:
                    n += 1
                notes.append(n)
            if notes[0] < lo or notes[-1] > hi:
                continue
            if previous:
                cost = sum(abs(a - b) for a, b in zip(sorted(notes), sorted(previous)))
            else:
                cost = abs(sum(notes) / len(notes) - (lo + hi) / 2)
            if best is None or cost < best[0]:
                best = (cost, notes)
    if best is None:  # too narrow a range: stack from lo
        base = lo + (pcs[0] - lo) % 12
        return [base + ((pc - pcs[0]) % 12) for pc in pcs]
    return best[1]


def _nearest(pitch: float, pcs: Sequence[int], lo: int = 0, hi: int = 127) -> int:
    """The note with a pitch class in ``pcs`` nearest ``pitch`` (inside [lo, hi] if possible)."""
    candidates = [n for n in range(max(0, lo), min(127, hi) + 1) if n % 12 in pcs]
    if not candidates:
        candidates = [n for n in range(128) if n % 12 in pcs]
    return min(candidates, key=lambda n: (abs(n - pitch), n))


def _in_range(pc: int, lo: int, hi: int) -> int:
    """The lowest note of pitch class ``pc`` at or above ``lo`` (folded under ``hi``)."""
    n = lo + (pc - lo) % 12
    while n > hi and n - 12 >= 0:
        n -= 12
    return n


def _bar_scale(key: Key, chord_pcs: Sequence[int]) -> list[int]:
    """The key's scale with any chord tone outside it replacing its neighbour (the
    raised leading tone over V in a minor key)."""
    scale = set(key.scale)
    for pc in chord_pcs:
        if pc not in scale:
            for neighbour in ((pc - 1) % 12, (pc + 1) % 12):
                if neighbour in scale and neighbour not in chord_pcs:
                    scale.discard(neighbour)
                    break
            scale.add(pc)
    return sorted(scale)


_CELLS = {  # one-bar melodic rhythms in beats (4/4)
    "sparse": ((4.0,), (3.0, 1.0), (2.0, 2.0), (2.0, 1.0, 1.0), (1.0, 3.0)),
    "medium": ((1.0, 1.0, 2.0), (2.0, 1.0, 1.0), (1.5, 0.5, 2.0), (1.0, 1.0, 1.0, 1.0), (3.0, 1.0),
               (1.0, 0.5, 0.5, 2.0)),
    "busy": ((0.5, 0.5, 1.0, 1.0, 1.0), (1.0, 0.5, 0.5, 2.0), (0.5, 0.5, 0.5, 0.5, 2.0), (1.0, 1.0, 1.0, 1.0),
             (0.5, 0.5, 1.0, 0.5, 0.5, 1.0)),
}


def compose_cue(cue: MusicCue | None, seconds: float, seed: int, *, mood_hint: str | None = None,
                lead: float = 0.0) -> ComposedCue:
    """Compose ``seconds`` of music for a scene (the last note ends at ``seconds``; the
    MIDI's end of track is :data:`RELEASE_SECONDS` later for the release).

    Same arguments, same bytes. ``mood_hint`` is used when the cue names no mood (see
    :func:`mood_for_scene`). ``lead`` seconds of lead-in come first (the first chord
    swelling in on the pad, for a crossfade): the first downbeat is at ``lead`` and the
    music still runs ``seconds`` after it, so the MIDI is ``lead + seconds`` long."""
    seconds = max(0.5, float(seconds))
    lead = max(0.0, float(lead))
    mood = resolve_mood(cue, mood_hint)
    profile = MOODS[mood]
    key = parse_key(cue.key) if cue and cue.key else parse_key(profile.key)
    tempo = int(cue.tempo) if cue and cue.tempo else profile.tempo
    profile = _apply_description(profile, cue.description if cue else None)
    rng = random.Random(f"studio-score:{seed}:{mood}:{key.name}:{tempo}")

    meter = profile.meter
    ticks_per_second = tempo * PPQ / 60
    total = max(PPQ // 4, round(seconds * ticks_per_second))  # the last note-off
    bar_ticks = meter * PPQ
    n_bars = max(1, total // bar_ticks)

    # harmonic slots: sections of the progression, a cadence, the tonic to the end
    progressions = profile.minor_progressions if key.minor else profile.major
    sections = [p.split() for p in progressions]
    form_a, form_b = (sections[0], sections[1]) if rng.random() < 0.7 else (sections[1], sections[0])
    bpc = profile.bars_per_chord if n_bars >= 4 * profile.bars_per_chord else 1
    slots_bars: list[tuple[int, int]] = []
    bar = 0
    while bar < n_bars:
        length = min(bpc, n_bars - bar)
        slots_bars.append((bar, length))
        bar += length
    section_plan = "AABA" if rng.random() < 0.5 else "ABAB"
    numerals: list[str] = []
    section = 0
    while len(numerals) < len(slots_bars):
        numerals.extend(form_a if section_plan[section % 4] == "A" else form_b)
        section += 1
    numerals = numerals[: len(slots_bars)]
    tonic = "i" if key.minor else "I"
    numerals[-1] = tonic
    if len(numerals) >= 3:
        numerals[-2] = profile.cadence_minor if key.minor else profile.cadence_major
    slots = []
    for i, ((first_bar, length), numeral) in enumerate(zip(slots_bars, numerals)):
        start = first_bar * bar_ticks
        end = total if i == len(slots_bars) - 1 else (first_bar + length) * bar_ticks
        slots.append(_Slot(start, end, first_bar, parse_numeral(numeral)))

    midi = MidiFile()
    meta = midi.add_track("studio score")
    meta.tempo(tempo)
    meta.time_signature(meter, 4)
    meta.key_signature(key.sharps, key.minor)
    meta.text(f"studio score: mood={mood} key={key.name} tempo={tempo} seed={seed}")

    programs: dict[str, int] = {}
    tracks: dict[int, Track] = {}

    def track(channel: int, name: str, program: int | None, volume: int, pan: int) -> Track:
        t = midi.add_track(name)
        tracks[channel] = t
        if program is not None and channel != CH_DRUMS:
            t.program(channel, program)
            programs[name] = program
        t.control(channel, 7, volume)
        t.control(channel, 10, pan)
        t.control(channel, 91, profile.reverb)
        t.control(channel, 93, profile.chorus)
        return t

    vol_pad, vol_bass, vol_rhythm, vol_melody, vol_perc = profile.volumes
    if profile.pad is not None:
        track(CH_PAD, "pad", profile.pad, vol_pad, 64)
    track(CH_BASS, "bass", profile.bass, vol_bass, 60)
    if profile.rhythm is not None:
        track(CH_RHYTHM, "rhythm", profile.rhythm, vol_rhythm, 44)
    if profile.melody is not None:
        track(CH_MELODY, "melody", profile.melody, vol_melody, 82)
    if profile.percussion in ("timpani", "heartbeat", "timpani+cymbal"):
        track(CH_TIMPANI, "timpani", 47, vol_perc, 64)
    if profile.percussion == "timpani+cymbal":
        track(CH_DRUMS, "drums", None, 70, 70)

    lead_ticks = round(lead * ticks_per_second)
    for t in tracks.values():
        t.limit = lead_ticks + total  # nothing sounds past the end: the release follows

    def arc(tick: int) -> float:
        """The dynamic shape, 0..1: a fade-in, phrase swells, an easing at the end."""
        t = tick / ticks_per_second
        fade = 1.0 if lead_ticks else min(1.0, t / min(2.0, max(0.5, seconds / 4)))
        bar_pos = tick / bar_ticks
        swell = math.sin(math.pi * ((bar_pos % 4) / 4))
        overall = math.sin(math.pi * min(1.0, tick / total)) if total > 0 else 0
        end = min(1.0, (total - tick) / max(1.0, 2 * bar_ticks))
        return (0.55 + 0.45 * fade) * (0.86 + 0.08 * swell + 0.06 * overall) * (0.85 + 0.15 * max(0.0, end))

    def vel(base: int, tick: int, spread: int = 5) -> int:
        return max(1, min(127, round(base * (0.8 + 0.25 * arc(tick))) + rng.randint(-spread, spread)))

    # expression curves (CC11): the arc, every quarter of a beat; a swell over the lead-in
    step = PPQ // 4
    for channel, t in tracks.items():
        if channel == CH_DRUMS:
            continue
        last = -1
        for tick in range(0, lead_ticks, step):
            value = round(127 * arc(0) * (0.6 + 0.4 * tick / lead_ticks))
            if value != last:
                t.control(channel, 11, value, tick)
                last = value
        t.offset = lead_ticks  # from here on, ticks count from the first downbeat
        for tick in range(0, total + step, step):
            value = round(127 * arc(min(tick, total)))
            if value != last:
                t.control(channel, 11, value, tick)
                last = value

    for t in tracks.values():
        t.offset = lead_ticks

    # pad: sustained voicings, voice-led
    if CH_PAD in tracks:
        previous: list[int] | None = None
        lo, hi = profile.pad_range
        for slot in slots:
            notes = _voicing(slot.chord.pitch_classes(key), lo, hi, previous, 4 if len(slot.chord.intervals) > 3 else 3)
            previous = notes
            begin = slot.start - (lead_ticks if slot is slots[0] else 0)  # the lead-in ties into the first chord
            for n in notes:
                tracks[CH_PAD].note(CH_PAD, n, begin, slot.end - begin, vel(62, slot.start, 3))

    # bass
    lo, hi = profile.bass_range
    tonic_bass = _in_range(key.tonic, lo, hi)
    for si, slot in enumerate(slots):
        last_slot = si == len(slots) - 1
        root = _in_range((key.tonic + slot.chord.root) % 12, lo, hi)
        fifth = root + 7 if root + 7 <= hi else root - 5
        t = tracks[CH_BASS]
        pattern = profile.bass_pattern
        if last_slot or pattern == "whole":
            t.note(CH_BASS, root, slot.start, slot.end - slot.start, vel(72, slot.start))
            continue
        if pattern == "pedal":
            t.note(CH_BASS, tonic_bass, slot.start, slot.end - slot.start, vel(66, slot.start))
            continue
        for bar_start in range(slot.start, slot.end, bar_ticks):
            bar_end = min(slot.end, bar_start + bar_ticks)
            if pattern == "pulse8":
                for k, tick in enumerate(range(bar_start, bar_end, PPQ // 2)):
                    t.note(CH_BASS, root, tick, PPQ * 2 // 5, vel(80 if k % 2 == 0 else 58, tick))
            elif pattern == "half":
                t.note(CH_BASS, root, bar_start, min(2 * PPQ, bar_end - bar_start), vel(74, bar_start))
                if bar_start + 2 * PPQ < bar_end:
                    t.note(CH_BASS, fifth, bar_start + 2 * PPQ, bar_end - bar_start - 2 * PPQ, vel(64, bar_start))
            elif pattern == "oompah":
                for beat, note in ((0, root), (2, fifth)):
                    tick = bar_start + beat * PPQ
                    if tick < bar_end:
                        t.note(CH_BASS, note, tick, PPQ * 2 // 3, vel(82, tick))
            elif pattern == "march":
                t.note(CH_BASS, root, bar_start, PPQ * 3 // 2, vel(84, bar_start))
                if bar_start + 2 * PPQ < bar_end:
                    t.note(CH_BASS, fifth, bar_start + 2 * PPQ, PPQ, vel(76, bar_start))
                if bar_start + 3 * PPQ < bar_end:
                    t.note(CH_BASS, root, bar_start + 3 * PPQ, PPQ, vel(70, bar_start))

    # accompaniment
    if CH_RHYTHM in tracks:
        _rhythm(tracks[CH_RHYTHM], profile, key, slots, bar_ticks, total, rng, vel)

    # melody
    if CH_MELODY in tracks:
        _melody(tracks[CH_MELODY], profile, key, slots, bar_ticks, n_bars, total, rng, vel)

    # percussion
    if CH_TIMPANI in tracks:
        timp = tracks[CH_TIMPANI]
        for si, slot in enumerate(slots):
            root = _in_range((key.tonic + slot.chord.root) % 12, 40, 52)
            for bar_start in range(slot.start, slot.end, bar_ticks):
                if profile.percussion == "heartbeat":
                    if (bar_start // bar_ticks) % 2 == 0 or si == len(slots) - 1:
                        timp.note(CH_TIMPANI, root, bar_start, PPQ, vel(78, bar_start))
                        if bar_start + PPQ * 3 // 4 < slot.end:
                            timp.note(CH_TIMPANI, root, bar_start + PPQ * 3 // 4, PPQ, vel(56, bar_start))
                else:
                    timp.note(CH_TIMPANI, root, bar_start, PPQ, vel(76, bar_start))
                    if bar_start + 2 * PPQ < slot.end and si < len(slots) - 1:
                        timp.note(CH_TIMPANI, _in_range((key.tonic + slot.chord.root + 7) % 12, 40, 52),
                                  bar_start + 2 * PPQ, PPQ, vel(64, bar_start))
        # a roll into the final chord
        last = slots[-1]
        roll_start = max(0, last.start - PPQ)
        tonic_timp = _in_range(key.tonic, 40, 52)
        if profile.percussion == "timpani+cymbal":
            for k, tick in enumerate(range(roll_start, last.start, PPQ // 8)):
                timp.note(CH_TIMPANI, tonic_timp, tick, PPQ // 8, 40 + 4 * k)
    if CH_DRUMS in tracks:
        drums = tracks[CH_DRUMS]
        for slot in slots:
            if slot.bar % 8 == 0 or slot is slots[-1]:
                drums.note(CH_DRUMS, 49, slot.start, PPQ * 2, vel(62 if slot.bar else 50, slot.start))

    release = round(RELEASE_SECONDS * ticks_per_second)
    meta.end_tick = lead_ticks + total + release
    for t in midi.tracks:
        t.offset, t.limit = 0, None
    return ComposedCue(
        midi=midi, mood=mood, key=key, tempo=tempo, seconds=midi.seconds_at(lead_ticks + total), lead=lead,
        progression=tuple(s.chord.numeral for s in slots), programs=programs,
        level_db=LEVEL_DB + profile.level_db,
    )


def _apply_description(profile: MoodProfile, description: str | None) -> MoodProfile:
    """Instrument words in the cue's description override the mood's choices."""
    words = _words(description)
    lead = next((INSTRUMENT_WORDS[w][0] for w in words if INSTRUMENT_WORDS.get(w, (0, ""))[1] == "lead"), None)
    bed = next((INSTRUMENT_WORDS[w][0] for w in words if INSTRUMENT_WORDS.get(w, (0, ""))[1] == "bed"), None)
    changes: dict[str, Any] = {}
    if lead is not None:
        changes["melody"] = lead
    if bed is not None:
        changes["pad"] = bed
        if profile.pad is None:
            changes["volumes"] = (88,) + profile.volumes[1:]
    if "low" in words or "deep" in words:
        lo, hi = changes.get("pad_range", profile.pad_range)
        changes["pad_range"] = (lo - 7, hi - 7)
    return replace(profile, **changes) if changes else profile


def _rhythm(t: Track, profile: MoodProfile, key: Key, slots: list[_Slot], bar_ticks: int, total: int,
            rng: random.Random, vel) -> None:
    lo, hi = profile.rhythm_range
    pattern = profile.rhythm_pattern
    ch = CH_RHYTHM
    previous: list[int] | None = None
    for si, slot in enumerate(slots):
        pcs = slot.chord.pitch_classes(key)
        chord = _voicing(pcs, lo, min(hi, lo + 16), previous, 3)
        previous = chord
        final = si == len(slots) - 1
        if final:  # one last arpeggiated chord, let ring
            for k, n in enumerate(chord):
                tick = slot.start + k * PPQ // 4
                if tick < slot.end:
                    t.note(ch, n, tick, slot.end - tick, vel(58, slot.start))
            continue
        if pattern in ("arp8", "arp4", "harp"):
            tones = sorted(set(chord + [n + 12 for n in chord]))
            if pattern == "harp":
                tones = sorted(set(tones + [n + 24 for n in chord if n + 24 <= hi + 12]))
            if pattern == "arp8":
                seq = tones[:4] + tones[4:6][::-1] if len(tones) >= 6 else tones + tones[::-1][1:-1]
            elif pattern == "arp4":
                seq = tones[:3] + [tones[1]]
            else:
                seq = tones
            step = PPQ // 2 if pattern in ("arp8", "harp") else PPQ
            for k, tick in enumerate(range(slot.start, slot.end, step)):
                n = seq[k % len(seq)]
                dur = step * (3 if pattern != "harp" else 4)
                t.note(ch, n, tick, min(dur, total - tick), vel(56 if k % 4 else 64, tick))
        elif pattern == "ostinato8":
            root = chord[0]
            cell = [root, root, root + 7 if (root + 7) % 12 in pcs else root, root]
            for k, tick in enumerate(range(slot.start, slot.end, PPQ // 2)):
                t.note(ch, cell[k % 4], tick, PPQ * 2 // 5, vel(70 if k % 2 == 0 else 52, tick))
        elif pattern == "stabs":
            for bar_start in range(slot.start, slot.end, bar_ticks):
                for beat, length, v in ((0.0, 1.0, 82), (1.5, 0.5, 70), (2.0, 1.5, 78)):
                    tick = bar_start + round(beat * PPQ)
                    if tick < slot.end:
                        for n in chord:
                            t.note(ch, n, tick, round(length * PPQ * 0.9), vel(v, tick))
        elif pattern == "offbeat":
            for bar_start in range(slot.start, slot.end, bar_ticks):
                for beat in (1, 3):
                    tick = bar_start + beat * PPQ
                    if tick < slot.end:
                        for n in chord:
                            t.note(ch, n, tick, PPQ // 3, vel(66, tick))
        elif pattern == "sparkle":
            tones = [n for n in range(lo, hi + 1) if n % 12 in pcs]
            for tick in range(slot.start, slot.end, PPQ // 2):
                if rng.random() < 0.22:
                    t.note(ch, rng.choice(tones), tick, PPQ * 2, vel(50, tick, 10))


def _melody(t: Track, profile: MoodProfile, key: Key, slots: list[_Slot], bar_ticks: int, n_bars: int, total: int,
            rng: random.Random, vel) -> None:
    ch = CH_MELODY
    center = profile.melody_center
    lo, hi = center - 10, center + 10
    cells = _CELLS[profile.melody_density]
    motif_rhythm = rng.choice(cells)
    leaps = (-2, -1, -1, 1, 1, 2, 2, 3, -3) if profile.name != "eerie" else (-1, 1, 1, -2, 4, -4, 3)
    motif_steps = [rng.choice(leaps) for _ in motif_rhythm[1:]]
    slot_of_bar = {}
    for slot in slots:
        for b in range(slot.bar, slot.bar + max(1, (slot.end - slot.start + bar_ticks - 1) // bar_ticks)):
            slot_of_bar.setdefault(b, slot)
    intro = 1 if n_bars >= 4 else 0
    pitch = float(center)
    phrase_len = 4 if n_bars >= 6 else 2
    final_slot = slots[-1]

    def place(bar: int, rhythm: Sequence[float], steps: Sequence[int], start_pitch: float) -> float:
        slot = slot_of_bar.get(bar, final_slot)
        pcs = slot.chord.pitch_classes(key)
        scale = [n for n in range(lo - 12, hi + 13) if n % 12 in _bar_scale(key, pcs)]
        note = _nearest(start_pitch, pcs, lo, hi)
        beat = 0.0
        for k, length in enumerate(rhythm):
            if k:
                idx = min(range(len(scale)), key=lambda i: abs(scale[i] - note))
                idx = max(0, min(len(scale) - 1, idx + steps[(k - 1) % len(steps)]))
                note = scale[idx]
                if beat in (0.0, 2.0):
                    note = _nearest(note, pcs, lo, hi)
                if note > hi:
                    note -= 12
                elif note < lo:
                    note += 12
            tick = bar * bar_ticks + round(beat * PPQ)
            if tick >= final_slot.start and bar >= final_slot.bar:
                break
            dur = round(length * PPQ * 0.95)
            t.note(ch, note, tick, dur, vel(76 if beat == 0 else 68, tick))
            beat += length
        return float(note)

    bar = intro
    phrase = 0
    while bar < final_slot.bar:
        plays = profile.melody_rests[phrase % len(profile.melody_rests)] == "M"
        for k in range(phrase_len):
            b = bar + k
            if b >= final_slot.bar:
                break
            if not plays:
                continue
            if k == 0:
                pitch = place(b, motif_rhythm, motif_steps, pitch)
            elif k == 1 or (k == 2 and phrase_len == 4 and phrase % 2 == 0):
                pitch = place(b, motif_rhythm, motif_steps, pitch + rng.choice((-2, 2, 3, -3)))
            elif k == 2:
                variation = rng.choice(cells)
                pitch = place(b, variation, [-s for s in motif_steps] or [1], pitch)
            else:  # the phrase's cadence: one long chord tone
                pitch = place(b, (float(profile.meter),), [0], pitch - 1)
        bar += phrase_len
        phrase += 1
    # the last note: the tonic, held to the end
    end_note = _nearest(pitch, (key.tonic,), lo, hi)
    t.note(ch, end_note, final_slot.start, total - final_slot.start, vel(70, final_slot.start))
