"""The speech LTX-2 generates around: ltx-core's log-mel spectrogram, the window of a
shot's lines under one generation call, and which audio latent frames are held."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("torch")

from studio.render.diffusers.speech import (  # noqa: E402
    ChunkSpeech,
    _hz_to_mel,
    _mel_to_hz,
    chunk_speech,
    log_mel,
    slaney_mel_filters,
)

RATE = 48000


def _tone(hz: float, seconds: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.5 * np.sin(2 * math.pi * hz * t)).astype(np.float32)


def test_the_slaney_mel_scale():
    # linear below 1 kHz (200/3 Hz a mel), logarithmic above: 1 kHz is mel 15, 6.4 kHz 27 mels later
    assert _hz_to_mel(1000.0) == pytest.approx(15.0)
    assert _hz_to_mel(6400.0) == pytest.approx(15.0 + 27.0)
    for hz in (0.0, 123.0, 999.0, 1000.0, 4321.0, 8000.0):
        assert _mel_to_hz(_hz_to_mel(hz)) == pytest.approx(hz)


def test_the_mel_filters_cover_the_band_as_ltx_cores_do():
    filters = slaney_mel_filters(16000, 1024, 64)
    assert filters.shape == (513, 64) and (filters >= 0).all()
    freqs = np.linspace(0, 8000, 513)
    centres = (filters * freqs[:, None]).sum(0) / filters.sum(0)
    assert (np.diff(centres) > 0).all()  # bands rise in pitch
    assert centres[0] < 100 and centres[-1] > 7000  # 0 Hz to Nyquist
    # Slaney normalisation: each triangle has (about) the same area, 1 over its half-width... in Hz: a
    # triangle of height h over [f0, f2] has area h (f2 - f0) / 2 = 1
    width = freqs[1] - freqs[0]
    areas = filters.sum(0) * width
    assert np.allclose(areas[8:-1], 1.0, rtol=0.1)


def test_log_mel_is_the_spectrogram_ltx2s_audio_vae_reads():
    mel = log_mel(_tone(1000.0, 1.0), RATE, target_rate=16000, hop=160, n_mels=64, channels=2)
    assert tuple(mel.shape) == (1, 2, 101, 64)  # 16 kHz / hop 160 = 100 a second, +1 (centred STFT)
    assert mel.dtype.is_floating_point and bool((mel[0, 0] == mel[0, 1]).all())  # mono to both channels
    loudest = int(mel[0, 0, 50].argmax())
    centres = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(8000.0), 66))[1:-1]
    assert abs(centres[loudest] - 1000.0) < 120  # the tone's band
    silent = log_mel(np.zeros(RATE, np.float32), RATE, target_rate=16000, hop=160, n_mels=64, channels=2)
    assert float(silent.max()) == pytest.approx(math.log(1e-5))  # the floor: log(max(mel, 1e-5))


def test_a_calls_window_of_the_shots_speech():
    samples = np.arange(RATE * 3, dtype=np.float32)  # 3 s; sample i holds i
    spans = ((0.5, 1.0), (2.0, 2.5))
    window = chunk_speech(samples, RATE, spans, start=0.75, seconds=1.5)
    assert isinstance(window, ChunkSpeech)
    assert window.spans == ((0.0, 0.25), (1.25, 1.5))  # seconds from the call's first frame, cut to it
    assert len(window.samples) == round(1.5 * RATE) and window.samples[0] == round(0.75 * RATE)
    # a call that starts before the shot (context frames from the shot before): silence there
    before = chunk_speech(samples, RATE, spans, start=-0.5, seconds=1.25)
    assert before is not None and before.spans == ((1.0, 1.25),)
    assert not before.samples[:round(0.5 * RATE)].any() and before.samples[round(0.5 * RATE)] == 0.0
    assert before.samples[round(0.5 * RATE) + 10] == 10.0
    assert chunk_speech(samples, RATE, spans, start=1.0, seconds=1.0) is None  # no line spoken in it
