"""The model registry: built-ins, the user's file, screenplay entries, sources and keys.
Tiny random-weight models made here; no network, no hub id loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.errors import StudioError
from studio.models import BUILTIN, USER_FILE_ENV, ModelSpec, Registry, resolve_source, user_file


@pytest.fixture
def no_user_file(tmp_path, monkeypatch):
    monkeypatch.setenv(USER_FILE_ENV, str(tmp_path / "absent.yaml"))


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    """HF_HUB_OFFLINE and an empty HF_HOME: nothing from the hub is on disk."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))


def _save_tiny(folder: Path, seed: int) -> Path:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.set_num_threads(1)
    config = transformers.GPT2Config(vocab_size=32, n_positions=16, n_embd=8, n_layer=1, n_head=2)
    torch.manual_seed(seed)
    transformers.GPT2Model(config).eval().save_pretrained(str(folder))
    return folder


def test_builtins(no_user_file):
    registry = Registry.default()
    assert registry.get("mms-tts-eng").family == "vits"
    assert registry.get("musicgen-small").family == "musicgen"
    assert registry.get("musicgen-small").options["max_seconds"] == 30
    assert registry.names("wan") == ["wan2.1-i2v-14b-480p", "wan2.1-t2v-1.3b", "wan2.1-t2v-14b-lightx2v",
                                      "wan2.1-vace-1.3b", "wan2.2-i2v-a14b", "wan2.2-t2v-a14b", "wan2.2-ti2v-5b",
                                      "wan2.2-ti2v-5b-i2v", "wan2.2-vace-fun-a14b"]
    assert set(registry.specs) == set(BUILTIN)


def test_user_file_merges_over_the_builtins(tmp_path, monkeypatch):
    folder = tmp_path / "conf"
    folder.mkdir()
    path = folder / "models.yaml"
    path.write_text(
        "models:\n"
        "  musicgen-small:\n"
        "    family: musicgen\n"
        "    source: ./weights/musicgen\n"
        "    dtype: float16\n"
        "    device: cpu\n"
        "    options: {guidance: 4.0}\n"
        "  my-tts: {family: vits, source: org/my-tts, revision: v2, description: mine}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv(USER_FILE_ENV, str(path))
    assert user_file() == path
    registry = Registry.default()
    music = registry.get("musicgen-small")
    assert music.source == str(folder / "weights" / "musicgen")  # relative to the file's folder
    assert (music.dtype, music.device, dict(music.options)) == ("float16", "cpu", {"guidance": 4.0})
    mine = registry.get("my-tts")
    assert (mine.family, mine.source, mine.revision, mine.description) == ("vits", "org/my-tts", "v2", "mine")
    assert registry.get("mms-tts-eng") == BUILTIN["mms-tts-eng"]  # the rest stay
    assert registry.names("vits") == ["mms-tts-eng", "my-tts"]

    # a file without the "models:" level works too, and an empty one adds nothing
    path.write_text("solo: {family: vits, source: org/solo}\n", encoding="utf-8")
    assert Registry.default().get("solo").source == "org/solo"
    path.write_text("", encoding="utf-8")
    assert set(Registry.default().specs) == set(BUILTIN)


def test_the_user_file_defaults_to_the_config_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(USER_FILE_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert user_file() == tmp_path / "studio" / "models.yaml"
    (tmp_path / "studio").mkdir()
    user_file().write_text("x: {family: vits, source: org/x}\n", encoding="utf-8")
    assert "x" in Registry.default().specs


def test_screenplay_entries_resolve_against_base_dir_and_win(tmp_path, monkeypatch):
    path = tmp_path / "models.yaml"
    path.write_text("models:\n  shared: {family: vits, source: org/user-choice}\n", encoding="utf-8")
    monkeypatch.setenv(USER_FILE_ENV, str(path))
    film = tmp_path / "film"
    (film / "models" / "tts").mkdir(parents=True)
    registry = Registry.default({
        "shared": {"family": "vits", "source": "./models/tts"},
        "hub": {"family": "musicgen", "source": "org/music"},
        "absolute": {"family": "vits", "source": str(tmp_path / "elsewhere")},
    }, base_dir=film)
    shared = registry.get("shared")
    assert shared.source == str(film / "models" / "tts") and shared.is_local
    assert shared.local_folder() == film / "models" / "tts"
    assert resolve_source(shared) == film / "models" / "tts"
    assert registry.get("hub").source == "org/music" and not registry.get("hub").is_local
    assert registry.get("absolute").source == str(tmp_path / "elsewhere")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"family": "vits", "source": "a/b", "weights": "x"}, r"unknown keys \['weights'\]"),
        ({"family": "vits", "source": "a/b", "dtype": "int8"}, "dtype 'int8'"),
        ({"source": "a/b"}, "needs 'family'"),
        ({"family": "vits", "source": ""}, "needs 'source'"),
        ({"family": "vits", "source": "a/b", "options": [1, 2]}, "options must be a mapping"),
        ("facebook/mms-tts-eng", "must be a mapping"),
    ],
)
def test_bad_entries_are_clear_errors(entry, message, no_user_file):
    with pytest.raises(StudioError, match=message) as info:
        Registry.default({"m": entry})
    assert "film.render.options.models" in str(info.value)


def test_bad_entries_in_the_user_file_name_the_file(tmp_path, monkeypatch):
    path = tmp_path / "models.yaml"
    monkeypatch.setenv(USER_FILE_ENV, str(path))
    path.write_text("models:\n  m: {family: vits, source: a/b, dtype: float64}\n", encoding="utf-8")
    with pytest.raises(StudioError, match="dtype 'float64'") as info:
        Registry.default()
    assert str(path) in str(info.value) and "float32" in info.value.hint
    path.write_text("models: [unclosed\n", encoding="utf-8")
    with pytest.raises(StudioError, match="invalid YAML"):
        Registry.default()


def test_unknown_names_suggest_a_close_one(no_user_file):
    with pytest.raises(StudioError, match="no model named 'musicgen-smal'") as info:
        Registry.default().get("musicgen-smal")
    assert "musicgen-small" in info.value.hint


def test_resolve_source_offline_for_a_hub_model_not_on_disk(empty_hub, no_user_file):
    spec = Registry.default().get("musicgen-small")
    assert spec.local_folder() is None
    with pytest.raises(StudioError, match="not on this machine and HF_HUB_OFFLINE is set") as info:
        resolve_source(spec)
    assert "huggingface-cli download facebook/musicgen-small" in info.value.hint
    loads = []
    with pytest.raises(StudioError):
        Registry.default().load("musicgen-small", lambda s, w: loads.append(w))
    assert loads == []  # the loader never runs


def test_resolve_source_online_gives_the_hub_id(tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    assert resolve_source(ModelSpec("m", "vits", "org/not-downloaded")) == "org/not-downloaded"


def test_a_missing_local_folder_is_a_clear_error(tmp_path):
    spec = ModelSpec("m", "vits", str(tmp_path / "nowhere"))
    assert spec.is_local and spec.local_folder() is None
    with pytest.raises(StudioError, match="does not exist"):
        resolve_source(spec)
    assert ModelSpec("m", "vits", "./relative/missing").is_local
    assert ModelSpec("m", "vits", "~/missing").is_local


def test_local_folder_and_key_follow_the_weights(tmp_path, monkeypatch):
    a = _save_tiny(tmp_path / "a", seed=0)
    b = _save_tiny(tmp_path / "b", seed=1)
    a_again = _save_tiny(tmp_path / "a-again", seed=0)
    spec_a = ModelSpec("m", "gpt2", str(a))
    assert spec_a.local_folder() == a and resolve_source(spec_a) == a
    key_a = spec_a.key()
    assert key_a["source"] == "local" and isinstance(key_a["content"], str)
    assert "device" not in key_a and "description" not in key_a
    assert ModelSpec("m", "gpt2", str(b)).key() != key_a  # other weights
    assert ModelSpec("m", "gpt2", str(a_again)).key() == key_a  # same weights elsewhere: the path says nothing
    assert ModelSpec("m", "gpt2", str(a), device="cuda", description="x").key() == key_a
    assert ModelSpec("m", "gpt2", str(a), options={"steps": 2}).key() != key_a

    monkeypatch.setenv("HOME", str(tmp_path))
    home = ModelSpec("m", "gpt2", "~/a")
    assert home.is_local and home.local_folder() == a and home.key() == key_a

    hub = ModelSpec("m", "vits", "org/name", revision="abc").key()
    assert hub["source"] == "org/name" and hub["revision"] == "abc" and "content" not in hub


def test_load_once_per_registry(tmp_path, no_user_file):
    registry = Registry({"m": ModelSpec("m", "vits", str(tmp_path))})
    calls = []

    def loader(spec, where):
        calls.append((spec.name, where))
        return object()

    first = registry.load("m", loader)
    assert registry.load("m", loader) is first and calls == [("m", tmp_path)]
    registry.add(ModelSpec("m", "vits", str(tmp_path), dtype="float16"))  # a new spec loads anew
    assert registry.load("m", loader) is not first and len(calls) == 2
    assert Registry({"m": ModelSpec("m", "vits", str(tmp_path))}).load("m", loader) is not first


def test_torch_dtype_and_device():
    torch = pytest.importorskip("torch")
    assert ModelSpec("m", "vits", "a/b", dtype="bfloat16").torch_dtype() is torch.bfloat16
    assert ModelSpec("m", "vits", "a/b", device="cpu").torch_device() == "cpu"
    assert ModelSpec("m", "vits", "a/b").torch_device() == ("cuda" if torch.cuda.is_available() else "cpu")
