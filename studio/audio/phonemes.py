"""When each phoneme of a spoken line sounds: a sidecar beside the line's cached WAV.

The animatic's lip-sync closes the lips on m, b and p and shows the teeth on f and v
at the moments the voice says them. Those moments come from the engine that spoke the
line, with the line's own voice, rate, pitch and delivery:

* **espeak-ng**: libespeak-ng's phoneme and word events (:func:`espeak_timing`, in a
  fresh process: libespeak-ng keeps state from one synthesis to the next), set up with
  the same voice file, variant, words a minute and ``-p`` pitch as
  :meth:`~studio.audio.tts_espeak.EspeakEngine.options`. Its audio is played back as the
  engine plays it (at its rate times the pitch factor) and aligned to the WAV studio
  wrote (trimmed, levelled, padded by the delivery's pause, resampled to 48 kHz) by the
  cross-correlation of the two envelopes (2 ms steps).
* **Piper**: the model's own durations. Its graph is rewritten to give each phoneme
  id's frames (:mod:`studio.audio.piper_noise`, as piper-tts's
  ``patch_voice_with_alignment`` does), and
  :meth:`~studio.audio.tts_piper.PiperEngine.synthesize_timed` carries them through the
  line's trims, sentence gaps, pitch resampling and pause: the phonemes (Piper's IPA,
  whose m, b, p, f and v are espeak-ng's letters) where the WAV has them. Its words are
  timed as below.
* **Any other engine** (or an espeak-ng without its options, or a Piper sentence the
  model could not align): espeak-ng's en-us at 175 words a minute stretched over the
  voiced stretch of the WAV (Piper phonemises with espeak-ng en-us, so the phonemes
  agree; the timing is proportional, not the model's own).

The sidecar is ``<key>.phonemes.json`` next to ``<key>.wav``: canonical JSON (times in
seconds of the WAV, rounded to 0.1 ms), written atomically, the same bytes in any
process. A cached line without one gets it when it is next needed
(:func:`line_timing`); a line whose timing cannot be made (no libespeak-ng) has none,
and the animatic reads its shapes from the audio alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.atomic import atomic_output

#: bump when what goes into a sidecar changes: every sidecar is then made anew
TIMING_VERSION = "studio-phonemes 2"
ALIGN_STEP = 0.002  # seconds: the envelopes' step when aligning the engine's audio to the WAV
FALLBACK_VOICE, FALLBACK_WPM = "en-us", 175


@dataclass(frozen=True)
class LineTiming:
    """A spoken line's phonemes and words, in seconds of its WAV: ``phonemes`` as
    ``(start, espeak-ng mnemonic)``, ``words`` as ``(start, 0-based character offset in
    spoken_text(text))``; ``source`` says how they were timed."""

    phonemes: tuple[tuple[float, str], ...]
    words: tuple[tuple[float, int], ...]
    source: str

    def to_json(self) -> bytes:
        doc = {"version": TIMING_VERSION, "source": self.source,
               "phonemes": [[round(t, 4), p] for t, p in self.phonemes],
               "words": [[round(t, 4), o] for t, o in self.words]}
        return (json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode("ascii")

    @classmethod
    def from_json(cls, data: bytes) -> LineTiming | None:
        doc = json.loads(data)
        if doc.get("version") != TIMING_VERSION:
            return None
        return cls(tuple((float(t), str(p)) for t, p in doc["phonemes"]),
                   tuple((float(t), int(o)) for t, o in doc["words"]), str(doc["source"]))


def timing_path(wav: Path | str) -> Path:
    """The sidecar of a cached line's WAV."""
    wav = Path(wav)
    return wav.with_name(wav.stem + ".phonemes.json")


def read_timing(wav: Path | str) -> LineTiming | None:
    """The sidecar beside ``wav``, or None when it is missing, unreadable or outdated."""
    try:
        return LineTiming.from_json(timing_path(wav).read_bytes())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_timing(wav: Path | str, timing: LineTiming) -> Path:
    path = timing_path(wav)
    with atomic_output(path) as tmp:
        Path(tmp).write_bytes(timing.to_json())
    return path


def line_timing(engine: Any, text: str, voice: Any, delivery: Any, wav: Path | str,
                samples: np.ndarray | None = None, rate: int = 0, *, fresh: bool = False,
                own: tuple[tuple[float, str], ...] | None = None) -> LineTiming | None:
    """The line's timing from its sidecar, made (and written) when missing or ``fresh``
    (the WAV was just spoken): ``engine`` spoke ``text`` with ``voice`` and ``delivery``
    into ``wav`` (``samples`` at ``rate``: its audio, read from ``wav`` when not given);
    ``own``: the phonemes' times the engine gave as it spoke (an engine with
    ``synthesize_timed`` speaks the line again for them when the sidecar is missing, so
    a sidecar is the same whenever it is made). None when espeak-ng cannot time it (a
    stale sidecar is then removed)."""
    found = None if fresh else read_timing(wav)
    if found is not None:
        return found
    if own is None and callable(getattr(engine, "synthesize_timed", None)):
        own = engine.synthesize_timed(text, voice, delivery)[1]
    if samples is None:
        from studio.audio.wav import read_wav

        speech = read_wav(wav)
        samples, rate = speech.samples, speech.sample_rate
    try:
        timing = time_line(engine, text, voice, delivery, samples, rate, own=own)
    except (OSError, ValueError):
        timing_path(wav).unlink(missing_ok=True)
        return None
    write_timing(wav, timing)
    return timing


def time_line(engine: Any, text: str, voice: Any, delivery: Any, samples: np.ndarray, rate: int,
              own: tuple[tuple[float, str], ...] | None = None) -> LineTiming:
    """Time ``text`` as ``engine`` spoke it into ``samples`` (see the module's notes);
    ``own``: the phonemes' times (seconds of ``samples``) as the engine gave them."""
    options = getattr(engine, "options", None)  # EspeakEngine.options: the command line it spoke with
    if getattr(engine, "name", "") == "espeak-ng" and callable(options):
        args, factor, _ = options(voice, delivery)
        opts = dict(zip(args[0::2], args[1::2]))
        events, words, audio, own_rate = espeak_timing(text, opts["-v"], int(opts["-s"]), int(opts["-p"]))
        shift = align(audio, own_rate * factor, samples, rate)
        return LineTiming(tuple((t / factor + shift, p) for t, p in events),
                          tuple((t / factor + shift, o) for t, o in words), "espeak-ng events, aligned")
    events, words, audio, own_rate = espeak_timing(text, FALLBACK_VOICE, FALLBACK_WPM)
    span, line = voiced_span(audio, own_rate), voiced_span(samples, rate)
    if span is None or line is None or span[1] <= span[0]:
        raise ValueError("no voiced audio to time")
    k = (line[1] - line[0]) / (span[1] - span[0])
    stretched = tuple((line[0] + (t - span[0]) * k, o) for t, o in words)
    if own is not None:
        return LineTiming(tuple(own), stretched, "the engine's own durations; words: espeak-ng en-us, stretched")
    return LineTiming(tuple((line[0] + (t - span[0]) * k, p) for t, p in events), stretched,
                      "espeak-ng en-us, stretched")


def align(own: np.ndarray, own_rate: float, spoken: np.ndarray, rate: int, step: float = ALIGN_STEP) -> float:
    """Seconds to add to a time in ``own`` (the engine's audio, played at ``own_rate``)
    to find it in ``spoken``: the lag with the envelopes most alike."""
    a, b = _log_envelope(own, own_rate, step), _log_envelope(spoken, rate, step)
    corr = np.correlate(b - b.mean(), a - a.mean(), mode="full")
    return float((int(np.argmax(corr)) - (len(a) - 1)) * step)


def _log_envelope(x: np.ndarray, rate: float, step: float) -> np.ndarray:
    """log10 power in windows of ``step`` seconds (window edges at exact multiples)."""
    x = np.asarray(x, np.float64)
    edges = np.round(np.arange(0.0, len(x) / rate + 1e-9, step) * rate).astype(np.int64)
    if len(edges) < 2:
        return np.zeros(1)
    power = np.add.reduceat(x * x, edges[:-1]) / np.maximum(1, np.diff(edges))
    return np.log10(power + 1e-8)


def voiced_span(x: np.ndarray, rate: int) -> tuple[float, float] | None:
    """The seconds from the first to the last sound within 35 dB of the loudest (10 ms steps)."""
    hop = max(1, rate // 100)
    n = len(x) // hop
    if n == 0:
        return None
    level = 10 * np.log10((np.asarray(x[:n * hop], float).reshape(n, hop) ** 2).mean(axis=1) + 1e-12)
    on = np.nonzero(level > level.max() - 35.0)[0]
    if len(on) == 0:
        return None
    return on[0] * hop / rate, (on[-1] + 1) * hop / rate


# --------------------------------------------------------------------------- libespeak-ng's events

# libespeak-ng keeps state from one synthesis to the next (the same text comes out a few
# samples and milliseconds different each time), so every line is timed by a fresh
# process: the same text always gets the same timing, whatever was spoken before.
_CHILD = r"""
import ctypes, ctypes.util, json, sys
req = json.loads(sys.stdin.buffer.readline())
lib = ctypes.CDLL(ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1")
class Ev(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("uid", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]
rate = lib.espeak_Initialize(2, 0, None, 1)
events, words, chunks = [], [], []
def on_synth(wav, count, ev):
    if count > 0:
        chunks.append(ctypes.string_at(wav, count * 2))
    k = 0
    while ev[k].type != 0:
        if ev[k].type == 7:
            events.append([ev[k].audio_position, ev[k].id.split(b"\0")[0].decode("ascii", "replace")])
        elif ev[k].type == 1:
            words.append([ev[k].audio_position, ev[k].text_position, ev[k].length])
        k += 1
    return 0
cb = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(Ev))(on_synth)
lib.espeak_SetSynthCallback(cb)
if lib.espeak_SetVoiceByName(req["voice"].encode()) != 0 and req.get("strict", True):
    sys.exit("unknown voice")
lib.espeak_SetParameter(1, int(req["wpm"]), 0)
if req.get("pitch") is not None:
    lib.espeak_SetParameter(3, int(req["pitch"]), 0)
raw = req["text"].encode("utf-8")
lib.espeak_Synth(raw, len(raw) + 1, 0, 1, 0, 1, None, None)
lib.espeak_Synchronize()
out = sys.stdout.buffer
out.write((json.dumps({"rate": rate, "events": events, "words": words}) + "\n").encode())
out.write(b"".join(chunks))
out.flush()
"""


def spoken_text(text: str) -> str:
    """``text`` as it goes to espeak-ng (whitespace collapsed): word positions refer to it."""
    return " ".join(text.split()).replace("[[", "[ [")


def espeak_timing(text: str, voice: str, words_per_minute: int, pitch: int | None = None, *, strict: bool = True
                  ) -> tuple[list[tuple[float, str]], list[tuple[float, int]], np.ndarray, int]:
    """espeak-ng's phonemes for ``text`` with their start (seconds), its words (start,
    0-based character offset in :func:`spoken_text`), the audio it made and its sample
    rate, through libespeak-ng's events (the command line has no timings without
    mbrola), in a fresh process. ``voice`` is what espeak-ng's ``-v`` takes (a language,
    a voice file, ``+variant``), ``pitch`` its ``-p``; a voice espeak-ng does not
    know is an OSError when ``strict``, else its default voice speaks. Text goes in as text (JSON on
    standard input), never as SSML, phoneme input or an argument. OSError when it
    cannot run."""
    request = {"text": spoken_text(text), "voice": voice, "wpm": int(words_per_minute),
               "pitch": None if pitch is None else int(pitch), "strict": strict}
    try:
        done = subprocess.run([sys.executable, "-I", "-S", "-c", _CHILD], input=(json.dumps(request) + "\n").encode(),
                              capture_output=True, timeout=60, check=False)
    except subprocess.TimeoutExpired as e:
        raise OSError(f"espeak-ng phoneme timing timed out: {e}") from None
    head, _, body = done.stdout.partition(b"\n")
    if done.returncode != 0 or not head:
        raise OSError(f"espeak-ng phoneme timing failed: {done.stderr.decode('utf-8', 'replace')[-300:]}")
    info = json.loads(head)
    audio = np.frombuffer(body[:len(body) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    events = [(pos / 1000.0, str(name)) for pos, name in info["events"]]
    words = [(pos / 1000.0, int(at) - 1) for pos, at, _ in info.get("words", [])]
    return events, words, (audio if len(audio) else np.zeros(1, np.float32)), int(info["rate"])
