"""Integrated loudness (ITU-R BS.1770-4 / EBU R128) measured while the mix streams.

The mix is made in blocks; :class:`LoudnessMeter` takes them one by one (any block
sizes: the filter state carries over) and gives the gated integrated loudness at the
end, so the normalising gain is known after one pass. ffmpeg's ``ebur128`` then
measures the delivered result independently, and that measurement is what the
render report states.
"""

from __future__ import annotations

import math

import numpy as np

RATE = 48_000
# K-weighting at 48 kHz (BS.1770-4, table 1 and 2): a high shelf, then a high pass
_SHELF_B = np.array([1.53512485958697, -2.69169618940638, 1.19839281085285])
_SHELF_A = np.array([1.0, -1.69065929318241, 0.73248077421585])
_HIGHPASS_B = np.array([1.0, -2.0, 1.0])
_HIGHPASS_A = np.array([1.0, -1.99004745483398, 0.99007225036621])
_BLOCK = int(0.4 * RATE)  # 400 ms gating blocks
_STEP = int(0.1 * RATE)  # 75% overlap
ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0


class LoudnessMeter:
    """Feed stereo float blocks (n x 2) at 48 kHz; read :attr:`integrated` (LUFS)."""

    def __init__(self) -> None:
        self._zi = [[np.zeros(2), np.zeros(2)] for _ in range(2)]  # per channel: shelf, high-pass
        self._energy = np.zeros(0)  # K-weighted channel-summed squares not yet in a full step
        self._steps: list[float] = []  # mean square of each 100 ms step
        self.peak = 0.0  # sample peak (linear)

    def add(self, block: np.ndarray) -> None:
        if len(block) == 0:
            return
        from scipy.signal import lfilter  # imported here: a cached film's render never needs scipy

        x = np.asarray(block, dtype=np.float64)
        self.peak = max(self.peak, float(np.max(np.abs(x))))
        power = np.zeros(len(x))
        for ch in range(min(2, x.shape[1])):
            y, self._zi[ch][0] = lfilter(_SHELF_B, _SHELF_A, x[:, ch], zi=self._zi[ch][0])
            y, self._zi[ch][1] = lfilter(_HIGHPASS_B, _HIGHPASS_A, y, zi=self._zi[ch][1])
            power += y * y
        energy = np.concatenate([self._energy, power])
        whole = len(energy) // _STEP * _STEP
        if whole:
            self._steps.extend(energy[:whole].reshape(-1, _STEP).mean(axis=1).tolist())
        self._energy = energy[whole:]

    @property
    def integrated(self) -> float:
        """Gated integrated loudness in LUFS (-inf for silence)."""
        steps = np.asarray(self._steps)
        if len(steps) < 4:
            return float("-inf")
        blocks = np.convolve(steps, np.ones(4) / 4, mode="valid")  # 400 ms blocks every 100 ms
        loudness = -0.691 + 10 * np.log10(np.maximum(blocks, 1e-20))
        kept = blocks[loudness > ABSOLUTE_GATE]
        if not len(kept):
            return float("-inf")
        relative = -0.691 + 10 * math.log10(kept.mean()) + RELATIVE_GATE
        gated = kept[-0.691 + 10 * np.log10(kept) > relative]
        if not len(gated):
            return float("-inf")
        return -0.691 + 10 * math.log10(gated.mean())
