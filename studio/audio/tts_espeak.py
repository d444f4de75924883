"""The espeak-ng engine: the system formant synthesizer (``apt-get install espeak-ng``).

A voice is ``language[+variant]``: ``en-us``, ``en-gb+f2``, ``en-us+klatt4``. It is
passed to espeak-ng by its voice file (``gmw/en+f2``): espeak-ng 1.51 silently drops
the variant after some language names (``-v en-gb+f2`` speaks plain en-gb) but never
after a file. Settings map to espeak-ng's options: rate -> ``-s`` words per minute
(175 at rate 1); pitch -> ``-p`` (0-99; the semitone table below was measured on
espeak-ng 1.51, ``-p 50`` = 0 st, reaching -6.6..+8.8 st; any shift beyond that is
made by resampling, with the speed corrected); a whisper delivery -> the ``whisper``
variant (``whisperf`` for female variants). The level is set afterwards (every line is
levelled the same way on every engine), so ``-a`` stays at 100, where espeak-ng never
clips.

Text never touches a shell or the argument list: it goes to espeak-ng on standard
input (``--stdin``), without SSML (no ``-m``), and the output is a temporary WAV file.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
import wave
from pathlib import Path

import numpy as np

from studio.audio import dsp
from studio.audio.tts import ESPEAK_DEFAULT_VOICES, Delivery, Speech, VoiceSettings
from studio.errors import MissingToolError, RenderError, StudioError

WORDS_PER_MINUTE = 175  # espeak-ng's own default, our rate 1.0
# (-p value, semitones from -p 50), measured: median F0 of en-us over a sentence
PITCH_TABLE = (
    (0, -6.57), (10, -5.61), (20, -4.42), (30, -3.20), (40, -1.70), (50, 0.0),
    (60, 1.69), (70, 3.40), (80, 5.22), (90, 7.18), (99, 8.83),
)
INSTALL_HINT = "install it: sudo apt-get install espeak-ng (./run.sh setup does this)"


def pitch_option(semitones: float) -> tuple[int, float]:
    """espeak-ng's ``-p`` for a shift in semitones, and the shift it cannot make."""
    ps = np.array([p for p, _ in PITCH_TABLE], dtype=float)
    st = np.array([s for _, s in PITCH_TABLE])
    reachable = float(np.clip(semitones, st[0], st[-1]))
    p = int(round(float(np.interp(reachable, st, ps))))
    return p, semitones - float(np.interp(p, ps, st))


def clean_text(text: str) -> str:
    """Plain words for espeak-ng: whitespace collapsed and its ``[[phoneme]]`` input
    broken up, so screenplay text is always read as text."""
    text = " ".join(text.split())
    return text.replace("[[", "[ [").replace("]]", "] ]")


class EspeakEngine:
    name = "espeak-ng"
    voice_hint = (
        "a voice is LANGUAGE or LANGUAGE+VARIANT, e.g. en-us+m3 "
        "(`espeak-ng --voices`, `espeak-ng --voices=variant`)"
    )

    def __init__(self, program: str | None = None) -> None:
        found = shutil.which(program or "espeak-ng")
        if not found:
            raise MissingToolError("espeak-ng is not installed", hint=INSTALL_HINT)
        self.program = found
        self._lock = threading.Lock()
        self._version: str | None = None
        self._languages: dict[str, str] | None = None
        self._variants: dict[str, str] | None = None  # name -> gender (M/F/-)

    def _run(self, *args: str, stdin: bytes | None = None, timeout: float = 60) -> str:
        try:
            done = subprocess.run(
                [self.program, *args], input=stdin, capture_output=True, timeout=timeout, check=False
            )
        except FileNotFoundError:
            raise MissingToolError("espeak-ng is not installed", hint=INSTALL_HINT) from None
        except subprocess.TimeoutExpired:
            raise RenderError(f"espeak-ng took over {timeout:.0f} s") from None
        if done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace").strip()
            raise RenderError(f"espeak-ng failed (exit {done.returncode}): {err[:500]}")
        return done.stdout.decode("utf-8", "replace")

    # -- protocol ----------------------------------------------------------------
    @property
    def version(self) -> str:
        if self._version is None:
            out = self._run("--version")
            m = re.search(r"text-to-speech:\s*(\S+)", out)
            self._version = f"espeak-ng {m.group(1) if m else out.strip()[:60]}"
        return self._version

    @property
    def default_voice(self) -> str:
        return ESPEAK_DEFAULT_VOICES[0]

    def _load_lists(self) -> None:
        with self._lock:
            if self._languages is None:
                languages: dict[str, str] = {}  # language -> voice file
                for row in self._run("--voices").splitlines()[1:]:
                    parts = row.split()
                    if len(parts) >= 5 and parts[1] != "variant" and not parts[4].startswith("mb/"):
                        languages.setdefault(parts[1], parts[4])
                variants: dict[str, str] = {}
                for row in self._run("--voices=variant").splitlines()[1:]:
                    m = re.match(r"\s*\d+\s+variant\s+\S+/(\S)\s+.*?\s!v/(.+?)\s*(\(|$)", row)
                    if m:
                        variants[m.group(2)] = m.group(1)
                self._variants = variants
                self._languages = languages

    def languages(self) -> list[str]:
        self._load_lists()
        return list(self._languages or {})

    def variants(self) -> dict[str, str]:
        self._load_lists()
        return dict(self._variants or {})

    def voices(self) -> list[str]:
        langs = self.languages()
        english = sorted(lang for lang in langs if lang.startswith("en"))
        rest = sorted(lang for lang in langs if not lang.startswith("en"))
        ready = [v for v in ESPEAK_DEFAULT_VOICES if self.has_voice(v)]
        return ready + english + rest

    def has_voice(self, voice: str) -> bool:
        base, plus, variant = voice.partition("+")
        if base not in self.languages():
            return False
        return not plus or variant in self.variants()

    # -- synthesis ---------------------------------------------------------------------
    def options(self, voice: VoiceSettings, delivery: Delivery) -> tuple[list[str], float, bool]:
        """espeak-ng's arguments (no text), the pitch factor left to resampling, and
        whether the whisper variant replaced the voice's own."""
        if not self.has_voice(voice.voice):
            raise StudioError(
                f"unknown espeak-ng voice {voice.voice!r}", hint=self.voice_hint
            )
        base, _, variant = voice.voice.partition("+")
        whisper = delivery.breath >= 0.6
        if whisper:
            female = self.variants().get(variant, "M") == "F" or variant.lower().startswith("f")
            variant = "whisperf" if female and "whisperf" in self.variants() else "whisper"
        p, rest = pitch_option(voice.pitch + delivery.pitch)
        factor = 2.0 ** (rest / 12.0)
        wpm = int(round(np.clip(WORDS_PER_MINUTE * voice.rate * delivery.rate / factor, 80, 450)))
        # by voice file: espeak-ng 1.51 silently drops the variant of some language
        # names ("en-gb+f2" speaks plain en-gb) but never of a file ("gmw/en+f2")
        file = (self._languages or {}).get(base, base)
        name = f"{file}+{variant}" if variant else file
        return ["-v", name, "-s", str(wpm), "-p", str(p), "-a", "100", "-b", "1"], factor, whisper

    def synthesize(self, text: str, voice: VoiceSettings, delivery: Delivery) -> Speech:
        args, factor, whisper = self.options(voice, delivery)
        words = clean_text(text)
        with tempfile.TemporaryDirectory(prefix="studio-espeak-") as tmp:
            out = Path(tmp) / "line.wav"
            self._run(*args, "-w", str(out), "--stdin", stdin=(words + "\n").encode("utf-8"), timeout=120)
            raw, rate = read_pcm_wav(out)
        shifted = dsp.resample(raw, rate * factor, dsp.OUTPUT_RATE)
        seed = voice.seed ^ (hash_text(text) & 0xFFFFFFFF)
        samples = dsp.finish(
            shifted, dsp.OUTPUT_RATE, gain_db=delivery.gain_db,
            breath=0.0 if whisper else delivery.breath, pause=delivery.pause, seed=seed,
        )
        return Speech(samples, dsp.OUTPUT_RATE)


def hash_text(text: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def read_pcm_wav(path: Path) -> tuple[np.ndarray, int]:
    """Samples (float32, mono) and rate of a 16-bit PCM WAV file."""
    from studio.audio.wav import read_wav

    try:
        speech = read_wav(path)
    except ValueError:
        with wave.open(str(path), "rb") as w:
            width = w.getsampwidth()
        raise RenderError(f"espeak-ng wrote {8 * width}-bit audio; expected 16-bit") from None
    return speech.samples, speech.sample_rate
