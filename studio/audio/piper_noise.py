"""Piper's VITS graph with its random numbers fed in: one onnxruntime session for every line.

Piper's graph draws its noise inside onnxruntime: two ``RandomNormalLike`` nodes, the
duration predictor's ``[1, 2, phoneme ids]`` and the prior's ``[1, channels, frames]``.
Their generator is seeded when a session is made and moves on with every run, so the
only way to give a line the same samples whatever was spoken before was a fresh session
per line, about 0.25 s a line: as long as the speaking itself.

:func:`noise_fed_model` rewrites the graph (with the ``onnx`` package, once per process)
so each such node reads a graph input instead (``studio_noise_0``, ``studio_noise_1``,
in graph order), cut to the shape the node's input has at run time; a noise input
smaller than that shape fails the run (a ``Reshape`` to that shape), so a short one is
never silently broadcast. :class:`NoiseFedSession` feeds them: standard normal float32
numbers from numpy's generator, seeded by the line, one draw per sentence, sized from
the sentence's phoneme ids and ``length_scale`` and drawn again four times as long when
a sentence needs more frames. The session runs on one thread: the samples do not depend
on the machine's core count (onnxruntime's default, every core, sums in another order
on another machine), and the voice workers of ``studio render -j N`` each take a core.

The rewrite also marks the duration predictor's ``Ceil`` (each phoneme id's frames) as
a second output, as piper-tts's ``patch_voice_with_alignment`` does: the line's phoneme
timing for the animatic's mouths is then the model's own
(:meth:`studio.audio.tts_piper.PiperEngine.synthesize_timed`).

With the noise scales at zero the rewritten graph gives the original's samples exactly
(``tests/audio/test_piper_noise.py``): the rewrite changes where the numbers come from,
nothing else.

The rewrite takes ~2 s of CPU and ~250 MB at its peak (the graph three times over, as
protobuf, inferred and serialized), in every process that speaks, and the voice workers
of ``studio render -j N`` all start at once. :func:`kept_noise_fed_model` therefore keeps
the rewritten graph on disk (:func:`model_cache_dir`, one file per model and rewrite
version, written atomically under a lock): one process rewrites, the others (and later
renders) read it, and the session is made from the file. The session runs without
onnxruntime's memory arena, which otherwise keeps the largest line's buffers (~200 MB
more per process for the rest of its life, measured; the same speed).
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from studio.atomic import write_bytes, write_text
from studio.cache.store import file_sha256

NOISE_INPUT = "studio_noise_{}"
FRAMES_PER_ID = 8  # first guess of frames per phoneme id at length_scale 1: a phoneme and its blank last ~5 frames
GROWTH, TRIES = 4, 4  # a noise input too short is drawn again this many times longer, up to TRIES times


#: the rewrite's version, in the kept file's name: a change to :func:`noise_fed_model`'s
#: graph must bump it (a kept file of an older rewrite is then not read)
REWRITE = 1
MODEL_CACHE_ENV = "STUDIO_MODEL_CACHE"


@dataclass(frozen=True)
class NoiseFedModel:
    """The rewritten graph (serialized: ``model``, or kept on disk: ``path``), each noise
    input's channel count, and whether the graph also gives each phoneme id's length
    (``aligned``)."""

    model: bytes
    channels: tuple[int, ...]
    aligned: bool = False
    path: Path | None = None

    @property
    def source(self) -> bytes | str:
        """What onnxruntime makes a session from: the kept file, else the bytes."""
        return str(self.path) if self.path is not None else self.model


def model_cache_dir() -> Path:
    """Where derived models are kept: ``$STUDIO_MODEL_CACHE``, else the user's cache
    (``$XDG_CACHE_HOME`` or ``~/.cache``) ``/studio/models``."""
    explicit = os.environ.get(MODEL_CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "studio" / "models"


def kept_noise_fed_model(model_path: Path, *, alignments: bool = True,
                         cache_dir: Path | None = None) -> NoiseFedModel:
    """:func:`noise_fed_model` of the graph at ``model_path``, kept on disk: read from
    ``cache_dir`` (default :func:`model_cache_dir`) when an earlier process rewrote it,
    else rewritten here and written there, under an exclusive lock so that processes
    starting together rewrite it once. The result names the file (``path``) and holds no
    bytes. Where the directory cannot be written, the rewrite is made in memory."""
    model_path = Path(model_path)
    digest = file_sha256(model_path)
    folder = Path(cache_dir) if cache_dir is not None else model_cache_dir()
    stem = f"{model_path.stem}.noise-fed-r{REWRITE}{'-aligned' if alignments else ''}-{digest[:16]}"
    target, meta = folder / f"{stem}.onnx", folder / f"{stem}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / ".lock", "a+b") as lock:
            _lock(lock)
            if not (target.is_file() and meta.is_file()):
                fed = noise_fed_model(model_path.read_bytes(), alignments=alignments)
                write_bytes(target, fed.model)
                write_text(meta, json.dumps({"source": model_path.name, "sha256": digest, "rewrite": REWRITE,
                                             "channels": list(fed.channels), "aligned": fed.aligned}) + "\n")
                del fed
                release_heap()
            info = json.loads(meta.read_text(encoding="utf-8"))
        return NoiseFedModel(b"", tuple(int(c) for c in info["channels"]), bool(info["aligned"]), path=target)
    except (OSError, ValueError, KeyError, TypeError):  # read-only or full disk, a damaged sidecar
        return noise_fed_model(model_path.read_bytes(), alignments=alignments)


def _lock(f: Any) -> None:
    try:
        import fcntl
    except ImportError:  # not POSIX: processes may both rewrite (the writes are atomic)
        return
    fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # released when the file closes


def release_heap() -> None:
    """Collect, then hand the C heap's free pages back to the system (glibc's
    ``malloc_trim``): the rewrite's protobuf copies would otherwise stay resident."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def noise_fed_model(model: bytes, *, alignments: bool = True) -> NoiseFedModel:
    """``model`` (an ONNX graph's bytes) with every ``RandomNormalLike`` node reading a
    graph input of float32 noise (see the module's notes); with ``alignments``, also
    with its phoneme ids' lengths in frames as a second output, as piper-tts's own
    ``patch_voice_with_alignment`` marks them (the one ``Ceil`` of the duration
    predictor; a graph without exactly one is left without). ValueError when the graph
    draws no noise this way or its noise is not float32 of rank 3."""
    import onnx
    from onnx import TensorProto, helper, shape_inference

    graph_model = onnx.load_from_string(model)
    aligned = False
    if alignments:
        from piper.patch_voice_with_alignment import add_alignment_output

        try:
            add_alignment_output(graph_model)
            aligned = True
        except ValueError:  # no single Ceil (another kind of graph), or marked already
            aligned = len(graph_model.graph.output) > 1
    inferred = shape_inference.infer_shapes(graph_model)
    shapes = {v.name: v.type.tensor_type.shape for v in
              [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]}
    graph = graph_model.graph
    nodes: list[Any] = []
    channels: list[int] = []
    for node in graph.node:
        if node.op_type != "RandomNormalLike":
            nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("dtype", TensorProto.FLOAT) != TensorProto.FLOAT:
            raise ValueError(f"{node.name}: noise of dtype {attrs['dtype']}, only float32 is fed")
        shape = shapes.get(node.input[0])
        if shape is None or len(shape.dim) != 3:
            raise ValueError(f"{node.name}: noise of unknown rank, only rank 3 ([1, channels, time]) is fed")
        dim = shape.dim[1]
        channels.append(int(dim.dim_value) if dim.HasField("dim_value") else 0)
        i = len(channels) - 1
        name, prefix = NOISE_INPUT.format(i), f"studio/noise_{i}"
        graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, None, None]))
        drawn = f"{prefix}/drawn"
        nodes += [
            helper.make_node("Shape", [node.input[0]], [f"{prefix}/shape"], name=f"{prefix}/Shape"),
            helper.make_node("Constant", [], [f"{prefix}/starts"], name=f"{prefix}/Starts",
                             value=helper.make_tensor(f"{prefix}/starts_value", TensorProto.INT64, [3], [0, 0, 0])),
            helper.make_node("Slice", [name, f"{prefix}/starts", f"{prefix}/shape"], [f"{prefix}/cut"],
                             name=f"{prefix}/Slice"),
            # a noise input shorter than the shape fails here (element counts differ)
            helper.make_node("Reshape", [f"{prefix}/cut", f"{prefix}/shape"], [drawn], name=f"{prefix}/Reshape"),
        ]
        mean, scale = float(attrs.get("mean", 0.0)), float(attrs.get("scale", 1.0))
        if (mean, scale) == (0.0, 1.0):
            nodes.append(helper.make_node("Identity", [drawn], [node.output[0]], name=f"{prefix}/Out"))
        else:
            nodes += [
                helper.make_node("Constant", [], [f"{prefix}/scale"], name=f"{prefix}/Scale",
                                 value=helper.make_tensor(f"{prefix}/scale_value", TensorProto.FLOAT, [], [scale])),
                helper.make_node("Constant", [], [f"{prefix}/mean"], name=f"{prefix}/Mean",
                                 value=helper.make_tensor(f"{prefix}/mean_value", TensorProto.FLOAT, [], [mean])),
                helper.make_node("Mul", [drawn, f"{prefix}/scale"], [f"{prefix}/scaled"], name=f"{prefix}/Mul"),
                helper.make_node("Add", [f"{prefix}/scaled", f"{prefix}/mean"], [node.output[0]],
                                 name=f"{prefix}/Add"),
            ]
    if not channels:
        raise ValueError("the graph draws no noise (no RandomNormalLike node): nothing to feed")
    del graph.node[:]
    graph.node.extend(nodes)
    return NoiseFedModel(graph_model.SerializeToString(), tuple(channels), aligned)


def one_thread_session(model: bytes | str) -> ort.InferenceSession:
    """An onnxruntime session (of a graph's bytes or its file) on one thread, without
    graph optimisation (as the session per line was made before, on every core), and
    without the memory arena (see the module's notes)."""
    options = ort.SessionOptions()
    options.enable_cpu_mem_arena = False
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


class NoiseFedSession:
    """What :class:`piper.PiperVoice` runs (``run(None, inputs)``) for one line: the shared
    session, with each sentence's noise drawn from ``seed`` (see the module's notes)."""

    def __init__(self, session: ort.InferenceSession, fed: NoiseFedModel, seed: int) -> None:
        self.session, self.fed = session, fed
        self.rng = np.random.default_rng(seed)
        self.tries = 0  # runs that found a noise input too short (drawn again, longer)

    def run(self, outputs: Any, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        ids = int(inputs["input"].shape[1])
        length_scale = float(inputs["scales"][1]) if "scales" in inputs else 1.0
        frames = max(ids, int(np.ceil(ids * FRAMES_PER_ID * max(1.0, length_scale))))
        for attempt in range(TRIES):
            fed = dict(inputs)
            for i, c in enumerate(self.fed.channels):
                width = c or 512  # channels the graph does not fix: cut from 512
                fed[NOISE_INPUT.format(i)] = self.rng.standard_normal((1, width, frames), dtype=np.float32)
            try:
                return self.session.run(outputs, fed)
            except Exception as e:  # onnxruntime's own error classes (Fail, RuntimeException)
                if "studio/noise_" not in str(e) or attempt == TRIES - 1:
                    raise
                self.tries += 1
                frames *= GROWTH
        raise AssertionError("unreachable")
