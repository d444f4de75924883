"""The music-model score, on a tiny random-weight MusicGen made here: the real classes
(MusicgenForConditionalGeneration, MusicgenProcessor = T5 tokenizer + Encodec feature
extractor) saved with save_pretrained and loaded back through the model registry. No
network, no hub id."""

from __future__ import annotations

import json

import numpy as np
import pytest

from studio.audio.score import ScoreResult, ScoreTrack
from studio.audio.wav import wav_frames, wav_info
from studio.errors import StudioError
from studio.models import ModelSpec, Registry
from studio.screenplay.model import MusicCue

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from studio.audio.music_transformers import (
    MusicModel,
    compose_prompt,
    score_film_with_model,
)

NAME = "tiny-musicgen"
WORDS = "film score tense tender eerie low strings piano horn timpani cello flute bpm minor major cinematic underscore"


def _tokenizer():
    from transformers import T5TokenizerFast

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [("\u2581" + w, -float(i + 1)) for i, w in enumerate(WORDS.split())]
    vocab += [(c, -20.0) for c in "abcdefghijklmnopqrstuvwxyz0123456789,#\u2581"]
    return T5TokenizerFast(vocab=vocab, extra_ids=0)


def _save_tiny_musicgen(folder, seed: int = 0) -> None:
    from transformers import (
        EncodecConfig,
        EncodecFeatureExtractor,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        MusicgenProcessor,
        T5Config,
    )

    tokenizer = _tokenizer()
    text = T5Config(vocab_size=96, d_model=16, d_ff=16, d_kv=8, num_layers=1, num_heads=2)
    # 16 kHz with a hop of 640 samples: 25 codec frames a second, 2 codebooks of 64 codes
    codec = EncodecConfig(hidden_size=16, compress=1, num_filters=4, codebook_size=64, codebook_dim=16,
                          sampling_rate=16_000, upsampling_ratios=[8, 5, 4, 4], num_lstm_layers=1,
                          audio_channels=1, chunk_length_s=None, overlap=None, target_bandwidths=[0.3])
    decoder = MusicgenDecoderConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                    ffn_dim=16, pad_token_id=64, decoder_start_token_id=64, bos_token_id=64,
                                    num_codebooks=2, tie_word_embeddings=False, audio_channels=1)
    config = MusicgenConfig(text_encoder=text, audio_encoder=codec, decoder=decoder)
    assert len(tokenizer) <= text.vocab_size
    torch.manual_seed(seed)
    model = MusicgenForConditionalGeneration(config).eval()
    with torch.no_grad():  # Encodec's codebooks start as zeros (every code the same sound): randomise them
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
            layer.codebook.embed_avg.copy_(layer.codebook.embed)
    model.save_pretrained(str(folder))
    processor = MusicgenProcessor(feature_extractor=EncodecFeatureExtractor(feature_size=1, sampling_rate=16_000),
                                  tokenizer=tokenizer)
    processor.save_pretrained(str(folder))


@pytest.fixture(scope="module")
def tiny_musicgen(tmp_path_factory):
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("tiny-musicgen")
    _save_tiny_musicgen(folder)
    return folder


def _registry(folder, **options) -> Registry:
    options = {"guidance": 3.0, "max_seconds": 2.0, **options}  # 2 s windows: a scene takes several
    return Registry({
        NAME: ModelSpec(NAME, "musicgen", str(folder), options=options),
        "tiny-vits": ModelSpec("tiny-vits", "vits", str(folder)),
    })


@pytest.fixture(scope="module")
def registry(tiny_musicgen):
    return _registry(tiny_musicgen)


SCENES = [
    ("s1", MusicCue(mood="tense", tempo=84, key="D minor", description="low strings"), 0.0, 2.5),
    ("s2", None, 2.5, 3.2, "tender"),
]
CROSSFADE = 1.0


def test_prompt_from_the_cue_and_the_hint():
    cue = MusicCue(mood="tense", tempo=84, key="D minor", description="low strings")
    assert compose_prompt(cue) == "tense film score, low strings, 84 BPM, D minor, cinematic underscore"
    hinted = compose_prompt(None, "tender")
    assert hinted.startswith("tender film score, slow strings") and "76 BPM, F major" in hinted
    assert compose_prompt(None) == "neutral film score, strings, piano, oboe, 90 BPM, C major, cinematic underscore"
    # a description alone picks the mood and keeps its words
    assert compose_prompt(MusicCue(description="a lonely piano.")).startswith("melancholy film score, a lonely piano,")


def test_the_model_loads_once_through_the_registry(registry):
    from transformers import MusicgenForConditionalGeneration, MusicgenProcessor

    model = MusicModel.load(registry, NAME)
    assert MusicModel.load(registry, NAME) is model
    assert isinstance(model.model, MusicgenForConditionalGeneration) and not model.model.training
    assert isinstance(model.processor, MusicgenProcessor)
    assert (model.sampling_rate, model.frame_rate, model.hop, model.channels) == (16_000, 25.0, 640, 1)
    assert model.settings.max_seconds == 2.0 and model.settings.guidance == 3.0


def test_long_cues_are_continued_window_by_window(registry):
    model = MusicModel.load(registry, NAME)
    state = torch.random.get_rng_state()
    audio, info = model.generate("tense film score", 4.5, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's generator is untouched
    assert audio.shape[0] == 1 and audio.shape[1] >= 4.5 * 16_000
    assert info["joins"] == "continuation" and info["windows"] >= 3
    again, _ = model.generate("tense film score", 4.5, seed=3)
    assert np.array_equal(audio, again)
    other, _ = model.generate("tense film score", 4.5, seed=4)
    assert not np.array_equal(audio, other)


def test_without_continuation_windows_are_crossfaded(tiny_musicgen):
    model = MusicModel.load(_registry(tiny_musicgen, continuation=False), NAME)
    samples, info = model.render("tense film score", 3.0, seed=1)
    assert info["joins"] == "crossfade" and info["windows"] >= 2
    assert samples.shape == (144_000, 2) and samples.dtype == np.float32


def _bytes(result: ScoreResult) -> dict[str, bytes]:
    return {c.scene_id: c.wav_path.read_bytes() for c in result.cues}


def test_score_film_with_model(registry, tmp_path):
    result = score_film_with_model(SCENES, tmp_path / "cache", 7, registry, NAME, crossfade=CROSSFADE)
    assert result.rendered == ["s1", "s2"] and result.midi_paths == {}
    for cue, scene in zip(result.cues, SCENES):
        info = wav_info(cue.wav_path)
        assert (info.rate, info.channels, info.bits, info.fmt) == (48_000, 2, 16, 1)
        # the scene plus half a crossfade at each end, as the MIDI cues
        assert info.frames / 48_000 == pytest.approx(scene[3] + CROSSFADE, abs=0.1)
        assert (cue.start, cue.seconds, cue.lead) == (scene[2], scene[3], CROSSFADE / 2)
        assert cue.wav_path.parent.parent == tmp_path / "cache" / "score-model"
        assert cue.wav_path.name == f"{cue.key}.wav" and cue.wav_path.parent.name == cue.key[:2]
        assert cue.midi_path is None and result.wav_paths[cue.scene_id] == cue.wav_path
        record = json.loads(cue.wav_path.with_suffix(".json").read_text())
        assert record["joins"] == "continuation" and record["windows"] >= 2
        x = wav_frames(cue.wav_path).astype(np.float64) / 32768
        assert -26 < 20 * np.log10(np.sqrt(np.mean(x * x))) < -17  # levelled like the MIDI cues
        assert np.max(np.abs(x)) <= 10 ** (-1 / 20) + 1e-3
    assert result.cues[0].mood == "tense" and result.cues[0].music_key == "D minor"
    assert result.cues[1].mood == "tender" and result.cues[1].tempo == 76
    first = _bytes(result)

    # content-addressed: nothing rendered the second time, and no model is loaded
    fresh = _registry(registry.get(NAME).source)
    again = score_film_with_model(SCENES, tmp_path / "cache", 7, fresh, NAME, crossfade=CROSSFADE)
    assert again.rendered == [] and again.reused == ["s1", "s2"] and fresh._loaded == {}
    assert _bytes(again) == first

    # deterministic: a fresh cache gets the same bytes
    elsewhere = score_film_with_model(SCENES, tmp_path / "other", 7, registry, NAME, crossfade=CROSSFADE)
    assert elsewhere.rendered == ["s1", "s2"] and _bytes(elsewhere) == first

    # a changed cue re-renders only its scene
    changed = [SCENES[0], ("s2", MusicCue(mood="eerie"), 2.5, 3.2)]
    seen = []
    third = score_film_with_model(changed, tmp_path / "cache", 7, registry, NAME, crossfade=CROSSFADE,
                                  progress=lambda scene_id, rendered: seen.append((scene_id, rendered)))
    assert third.rendered == ["s2"] and seen == [("s1", False), ("s2", True)]
    assert third.cues[0].wav_path == result.cues[0].wav_path
    assert third.cues[1].wav_path != result.cues[1].wav_path

    # and another film seed is other music
    reseeded = score_film_with_model(SCENES, tmp_path / "cache", 8, registry, NAME, crossfade=CROSSFADE)
    assert reseeded.rendered == ["s1", "s2"]

    # ScoreTrack streams them as it streams the MIDI cues
    length = round(5.7 * 48_000)
    track = ScoreTrack([(c.wav_path, c.start, c.seconds, c.lead) for c in result.cues], crossfade=CROSSFADE,
                       length=length)
    whole = track.read(0, length)
    assert whole.shape == (length, 2) and np.isfinite(whole).all()
    assert np.array_equal(np.concatenate(list(track.blocks(48_000 // 3))), whole)
    assert np.sqrt(np.mean(whole[48_000:4 * 48_000] ** 2)) > 0.01  # music throughout, across the cut
    assert result.track.length == length


def test_the_music_model_must_be_a_musicgen(registry, tmp_path):
    with pytest.raises(StudioError, match="family 'vits'"):
        score_film_with_model(SCENES, tmp_path, 0, registry, "tiny-vits")
    with pytest.raises(StudioError, match="no model named 'musicgen-smal'"):
        score_film_with_model(SCENES, tmp_path, 0, Registry(), "musicgen-smal")


def test_unknown_options_are_refused(tiny_musicgen, tmp_path):
    with pytest.raises(StudioError, match=r"unknown musicgen options \['steps'\]"):
        score_film_with_model(SCENES, tmp_path, 0, _registry(tiny_musicgen, steps=3), NAME)
    with pytest.raises(StudioError, match="context_seconds must be less"):
        score_film_with_model(SCENES, tmp_path, 0, _registry(tiny_musicgen, context_seconds=2.0), NAME)


def test_a_hub_model_not_on_disk_is_a_clear_error_offline(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    with pytest.raises(StudioError, match="not on this machine and HF_HUB_OFFLINE is set"):
        score_film_with_model(SCENES, tmp_path / "cache", 0, Registry(), "musicgen-small")
