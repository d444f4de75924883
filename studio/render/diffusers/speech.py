"""Speech drives the picture: a shot's spoken lines as LTX-2's own audio tokens, held
clean while the video is denoised around them.

LTX-2 is one transformer over two token streams, video and audio, joined by
audio-to-video and video-to-audio cross-attention. Its own audio-to-video pipeline
(Lightricks' ltx-pipelines ``A2VidPipelineTwoStage``) turns the given audio into a
log-mel spectrogram (ltx-core ``AudioProcessor``: 16 kHz, 1024-point STFT, hop 160, 64
Slaney mel bins up to 8 kHz, magnitude, ``log(max(mel, 1e-5))``), encodes it with the
audio VAE (the posterior's mean) and keeps that audio *frozen* at every step (noise
scale 0, timestep 0) while only the video is denoised; the transformer's
audio-to-video attention is what moves the mouths to the speech.

studio does the same through diffusers' components: :func:`log_mel` and
:func:`encode_speech` make the tokens with the loaded pipeline's own ``audio_vae``, and
:class:`SpeechHold` is a forward pre-hook on the pipeline's transformer that, at every
call (every step, every guidance pass), puts the clean speech tokens in place of the
audio stream's tokens over the spoken span and gives those tokens timestep 0. Audio
tokens outside the spoken span (silence between lines, before and after) are left to
the model, which makes the room and foley there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from studio.audio import dsp

#: ltx-core AudioProcessor / AudioEncoder defaults (packages/ltx-core/src/ltx_core/model/audio_vae/ops.py,
#: audio_vae.py): the spectrogram LTX-2's audio VAE was trained on
N_FFT = 1024
LOG_FLOOR = 1e-5


@dataclass(frozen=True)
class ChunkSpeech:
    """The speech of one generation call: mono float32 ``samples`` at ``sample_rate``
    covering the call's frames (context frames included), and the ``(start, end)``
    seconds, from the call's first frame, where a line is spoken."""

    samples: np.ndarray
    sample_rate: int
    spans: tuple[tuple[float, float], ...]


def chunk_speech(samples: np.ndarray, sample_rate: int, spans: tuple[tuple[float, float], ...], start: float,
                 seconds: float) -> ChunkSpeech | None:
    """The window ``[start, start + seconds)`` of a shot's speech track (times in seconds
    from the shot's start; before the shot and past its end is silence), or None when no
    line is spoken in it."""
    local = tuple((max(0.0, a - start), min(seconds, b - start)) for a, b in spans
                  if b > start and a < start + seconds)
    if not local:
        return None
    count = round(seconds * sample_rate)
    first = round(start * sample_rate)
    window = np.zeros(count, dtype=np.float32)
    lo, hi = max(0, first), min(len(samples), first + count)
    if hi > lo:
        window[lo - first:hi - first] = samples[lo:hi]
    return ChunkSpeech(window, sample_rate, local)


def slaney_mel_filters(sample_rate: int, n_fft: int, n_mels: int, f_max: float | None = None) -> np.ndarray:
    """``(n_fft // 2 + 1, n_mels)`` triangular filters on the Slaney mel scale with Slaney
    (area) normalisation, from 0 Hz to ``f_max`` (Nyquist): torchaudio's
    ``melscale_fbanks(..., norm="slaney", mel_scale="slaney")``, which ltx-core uses."""
    f_max = sample_rate / 2 if f_max is None else f_max
    freqs = np.linspace(0, sample_rate // 2, n_fft // 2 + 1)
    points = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(f_max), n_mels + 2))
    widths = np.diff(points)
    slopes = points[None, :] - freqs[:, None]
    down = -slopes[:, :-2] / widths[:-1]
    up = slopes[:, 2:] / widths[1:]
    filters = np.maximum(0.0, np.minimum(down, up))
    return filters * (2.0 / (points[2:n_mels + 2] - points[:n_mels]))[None, :]


_F_SP = 200.0 / 3  # Slaney: linear below 1 kHz (66.7 Hz a mel), logarithmic above
_MIN_LOG_HZ = 1000.0
_LOGSTEP = math.log(6.4) / 27.0


def _hz_to_mel(hz: Any) -> Any:
    hz = np.asarray(hz, dtype=np.float64)
    mel = hz / _F_SP
    log = hz >= _MIN_LOG_HZ
    return np.where(log, _MIN_LOG_HZ / _F_SP + np.log(np.maximum(hz, 1e-12) / _MIN_LOG_HZ) / _LOGSTEP, mel)


def _mel_to_hz(mel: Any) -> Any:
    mel = np.asarray(mel, dtype=np.float64)
    min_log_mel = _MIN_LOG_HZ / _F_SP
    return np.where(mel >= min_log_mel, _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel - min_log_mel)), _F_SP * mel)


def log_mel(samples: np.ndarray, sample_rate: int, *, target_rate: int, hop: int, n_mels: int,
            channels: int) -> torch.Tensor:
    """The log-mel spectrogram LTX-2's audio VAE encodes: ``(1, channels, frames, n_mels)``
    float32 (mono speech is given to every channel), ``frames = samples / hop + 1``."""
    x = dsp.resample(np.asarray(samples, dtype=np.float32), sample_rate, target_rate) if sample_rate != target_rate \
        else np.asarray(samples, dtype=np.float32)
    wave = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    spec = torch.stft(wave, n_fft=N_FFT, hop_length=hop, win_length=N_FFT, window=torch.hann_window(N_FFT),
                      center=True, pad_mode="reflect", normalized=False, onesided=True, return_complex=True).abs()
    filters = torch.from_numpy(slaney_mel_filters(target_rate, N_FFT, n_mels).astype(np.float32))
    mel = torch.log(torch.clamp(filters.T @ spec, min=LOG_FLOOR))  # (n_mels, frames)
    return mel.T.unsqueeze(0).unsqueeze(0).expand(1, channels, -1, -1).contiguous()


def latent_rate(pipe: Any) -> float:
    """Audio latent frames a second: the audio VAE's rate / hop / its temporal compression (25 for LTX-2)."""
    return pipe.audio_sampling_rate / pipe.audio_hop_length / float(pipe.audio_vae_temporal_compression_ratio)


def audio_frames(pipe: Any, frames: int, fps: float) -> int:
    """How many audio latent frames the pipeline makes for ``frames`` video frames at ``fps``
    (``LTX2ConditionPipeline``: ``round(frames / fps * latent rate)``)."""
    return round(frames / fps * latent_rate(pipe))


def encode_speech(pipe: Any, speech: ChunkSpeech, frames: int) -> torch.Tensor:
    """The speech as the audio VAE's latents ``(1, channels, frames, mel bins)`` (the
    posterior's mean, as ltx-core encodes audio), cut or padded with silence's latents to
    ``frames`` latent frames: the ``audio_latents`` a pipeline call takes."""
    vae = pipe.audio_vae
    mel = log_mel(speech.samples, speech.sample_rate, target_rate=pipe.audio_sampling_rate,
                  hop=pipe.audio_hop_length, n_mels=pipe.audio_mel_bins, channels=vae.config.in_channels)
    # the device the pipeline runs on: with offload the VAE's weights sit on the CPU (or the meta device)
    # until its hook moves them, and that hook moves the module, not the spectrogram
    device = getattr(pipe, "_execution_device", None) or next(vae.parameters()).device
    with torch.no_grad():
        latents = vae.encode(mel.to(device=device, dtype=vae.dtype)).latent_dist.mode().float()
    if latents.shape[2] < frames:  # the end of the window: silence's latents continue it
        pad = latents[:, :, -1:].expand(-1, -1, frames - latents.shape[2], -1)
        latents = torch.cat([latents, pad], dim=2)
    return latents[:, :, :frames].cpu()


def held_frames(pipe: Any, speech: ChunkSpeech, frames: int) -> torch.Tensor:
    """A bool per audio latent frame: True where a spoken span covers any of it (latent
    frame i is ``[i / rate, (i + 1) / rate)`` seconds)."""
    rate = latent_rate(pipe)
    held = torch.zeros(frames, dtype=torch.bool)
    for start, end in speech.spans:
        held[max(0, math.floor(start * rate)):min(frames, math.ceil(end * rate))] = True
    return held


def packed_tokens(pipe: Any, latents: torch.Tensor) -> torch.Tensor:
    """``latents`` as the transformer sees audio: packed to ``(1, frames, channels x bins)``
    and normalised with the audio VAE's statistics, as ``prepare_audio_latents`` does."""
    packed = pipe._pack_audio_latents(latents)
    return pipe._normalize_audio_latents(packed, pipe.audio_vae.latents_mean, pipe.audio_vae.latents_std)


@dataclass
class SpeechHold:
    """A forward pre-hook on an LTX-2 transformer: the held audio tokens are the clean
    speech tokens, at timestep 0, at every call. ``calls`` counts the calls it held."""

    tokens: torch.Tensor  # (1, frames, features), normalised
    held: torch.Tensor  # (frames,) bool
    calls: int = 0
    _handle: Any = field(default=None, repr=False)

    def __call__(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        audio = kwargs.get("audio_hidden_states")
        if audio is None or audio.shape[1] != self.held.shape[0]:
            return args, kwargs
        held = self.held.to(audio.device)
        audio = audio.clone()
        audio[:, held] = self.tokens.to(device=audio.device, dtype=audio.dtype)[:, held]
        kwargs["audio_hidden_states"] = audio
        timestep = kwargs.get("audio_timestep")
        if timestep is None:
            timestep = kwargs["timestep"]
            timestep = timestep if timestep.ndim == 1 else timestep.max(dim=1).values
        per_token = timestep.reshape(-1, 1).float().expand(audio.shape[0], audio.shape[1]).clone()
        per_token[:, held] = 0.0
        kwargs["audio_timestep"] = per_token.to(timestep.dtype)
        if bool(held.all()):  # the whole stream is known: its noise level is 0 (as ltx-core's frozen audio)
            sigma = kwargs.get("audio_sigma")
            if sigma is not None:
                kwargs["audio_sigma"] = torch.zeros_like(sigma)
        self.calls += 1
        return args, kwargs

    def attach(self, transformer: Any) -> SpeechHold:
        # first of the hooks, so anything that watches the transformer sees what it is given
        self._handle = transformer.register_forward_pre_hook(self, with_kwargs=True, prepend=True)
        return self

    def detach(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
