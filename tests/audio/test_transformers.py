"""The transformers (VITS) engine through the model registry, on a tiny random-weight
model made here: no network, no hub id."""

from __future__ import annotations

import json

import numpy as np
import pytest

from studio.audio import dsp, tts
from studio.audio.tts import Delivery, VoiceSettings, get_engine
from studio.audio.voices import check_voices
from studio.errors import StudioError
from studio.models import ModelSpec, Registry
from tests.audio.helpers import screenplay

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from studio.audio.tts_transformers import TransformersEngine


@pytest.fixture(scope="module")
def tiny_vits(tmp_path_factory):
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    torch.set_num_threads(1)
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
    VitsModel(config).eval().save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    """HF_HUB_OFFLINE with an empty hub cache: no built-in model is on disk."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))


def test_transformers_engine_speaks_with_a_registry_model(tiny_vits):
    from transformers import VitsModel

    registry = Registry({
        "tiny-vits": ModelSpec("tiny-vits", "vits", str(tiny_vits)),
        "not-a-voice": ModelSpec("not-a-voice", "musicgen", str(tiny_vits)),
    })
    engine = TransformersEngine(registry)
    assert isinstance(engine, tts.TTSEngine)
    assert engine.voices() == ["tiny-vits"] and engine.default_voice == "tiny-vits"
    assert engine.has_voice("tiny-vits") and engine.has_voice("default")
    assert not engine.has_voice("not-a-voice") and not engine.has_voice("nobody")
    assert "vits sha256:" in engine.version and registry._loaded == {}  # nothing loaded to say so

    voice = VoiceSettings("transformers", "tiny-vits", 1.0, 0.0, 4)
    short = engine.synthesize("hello there", voice, Delivery())
    assert isinstance(registry.load("tiny-vits", None).model, VitsModel)  # loaded through the registry, once
    long = engine.synthesize("hello there, this is a much longer line of dialogue for the test", voice, Delivery())
    assert short.sample_rate == dsp.OUTPUT_RATE
    assert long.seconds > 2 * short.seconds
    again = engine.synthesize("hello there", voice, Delivery())
    assert np.array_equal(short.samples, again.samples)  # seeded
    default = engine.synthesize("hello there", VoiceSettings("transformers", "default", 1.0, 0.0, 4), Delivery())
    assert np.array_equal(short.samples, default.samples)  # "default" is the first vits model
    beat = engine.synthesize("hello there", voice, Delivery.from_parenthetical("beat"))
    assert dsp.leading_silence(beat.samples, 48_000) >= 0.8


def test_the_engine_version_follows_the_weights(tiny_vits, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_vits, copy)
    same = TransformersEngine(Registry({"v": ModelSpec("v", "vits", str(copy))})).version
    assert same == TransformersEngine(Registry({"v": ModelSpec("v", "vits", str(tiny_vits))})).version
    (copy / "model.safetensors").write_bytes((copy / "model.safetensors").read_bytes()[:-4] + b"\0\0\0\0")
    assert TransformersEngine(Registry({"v": ModelSpec("v", "vits", str(copy))})).version != same


def test_speaker_voices_of_a_multi_speaker_model(tiny_vits):
    registry = Registry({"many": ModelSpec("many", "vits", str(tiny_vits), options={"speakers": 3}),
                         "one": ModelSpec("one", "vits", str(tiny_vits))})
    engine = TransformersEngine(registry)
    assert engine.voices() == ["many", "many:speaker-0", "many:speaker-1", "many:speaker-2", "one"]
    assert engine.resolve("many:speaker-2") == ("many", 2)
    assert not engine.has_voice("many:speaker-3")
    assert engine.has_voice("one:speaker-1")  # speakers unknown until it loads
    with pytest.raises(StudioError, match="has 1 speaker"):
        engine.synthesize("hi", VoiceSettings("transformers", "one:speaker-1"), Delivery())


def test_a_folder_without_a_model_is_a_clear_error(tmp_path):
    engine = TransformersEngine(Registry({"empty": ModelSpec("empty", "vits", str(tmp_path))}))
    with pytest.raises(StudioError, match="not a saved VITS model"):
        engine.synthesize("hello", VoiceSettings("transformers", "empty"), Delivery())


def test_get_engine_uses_the_default_registry(tiny_vits, tmp_path, monkeypatch, offline_hub):
    models = tmp_path / "models.yaml"
    models.write_text(f"models:\n  tiny-vits: {{family: vits, source: {tiny_vits}}}\n", encoding="utf-8")
    monkeypatch.setenv("STUDIO_MODELS", str(models))
    monkeypatch.delitem(tts._ENGINES, "transformers", raising=False)
    try:
        engine = get_engine("transformers")
        assert engine.voices() == ["mms-tts-eng", "tiny-vits"]  # built-ins first, then the user's file
        assert engine.default_voice == "mms-tts-eng"
        speech = engine.synthesize("hello", VoiceSettings("transformers", "tiny-vits"), Delivery())
        assert speech.seconds > 0
        with pytest.raises(StudioError, match="not on this machine"):  # the built-in is not downloaded
            engine.synthesize("hello", VoiceSettings("transformers", "mms-tts-eng"), Delivery())

        sp = screenplay(
            """\
            - {id: ana, name: Ana, voice: {engine: transformers, voice: tiny-vits}}
            - {id: ben, name: Ben, voice: {engine: transformers, voice: tiny-vit}}
            - {id: cy, name: Cy, voice: {engine: transformers}}
            """,
            "- {speaker: ana, line: Hi.}",
        )
        problems = check_voices(sp)
        assert [p.field for p in problems] == ["characters[1].voice.voice"]
        assert "unknown transformers voice 'tiny-vit'" in problems[0].message
        assert "mms-tts-eng, tiny-vits" in problems[0].hint and "registry" in problems[0].hint
        assert problems[0].hint.startswith("did you mean 'tiny-vits'?")
    finally:
        tts._ENGINES.pop("transformers", None)
