"""The transformers (VITS) engine, on a tiny random-weight model made here: no network."""

from __future__ import annotations

import json

import numpy as np
import pytest

from studio.audio import dsp, voices
from studio.audio.voices import Delivery, VoiceSettings, get_engine

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_vits(tmp_path_factory):
    import torch
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    folder = tmp_path_factory.mktemp("tiny-vits")
    vocab = {"<pad>": 0, "<unk>": 1}
    for ch in " abcdefghijklmnopqrstuvwxyz'.,!?-":
        vocab[ch] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    tokenizer = VitsTokenizer(str(folder / "vocab.json"), phonemize=False, add_blank=True, normalize=True)
    config = VitsConfig(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, ffn_dim=16,
        flow_size=8, spectrogram_bins=17, upsample_initial_channel=16, upsample_rates=[8, 8, 4],
        upsample_kernel_sizes=[16, 16, 8], resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]],
        prior_encoder_num_flows=1, prior_encoder_num_wavenet_layers=1, posterior_encoder_num_wavenet_layers=1,
        duration_predictor_num_flows=1, duration_predictor_filter_channels=16, depth_separable_num_layers=1,
        sampling_rate=16_000, window_size=2,
    )
    torch.manual_seed(0)
    VitsModel(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def test_transformers_engine_speaks_from_a_local_folder(tiny_vits, monkeypatch):
    monkeypatch.setenv("STUDIO_TTS_MODEL", str(tiny_vits))
    monkeypatch.delitem(voices._ENGINES, "transformers", raising=False)
    engine = get_engine("transformers")
    try:
        assert isinstance(engine, voices.TTSEngine)
        assert engine.voices() == ["default"] and engine.has_voice("default")
        assert "sha256:" in engine.version
        voice = VoiceSettings("transformers", "default", 1.0, 0.0, 4)
        short = engine.synthesize("hello there", voice, Delivery())
        long = engine.synthesize("hello there, this is a much longer line of dialogue for the test", voice, Delivery())
        assert short.sample_rate == dsp.OUTPUT_RATE
        assert long.seconds > 2 * short.seconds
        again = engine.synthesize("hello there", voice, Delivery())
        assert np.array_equal(short.samples, again.samples)  # seeded
        beat = engine.synthesize("hello there", voice, Delivery.from_parenthetical("beat"))
        assert dsp.leading_silence(beat.samples, 48_000) >= 0.8
    finally:
        voices._ENGINES.pop("transformers", None)


def test_transformers_engine_refuses_a_folder_without_a_model(tmp_path, monkeypatch):
    from studio.errors import StudioError

    monkeypatch.setenv("STUDIO_TTS_MODEL", str(tmp_path))
    monkeypatch.delitem(voices._ENGINES, "transformers", raising=False)
    with pytest.raises(StudioError, match="not a saved VITS model"):
        get_engine("transformers")
