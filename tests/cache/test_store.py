"""The shot store: content-addressed entries that exist only once complete."""

from __future__ import annotations

import numpy as np

from studio.cache.store import ShotStore, default_cache_dir, shot_key


def put(store: ShotStore, key: str):
    path = store.clip_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not really an mp4")
    tail = np.zeros((8, 10, 3), np.uint8)
    tail[2, 3] = (1, 2, 3)
    return store.put(key, "s1-01", frames=10, fps=24, width=10, height=8, tails=[tail], thumb=tail,
                     render_seconds=0.5)


def test_put_then_get(tmp_path):
    store = ShotStore(tmp_path)
    key = "ab" + "0" * 62
    clip = put(store, key)
    again = store.get(key)
    assert again == clip
    assert clip.path == tmp_path / "clips" / "ab" / f"{key}.mp4"
    (tail,) = store.tail_frames(clip)
    assert tuple(tail[2, 3]) == (1, 2, 3)  # lossless


def test_incomplete_entries_do_not_exist(tmp_path):
    store = ShotStore(tmp_path)
    key = "cd" + "1" * 62
    assert store.get(key) is None
    clip = put(store, key)
    clip.tails[0].unlink()
    assert store.get(key) is None


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
