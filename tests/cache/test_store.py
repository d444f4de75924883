"""The shot store: content-addressed entries that exist only once complete, and are
never used when their bytes changed."""

from __future__ import annotations

import os

import numpy as np

from studio.cache.store import ShotStore, default_cache_dir, shot_key


def put(store: ShotStore, key: str, content: bytes = b"not really an mp4"):
    path = store.clip_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    tail = np.zeros((8, 10, 3), np.uint8)
    tail[2, 3] = (1, 2, 3)
    return store.put(key, "s1-01", film="f.yaml", seed=7, backend="animatic", frames=10, fps=24, tails=[tail],
                     thumb=tail, render_seconds=0.5)


def test_put_then_get(tmp_path):
    store = ShotStore(tmp_path)
    key = "ab" + "0" * 62
    clip = put(store, key)
    again = ShotStore(tmp_path).get(key)
    assert again == clip
    assert clip.path == tmp_path / "clips" / "ab" / f"{key}.mp4"
    (tail,) = store.tail_frames(clip)
    assert tuple(tail[2, 3]) == (1, 2, 3)  # lossless
    record = store.manifest.render(key)
    assert record.seed == 7 and record.shot_id == "s1-01" and record.frames == 10


def test_incomplete_entries_do_not_exist(tmp_path):
    store = ShotStore(tmp_path)
    key = "cd" + "1" * 62
    assert store.get(key) is None
    path = store.clip_path(key)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"a clip with no record (a run killed before recording it)")
    assert store.get(key) is None
    clip = put(store, key)
    clip.tails[0].unlink()
    assert store.get(key) is None


def test_a_flipped_byte_is_detected_and_the_entry_removed(tmp_path):
    store = ShotStore(tmp_path)
    key = "ef" + "2" * 62
    clip = put(store, key, b"\x00" * 4096)
    data = bytearray(clip.path.read_bytes())
    data[1000] ^= 0xFF
    clip.path.write_bytes(bytes(data))
    assert store.get(key) is None
    assert store.corrupt == [key] and not clip.path.exists() and store.manifest.render(key) is None


def test_silent_corruption_is_found_when_verifying(tmp_path):
    store = ShotStore(tmp_path)
    key = "aa" + "3" * 62
    clip = put(store, key, b"\x00" * 4096)
    stat = clip.path.stat()
    with open(clip.path, "r+b") as f:  # same size, and the old mtime put back
        f.seek(10)
        f.write(b"\x01")
    os.utime(clip.path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert store.get(key) is not None  # the quick check trusts size and mtime
    assert store.get(key, verify=True) is None  # the full check does not


def test_key_changes_with_every_input():
    base = shot_key({"shot": "a"}, {"previous_clip": None}, {"name": "animatic"}, {"crf": 20})
    assert base == shot_key({"shot": "a"}, {"previous_clip": None}, {"name": "animatic"}, {"crf": 20})
    assert base != shot_key({"shot": "b"}, {"previous_clip": None}, {"name": "animatic"}, {"crf": 20})
    assert base != shot_key({"shot": "a"}, {"previous_clip": "x"}, {"name": "animatic"}, {"crf": 20})
    assert base != shot_key({"shot": "a"}, {"previous_clip": None}, {"name": "diffusers"}, {"crf": 20})
    assert base != shot_key({"shot": "a"}, {"previous_clip": None}, {"name": "animatic"}, {"crf": 21})


def test_cache_dir_choice(monkeypatch, tmp_path):
    monkeypatch.delenv("STUDIO_CACHE", raising=False)
    assert str(default_cache_dir()) == "cache"
    monkeypatch.setenv("STUDIO_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path
    assert str(default_cache_dir("mine")) == "mine"


def test_a_shot_sound_is_stored_beside_the_clip_at_48_khz(tmp_path):
    from studio.audio.dsp import resample
    from studio.audio.wav import wav_frames, wav_info
    from studio.render.backend import ShotSound

    store = ShotStore(tmp_path)
    key = "5d" + "4" * 62
    noise = np.random.default_rng(3).uniform(-0.5, 0.5, (24_000 * 10 // 24, 2)).astype(np.float32)
    noise[7, 1] = 1.7  # out of range: clipped, not wrapped
    path = store.clip_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not really an mp4")
    tail = np.zeros((8, 10, 3), np.uint8)
    clip = store.put(key, "s1-01", film="f.yaml", seed=7, backend="talkie", frames=10, fps=24, tails=[tail],
                     thumb=tail, render_seconds=0.5, sound=ShotSound(noise, 24_000))
    assert clip.sound == path.with_name(f"{key}.sound.wav")
    info = wav_info(clip.sound)
    assert (info.rate, info.channels, info.bits, info.fmt) == (48_000, 2, 16, 1)
    assert info.frames == 48_000 * 10 // 24  # the shot's length, at 48 kHz
    written = np.asarray(wav_frames(clip.sound)).astype(np.float64) / 32767  # the writer's full scale
    expected = np.clip(resample(noise, 24_000, 48_000), -1.0, 1.0)
    assert written.shape == expected.shape
    assert np.max(np.abs(written - expected)) <= 0.5 / 32767 + 1e-7  # pcm16 rounding
    assert written[:, 1].max() <= 1.0 and written[14:16, 1].max() > 0.99  # the hot sample clipped at full scale
    assert ShotStore(tmp_path).get(key) == clip  # get() finds the sound
    assert store.remove(key) and not clip.sound.exists()


def test_a_clip_without_sound_is_whole(tmp_path):
    store = ShotStore(tmp_path)
    key = "6e" + "5" * 62
    clip = put(store, key)
    assert clip.sound is None and store.get(key) is not None and store.get(key).sound is None
