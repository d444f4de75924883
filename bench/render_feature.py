"""Benchmark: render a feature-length film end to end on this machine.

What it measures (each render runs in a fresh subprocess, ``render_feature.py _render``,
so its peak memory is its own):

1. **Feature render**: a generated 90-minute feature (seed 0) rendered with the
   ``animatic`` backend at 854x480/24 and 1280x720/24, each into a fresh temporary
   cache: real-time factor (wall / film seconds), frames per second, peak memory of
   the studio process (its ``VmHWM``) and of its largest ffmpeg child (``VmHWM``
   sampled from /proc), the largest studio + ffmpeg total, shots, film minutes.
2. **Encode ceiling**: real animatic frames (a few shots' worth, pre-rendered and held
   in memory) piped through :class:`studio.assemble.encode.ClipWriter` (the same
   ffmpeg command line, ``VideoSettings.output_args()``) with no drawing, one clip per
   shot with the feature's own shot lengths, for the first 5 minutes of the feature's
   shot list; also as one single stream. ``render fps / ceiling fps`` says how close
   the render gets to what the encoder alone can do.
3. **Memory flat as films grow**: the peaks of a 10-minute and of the 90-minute render
   (854x480) and their ratio.
4. **Assembly vs MoviePy**: the 10-minute film's clips joined by studio's
   ``assemble_cut`` (concat demuxer, stream copy) and by MoviePy 2.x
   (``concatenate_videoclips(...).write_videofile(...)``, a re-encode).

With ``--jobs`` it measures ``studio render -j`` instead (issue 19), every figure in the
same run, at each resolution: the feature with sound rendered with ``-j 1`` and with
``-j 2`` (each in a fresh process, fresh cache), the encode ceiling with one ClipWriter
stream and with two streams at once (two threads, each its own ffmpeg, the shots dealt
between them), the memory of the whole process tree (studio, its shot and voice
workers, every ffmpeg child: their resident sizes summed in each sample, ~20 a second),
and the targets: ``-j 2`` wall <= 0.65x ``-j 1`` wall, the two-encoder ceiling within
1.25x of the ``-j 2`` render's frames/s, the tree <= 1 GiB, the two films byte-identical.
Since this host's speed drifts by up to 1.8x within half an hour, each comparison is
bracketed (``--bracket``, the default): the two-stream ceiling is measured again just after
the pictures-only render it is held against, and the -j 1 render runs between two -j 2
renders (the target takes the means; a speed probe before and after each render shows
the drift). It writes its own section (``<!-- render_feature_jobs -->``). The recorded run of the
issue, on a quiet machine (~1 h on 2 cores)::

    nice python bench/render_feature.py --jobs --wait-quiet 120 --json /tmp/jobs.json

and a short run that shows it works (the 10-minute film at 854x480 only)::

    nice python bench/render_feature.py --jobs --minutes 10 --skip-720

Usage (from the repository root, with the project's virtual environment)::

    python bench/render_feature.py                 # the full benchmark (~40 min on 2 cores)
    python bench/render_feature.py --quick         # 5- and 15-minute films: a smoke run
    python bench/render_feature.py --skip-720      # leave out the 1280x720 render
    python bench/render_feature.py --jobs          # -j 1 vs -j 2 and the two-encoder ceiling (see above)
    python bench/render_feature.py --jobs --only-720   # the same at 1280x720 only (its own section)
    python bench/render_feature.py --jobs --no-bracket # one render of each (no second ceiling, no second -j 2)
    python bench/render_feature.py profile --minutes 3   # cProfile a short render
    python bench/render_feature.py report results.json   # the tables of a saved run (--json) again

The full run prints its tables and writes its section of ``BENCHMARKS.md`` (between
``<!-- render_feature -->`` and ``<!-- /render_feature -->``; the rest of the
file is kept). A ``--quick`` run only prints, unless ``--write`` is given;
``--no-write`` keeps a full run from writing. ``--stand-in`` swaps the animatic
backend for a tiny numpy backend defined here: for developing this script only, its
numbers are never recorded. ``status`` says whether the animatic backend loads.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as _dt
import inspect
import io
import json
import os
import platform
import pstats
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))


def source_digest() -> str:
    """A short hash of every studio/**/*.py file as it is on disk now. Each child process
    takes it as it starts, before it imports studio: on a shared checkout others may be
    editing studio/ while the benchmark runs, and this says which code each phase ran."""
    import hashlib

    h = hashlib.sha256()
    for path in sorted((ROOT / "studio").rglob("*.py")):
        try:
            h.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        except OSError:  # deleted meanwhile
            continue
    return h.hexdigest()[:12]


STARTUP_DIGEST = source_digest()  # before studio is imported: the code this process runs

from generate_feature import write_feature

from studio import __version__ as STUDIO_VERSION
from studio.assemble.cut import assemble_cut, film_metadata
from studio.assemble.encode import ClipWriter, VideoSettings
from studio.assemble.ffmpeg import ffmpeg_exe, ffmpeg_version

MARK_BEGIN = "<!-- render_feature -->"  # the same convention as the other bench scripts' sections
MARK_END = "<!-- /render_feature -->"
OLD_MARKS = ("<!-- render_feature:begin -->", "<!-- render_feature:end -->")
BACKEND = "animatic"
STAND_IN = "bench-stand-in"
SEED = 0
FPS = 24
SD = "854x480"
HD = "1280x720"

# targets from the issue
TARGET_RTF = 0.2  # wall / film seconds at 854x480 on 2 cores
TARGET_CEILING = 1.5  # ceiling fps / render fps
TARGET_PEAK_MB = 1024.0  # MiB
TARGET_FLAT = 1.2  # big-film peak / small-film peak
TARGET_SPEEDUP = 20.0  # MoviePy seconds / studio seconds
CEILING_MINUTES = {False: 5, True: 2}  # the encode ceiling encodes this much of the feature (full, --quick)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- stand-in backend (development only)


class StandInBackend:
    """A tiny numpy backend with roughly animatic-like frames: a flat background per
    location, a few moving blocks. Only for developing this script before the real
    animatic backend exists; its numbers are never recorded."""

    name = STAND_IN
    version = "0"

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version}

    def render(self, plan: Any, cond: Any) -> Iterator[np.ndarray]:
        rng = np.random.default_rng(plan.seed)
        h, w = plan.height, plan.width
        base = np.empty((h, w, 3), np.uint8)
        base[:] = rng.integers(40, 200, 3, dtype=np.uint8)
        ramp = (np.linspace(0, 60, h, dtype=np.float32)[:, None, None]).astype(np.uint8)
        base = np.clip(base.astype(np.int16) + ramp, 0, 255).astype(np.uint8)
        blocks = [(int(rng.integers(0, w - 80)), int(rng.integers(0, h - 160)), rng.integers(0, 255, 3, dtype=np.uint8))
                  for _ in range(max(1, len(plan.present)))]
        for i in range(plan.frames):
            frame = base.copy()
            for n, (x, y, colour) in enumerate(blocks):
                dx = (x + i * (n + 1)) % (w - 80)
                frame[y:y + 160, dx:dx + 80] = colour
            yield frame


def install_stand_in() -> None:
    import studio.render.backend as backend_mod

    try:
        import studio.render.animatic  # noqa: F401
    except ImportError:  # not written yet: let load_backend's import of it succeed
        sys.modules["studio.render.animatic"] = types.ModuleType("studio.render.animatic")
    backend_mod.register_backend(STAND_IN)(lambda options: StandInBackend())


def animatic_status() -> tuple[bool, str]:
    """Whether ``load_backend("animatic")`` works, and why not."""
    from studio.render.backend import load_backend

    try:
        backend = load_backend(BACKEND, {})
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        return False, f"{type(exc).__name__}: {exc}"
    return True, json.dumps(backend.describe(), sort_keys=True)


# --------------------------------------------------------------------------- machine and versions


def machine_info() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"cores": os.cpu_count(), "usable_cores": usable, "cpu": model, "ram_gib": ram_gib,
            "os": f"{platform.system()} {platform.release()}"}


def versions(backend_describe: dict[str, Any] | None) -> dict[str, Any]:
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return out.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no", "--", "studio"):
        commit += " + uncommitted changes in studio/"
    elif git("status", "--porcelain", "--", "studio"):
        commit += " + untracked files in studio/"
    try:
        import moviepy

        moviepy_version = moviepy.__version__
    except ImportError:
        moviepy_version = "not installed"
    return {"studio": STUDIO_VERSION, "commit": commit, "python": platform.python_version(),
            "ffmpeg": ffmpeg_version(), "ffmpeg_path": ffmpeg_exe(), "numpy": np.__version__,
            "moviepy": moviepy_version, "backend": backend_describe}


# --------------------------------------------------------------------------- one render (in its own process)


class StderrProgress:
    """Prints a line every ~10% of the film's frames."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.total = 0
        self.done = 0
        self.next_mark = 0.1
        self.started = time.perf_counter()

    def film_started(self, shots: int, frames: int) -> None:
        self.total = frames
        log(f"{self.label}: {shots} shots, {frames} frames")

    def shot_started(self, plan: Any, cached: bool) -> None: ...

    def frames_done(self, count: int) -> None:
        self.done += count
        if self.total and self.done / self.total >= self.next_mark:
            wall = time.perf_counter() - self.started
            log(f"{self.label}: {self.done / self.total:4.0%}  {self.done / wall:6.1f} frames/s")
            self.next_mark += 0.1

    def shot_finished(self, plan: Any, cached: bool) -> None: ...

    def stage(self, name: str) -> None:
        log(f"{self.label}: {name}")


def load_at(screenplay_path: Path, resolution: str) -> Any:
    from studio.screenplay import load_screenplay

    sp = load_screenplay(screenplay_path)
    if sp.film.resolution != resolution:
        sp = sp.model_copy(update={"film": sp.film.model_copy(update={"resolution": resolution})})
    return sp


def cmd_render(args: argparse.Namespace) -> int:
    """``_render``: one render in this (fresh) process; its report goes to ``--json``."""
    from studio.run.local import render_film

    if args.jobs:  # studio render -j N (1: the local executor, as the CLI's -j 1)
        from functools import partial

        from studio.run.parallel import render_film as parallel_render

        render_film = partial(parallel_render, jobs=args.jobs)  # type: ignore[assignment]
    if args.stand_in:
        install_stand_in()
    sp = load_at(Path(args.screenplay), args.resolution)
    extra: dict[str, Any] = {}
    if args.jobs or "audio" in inspect.signature(render_film).parameters:
        extra["audio"] = args.audio  # voices, score and mix (being built): off unless --audio
    elif args.audio:
        raise SystemExit("this studio's render_film has no audio option")
    result = render_film(sp, Path(args.out), cache_dir=Path(args.cache), name="feature",
                         backend_name=args.backend, progress=StderrProgress(args.label), **extra)
    payload = {
        "report": result.report,
        "clips": [str(c.path) for c in result.clips],
        "cache": str(Path(args.cache).resolve()),
        "clip_bytes": sum(c.path.stat().st_size for c in result.clips),
        "film_bytes": result.film.stat().st_size,
        "own_peak_mb": own_peak_mb(),
        "source_digest": STARTUP_DIGEST,
        "audio": bool(extra.get("audio", False)),
        "film_sha256": _sha256(result.film),
        "jobs": args.jobs,
    }
    Path(args.json).write_text(json.dumps(payload, indent=1) + "\n")
    return 0


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _proc_status(pid: int) -> dict[str, Any]:
    """Name, VmRSS and VmHWM (KiB) of ``pid``; empty when it is gone."""
    out: dict[str, Any] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Name:"):
                    out["Name"] = line.split(None, 1)[1].strip() if len(line.split()) > 1 else ""
                elif line.startswith(("VmRSS:", "VmHWM:")):
                    out[line[:5]] = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return out


def _pss_kb(pid: int) -> int:
    """Proportional set size of ``pid`` in KiB (0 when it is gone or /proc hides it)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _child_pids(pid: int) -> list[int]:
    pids: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    return pids


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores; steal counts as busy)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """CPU seconds of this process and of every descendant it has waited for."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class CpuMeter:
    """How much of the machine the benchmark used, and how much everything else did
    (other users of a shared machine): ``other_cores`` is their average in cores."""

    def __init__(self) -> None:
        self.wall0, self.busy0, self.own0 = time.perf_counter(), _machine_busy_seconds(), _own_cpu_seconds()

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self.wall0
        busy = _machine_busy_seconds() - self.busy0
        own = _own_cpu_seconds() - self.own0
        return {"wall": round(wall, 2), "own_cores": round(own / wall, 2),
                "other_cores": round(max(0.0, busy - own) / wall, 2)}


def wait_for_quiet(max_wait: float, what: str, threshold: float = 0.3, window: float = 5.0) -> float:
    """Wait (up to ``max_wait`` seconds) until other processes use less than
    ``threshold`` cores over ``window`` seconds; return the last measured load."""
    deadline = time.perf_counter() + max_wait
    while True:
        meter = CpuMeter()
        time.sleep(window)
        other = meter.stop()["other_cores"]
        if other <= threshold or time.perf_counter() >= deadline:
            if other > threshold:
                log(f"{what}: other processes still use {other:.2f} cores; measuring anyway")
            return other
        log(f"{what}: other processes use {other:.2f} cores; waiting for a quieter machine")
        time.sleep(25)


def own_peak_mb() -> float:
    """This process's own peak RSS (``VmHWM``: the peak of its address space since its exec).

    Not ``ru_maxrss``: Linux carries a process's maxrss across fork/vfork + exec, so a
    child's ``ru_maxrss`` starts at its parent's resident size (a render started from a
    big process, or an ffmpeg started from studio, reports at least its parent's size)."""
    return round(_proc_status(os.getpid()).get("VmHWM", 0) / 1024, 1)


PSS_EVERY = 10  # MemorySampler: the tree's PSS in one sample of this many (VmRSS in every one, ~20 a second)


class MemorySampler:
    """Samples a process and its ffmpeg children from outside, ~20 times a second:
    each child's own peak (``VmHWM``) and the largest studio + ffmpeg resident total.

    Only children already named ``ffmpeg`` count: between vfork and exec a child still
    shares studio's address space, and /proc shows studio's numbers for it."""

    def __init__(self, pid: int, pss: bool = False) -> None:
        self.pid = pid
        self.pss = pss  # also sum the tree's PSS (smaps_rollup: costlier to read, so only when asked)
        self.studio_hwm = 0
        self.ffmpeg_hwm = 0
        self.total_peak = 0
        self.children: set[int] = set()
        self.samples = 0
        self.tree_peak = 0  # KiB: the whole process tree (workers and their ffmpeg too), summed in one sample
        self.tree_processes = 0  # the most processes in that tree at once
        self.tree_pss_peak = 0  # KiB: the same, proportional set sizes (a page shared by n processes counts 1/n)
        self._seen: set[int] = set()
        self.started = time.monotonic()
        self.tree_peak_at = 0.0  # seconds after the sampler started
        self.tree_peak_parts: list[tuple[str, int]] = []  # (process name, KiB) at the tree's peak

    def sample(self) -> None:
        own = _proc_status(self.pid)
        if not own:
            return
        total = own.get("VmRSS", 0)
        self.studio_hwm = max(self.studio_hwm, own.get("VmHWM", 0))
        for child in _child_pids(self.pid):
            st = _proc_status(child)
            if not str(st.get("Name", "")).startswith("ffmpeg"):
                continue
            self.children.add(child)
            self.ffmpeg_hwm = max(self.ffmpeg_hwm, st.get("VmHWM", 0))
            total += st.get("VmRSS", 0)
        self.total_peak = max(self.total_peak, total)
        # the whole tree: a descendant counts from its second sample on, and only once it has run
        # its own program: between (v)fork and exec a child shares its parent's pages and /proc
        # shows the parent's numbers for it (a loaded voice worker starting espeak-ng showed as
        # two 325 MiB processes). A child whose command line is still its parent's has not exec'd.
        # PSS walks every mapping of every process (smaps_rollup): at 20 samples a second it kept a
        # fifth of a core busy beside the render it measured, so it is read in one sample of PSS_EVERY
        with_pss = self.pss and self.samples % PSS_EVERY == 0
        pss = _pss_kb(self.pid) if with_pss else 0
        rss = own.get("VmRSS", 0)
        parts = [(str(own.get("Name", "studio")), rss)]
        tree, seen = rss, set()
        stack = [(child, self.pid) for child in _child_pids(self.pid)]
        cmdlines = {self.pid: _cmdline(self.pid)}
        while stack:
            pid, parent = stack.pop()
            seen.add(pid)
            cmdlines[pid] = _cmdline(pid)
            stack += [(child, pid) for child in _child_pids(pid)]
            if pid in self._seen and cmdlines[pid] != cmdlines.get(parent):
                st = _proc_status(pid)
                tree += st.get("VmRSS", 0)
                parts.append((str(st.get("Name", "?")), st.get("VmRSS", 0)))
                pss += _pss_kb(pid) if with_pss else 0
        self._seen = seen
        if tree > self.tree_peak:
            self.tree_peak = tree
            self.tree_peak_at = time.monotonic() - self.started
            self.tree_peak_parts = sorted(parts, key=lambda p: -p[1])
        self.tree_pss_peak = max(self.tree_pss_peak, pss)
        self.tree_processes = max(self.tree_processes, 1 + len(seen))
        self.samples += 1

    def peak_where(self) -> str:
        """The tree at its peak: when, and each process's resident MiB."""
        parts = ", ".join(f"{name} {kb / 1024:.0f}" for name, kb in self.tree_peak_parts)
        return f"at {self.tree_peak_at:.0f} s: {parts}"


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def run_child(argv: list[str], out_json: Path, label: str, *, sample_memory: bool = False,
              pss: bool = False, checkout: Path | None = None) -> dict[str, Any]:
    """Run ``render_feature.py <argv> --json out_json`` in a fresh interpreter (its own
    peak memory, and the studio code as it is on disk now: others may be editing it);
    measure its CPU share and, with ``sample_memory``, its and its ffmpeg children's
    memory from here. Return the JSON it wrote, with ``cpu`` (and ``memory``) added.
    ``checkout``: another studio checkout whose own ``bench/render_feature.py`` runs, on
    its own code (the previous version beside this one)."""
    out_json.parent.mkdir(parents=True, exist_ok=True)
    root = ROOT if checkout is None else checkout.resolve()
    cmd = [sys.executable, str(root / "bench" / "render_feature.py"), *argv, "--json", str(out_json)]
    env = None if checkout is None else {**os.environ, "PYTHONPATH": str(root)}
    log(f"{label}: starting a fresh process" + ("" if checkout is None else f" on the code in {root}"))
    meter = CpuMeter()
    proc = subprocess.Popen(cmd, cwd=root, env=env)
    sampler = MemorySampler(proc.pid, pss=pss)
    while proc.poll() is None:
        if sample_memory:
            sampler.sample()
        time.sleep(0.05 if sample_memory else 0.2)
    cpu = meter.stop()
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    payload = json.loads(out_json.read_text())
    payload["cpu"] = cpu
    if sample_memory:
        payload["memory"] = {
            "studio_peak_mb": round(max(payload.get("own_peak_mb", 0.0), sampler.studio_hwm / 1024), 1),
            "ffmpeg_peak_mb": round(sampler.ffmpeg_hwm / 1024, 1),
            "total_peak_mb": round(sampler.total_peak / 1024, 1),
            "ffmpeg_processes_seen": len(sampler.children),
            "samples": sampler.samples,
            "tree_peak_mb": round(sampler.tree_peak / 1024, 1),
            "tree_processes": sampler.tree_processes,
            "tree_pss_peak_mb": round(sampler.tree_pss_peak / 1024, 1),
            "tree_peak_where": sampler.peak_where(),
        }
    return payload


def render_in_subprocess(screenplay: Path, resolution: str, work: Path, label: str, backend: str,
                         stand_in: bool, audio: bool = False, jobs: int = 0,
                         checkout: Path | None = None) -> dict[str, Any]:
    """One render in a fresh process, into a fresh cache under ``work`` (``jobs``: with
    ``studio render -j jobs``; 0: the local executor's ``render_film`` as before;
    ``checkout``: by another checkout's code and harness, see :func:`run_child`)."""
    argv = ["_render", "--screenplay", str(screenplay), "--resolution", resolution, "--cache", str(work / "cache"),
            "--out", str(work / "out"), "--backend", backend, "--label", label]
    argv += ["--stand-in"] * stand_in + ["--audio"] * audio + ["--jobs", str(jobs)] * bool(jobs)
    return run_child(argv, work / "result.json", label, sample_memory=True, pss=bool(jobs), checkout=checkout)


# --------------------------------------------------------------------------- encode ceiling


def sample_frames(screenplay: Any, backend_name: str, shots: int = 4, per_shot: int = 16) -> list[list[np.ndarray]]:
    """``per_shot`` consecutive frames from the middle of ``shots`` shots spread over
    the film (cuts, not continuations), drawn by the real backend."""
    from studio.consistency.cast import build_identities
    from studio.graph.scene_graph import SceneGraph
    from studio.render.backend import Conditioning, load_backend
    from studio.render.plan import plan_film
    from studio.run.local import _identities_for

    backend = load_backend(backend_name, dict(screenplay.film.render.options))
    plans = plan_film(SceneGraph.from_screenplay(screenplay))
    identities = build_identities(screenplay)
    cuts = [p for p in plans if p.continuity != "continuous" and p.frames >= per_shot]
    picked = [cuts[(k * len(cuts)) // (shots + 1)] for k in range(1, shots + 1)]
    sequences = []
    for plan in picked:
        start = max(0, plan.frames // 2 - per_shot // 2)
        seq: list[np.ndarray] = []
        gen = iter(backend.render(plan, Conditioning(identities=_identities_for(plan, identities))))
        for i, frame in enumerate(gen):
            if i >= start:
                seq.append(np.ascontiguousarray(frame).copy())
            if len(seq) == per_shot:
                break
        close = getattr(gen, "close", None)
        if close:
            close()
        sequences.append(seq)
    return sequences


def _frame_source(sequences: list[list[np.ndarray]], clip: int) -> Iterator[np.ndarray]:
    """Endless ping-pong over one sampled sequence (keeps motion continuous for x264)."""
    seq = sequences[clip % len(sequences)]
    order = list(range(len(seq))) + list(range(len(seq) - 2, 0, -1)) or [0]
    while True:
        for i in order:
            yield seq[i]


def sampled_source(sequences: list[list[np.ndarray]]) -> Callable[[int], Iterator[np.ndarray]]:
    """Clip n's frames: the ping-pong over a sampled sequence (``--frames sampled``)."""
    return lambda clip: _frame_source(sequences, clip)


def record_film_frames(screenplay: Any, backend_name: str, plans: list[Any], path: Path
                       ) -> tuple[list[list[int]], np.ndarray]:
    """The film's own frames, drawn by the real backend as a render draws them, recorded to
    ``path``: each shot's frames as indices into the distinct arrays the backend handed out.
    A read-only array handed out again (a held picture, a mouth at rest) is the same index,
    so replaying it writes the very same array again, as the render does (and ``ClipWriter``
    reuses its conversion as it does in the render). Returns the indices per shot and the
    distinct frames, read-only (a memory map, read through once so the timing reads memory)."""
    from studio.consistency.cast import build_identities
    from studio.render.backend import Conditioning, load_backend
    from studio.run.local import _identities_for

    backend = load_backend(backend_name, dict(screenplay.film.render.options))
    identities = build_identities(screenplay)
    width, height = screenplay.size
    total = sum(plan.frames for plan in plans)
    store = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(total, height, width, 3))
    recent: dict[int, tuple[np.ndarray, int]] = {}  # id -> (the array, held so its id stays its own; index)
    distinct = 0
    shots: list[list[int]] = []
    for plan in plans:
        shot: list[int] = []
        for frame in backend.render(plan, Conditioning(identities=_identities_for(plan, identities))):
            kept = None if frame.flags.writeable else recent.get(id(frame))
            if kept is not None and kept[0] is frame:
                shot.append(kept[1])
                continue
            store[distinct] = frame
            if not frame.flags.writeable:
                recent[id(frame)] = (frame, distinct)
                if len(recent) > 64:
                    del recent[next(iter(recent))]
            shot.append(distinct)
            distinct += 1
        if len(shot) != plan.frames:
            raise RuntimeError(f"{plan.shot_id}: {len(shot)} frames, not {plan.frames}")
        shots.append(shot)
    store.flush()
    del store
    frames = np.load(path, mmap_mode="r")[:distinct]
    frames.sum(dtype=np.uint64)  # read through once: the pages are in memory before the clock starts
    return shots, frames


def recorded_source(shots: list[list[int]], frames: np.ndarray) -> Callable[[int], Iterator[np.ndarray]]:
    """Clip n's frames: the film's own, as recorded by :func:`record_film_frames` (``--frames film``)."""
    views = [frames[i] for i in range(len(frames))]  # one array object per distinct frame, read-only
    return lambda clip: (views[i] for i in shots[clip])


def encode_ceiling(source: Callable[[int], Iterator[np.ndarray]], shot_frames: list[int], video: VideoSettings,
                   work: Path) -> dict[str, Any]:
    """Frames/s of ClipWriter alone: one clip per shot (as the render does), then all
    the same frames as one stream."""
    work.mkdir(parents=True, exist_ok=True)
    total = sum(shot_frames)
    meter = CpuMeter()
    started = time.perf_counter()
    for n, count in enumerate(shot_frames):
        frames = source(n)
        with ClipWriter(work / f"c{n:05d}.mp4", video) as writer:
            for _ in range(count):
                writer.write(next(frames))
    per_shot = time.perf_counter() - started
    cpu = meter.stop()
    shutil.rmtree(work)
    work.mkdir(parents=True)
    started = time.perf_counter()
    with ClipWriter(work / "stream.mp4", video) as writer:
        for n, count in enumerate(shot_frames):
            frames = source(n)
            for _ in range(count):
                writer.write(next(frames))
    single = time.perf_counter() - started
    shutil.rmtree(work)
    return {"frames": total, "clips": len(shot_frames), "resolution": f"{video.width}x{video.height}",
            "per_shot_seconds": round(per_shot, 2), "per_shot_fps": round(total / per_shot, 1),
            "single_seconds": round(single, 2), "single_fps": round(total / single, 1),
            "own_cores": cpu["own_cores"], "other_cores": cpu["other_cores"]}


def encode_streams(source: Callable[[int], Iterator[np.ndarray]], shot_frames: list[int], video: VideoSettings,
                   work: Path, streams: int) -> dict[str, Any]:
    """Frames/s of ``streams`` ClipWriters at once (threads: each feeds its own ffmpeg, the
    pipe writes release the GIL), one clip per shot, the shots dealt out longest first to
    the stream with the fewest frames: the ceiling ``-j streams`` encoders could reach."""
    import threading

    work.mkdir(parents=True, exist_ok=True)
    lanes: list[list[int]] = [[] for _ in range(streams)]
    loads = [0] * streams
    for n in sorted(range(len(shot_frames)), key=lambda i: -shot_frames[i]):
        lane = loads.index(min(loads))
        lanes[lane].append(n)
        loads[lane] += shot_frames[n]
    errors: list[BaseException] = []

    def run(shots: list[int]) -> None:
        try:
            for n in shots:
                frames = source(n)
                with ClipWriter(work / f"c{n:05d}.mp4", video) as writer:
                    for _ in range(shot_frames[n]):
                        writer.write(next(frames))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    meter = CpuMeter()
    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(lane,)) for lane in lanes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    cpu = meter.stop()
    shutil.rmtree(work)
    if errors:
        raise errors[0]
    total = sum(shot_frames)
    return {"frames": total, "clips": len(shot_frames), "resolution": f"{video.width}x{video.height}",
            "streams": streams, "per_shot_seconds": round(seconds, 2), "per_shot_fps": round(total / seconds, 1),
            "own_cores": cpu["own_cores"], "other_cores": cpu["other_cores"]}


def cmd_ceiling(args: argparse.Namespace) -> int:
    """``_ceiling``: the encode ceiling at one resolution, in this (fresh) process."""
    from studio.graph.scene_graph import SceneGraph
    from studio.render.plan import plan_film

    if args.stand_in:
        install_stand_in()
    sp = load_at(Path(args.screenplay), args.resolution)
    plans: list[Any] = []
    for plan in plan_film(SceneGraph.from_screenplay(sp)):
        if sum(p.frames for p in plans) >= args.minutes * 60 * FPS:
            break
        plans.append(plan)
    lengths = [plan.frames for plan in plans]
    log(f"encode ceiling {args.resolution}: {'recording the film' if args.frames == 'film' else 'sampling'} "
        f"frames, then {sum(lengths)} frames in {len(lengths)} clips")
    work = Path(args.work)
    if args.frames == "film":
        recorded = work.parent / f"{work.name}-frames.npy"  # beside the clips' folder, which is emptied
        recorded.parent.mkdir(parents=True, exist_ok=True)
        shots, frames = record_film_frames(sp, args.backend, plans, recorded)
        source = recorded_source(shots, frames)
        repeats = 1 - len(frames) / max(1, sum(lengths))
        described = (f"the film's own frames ({len(frames)} distinct arrays for {sum(lengths)} frames: "
                     f"{100 * repeats:.0f}% written again, as the render writes them)")
    else:
        sequences = sample_frames(sp, args.backend)
        source = sampled_source(sequences)
        described = f"{len(sequences)} shots x {len(sequences[0])} frames, played back and forth"
    width, height = sp.size
    video = VideoSettings(width, height, sp.film.fps)
    try:
        if args.streams > 1:
            result = encode_streams(source, lengths, video, work, args.streams)
        else:
            result = encode_ceiling(source, lengths, video, work)
    finally:
        if args.frames == "film":
            recorded.unlink(missing_ok=True)
    result["frames_from"] = args.frames
    result["frames_described"] = described  # "sampled" in runs before 2026-12-04
    result["source_digest"] = STARTUP_DIGEST
    if args.streams > 1:
        log(f"encode ceiling {args.resolution}, {args.streams} streams: {result['per_shot_fps']} frames/s")
    else:
        log(f"encode ceiling {args.resolution}: {result['per_shot_fps']} frames/s with a clip per shot, "
            f"{result['single_fps']} frames/s as one stream")
    Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


def cmd_assembly(args: argparse.Namespace) -> int:
    """``_assembly``: studio's assembly vs MoviePy on a finished render's clips."""
    render = json.loads(Path(args.render_json).read_text())
    result = compare_assembly([Path(c) for c in render["clips"]], Path(render["cache"]),
                              render["report"]["film_seconds"], Path(args.work))
    result["source_digest"] = STARTUP_DIGEST
    log(f"assembly: studio {result['studio_seconds']} s, MoviePy {result['moviepy_seconds']} s")
    Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


# --------------------------------------------------------------------------- assembly vs MoviePy


def probe_seconds(path: Path) -> float | None:
    probe = shutil.which("ffprobe")
    if not probe:
        return None
    out = subprocess.run([probe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=False)
    try:
        return round(float(out.stdout.strip()), 2)
    except ValueError:
        return None


def compare_assembly(clips: list[Path], cache_root: Path, seconds: float, work: Path,
                     repeats: int = 3) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    studio_out = work / "studio-cut.mp4"
    # the sound track render_film gives a film without sound: where studio keeps a silent
    # AAC track in the cache (made once by the render), the cut copies it; else ffmpeg
    # encodes silence while it assembles
    from studio.assemble import cut

    audio: Path | None = None
    if hasattr(cut, "silent_track"):
        audio = cut.silent_track(cache_root, seconds)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        assemble_cut(clips, cache_root, audio, studio_out, seconds=seconds,
                     metadata=film_metadata("bench", BACKEND), chapters=[])
        times.append(time.perf_counter() - started)
    studio_seconds = statistics.median(times)

    from moviepy import VideoFileClip, concatenate_videoclips

    moviepy_out = work / "moviepy-cut.mp4"
    meter = CpuMeter()
    log(f"assembly: MoviePy concatenate_videoclips + write_videofile over {len(clips)} clips")
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        # MoviePy warns at the end of many clips ("bytes wanted but 0 bytes read ... Using the last
        # valid frame instead"): its reader's off-by-one at a clip's last frame; counted, not printed
        warnings.simplefilter("always")
        opened = [VideoFileClip(str(c), audio=False) for c in clips]
        final = concatenate_videoclips(opened)
        try:
            final.write_videofile(str(moviepy_out), codec="libx264", audio=False, preset="veryfast", threads=2,
                                  logger=None)
        finally:
            final.close()
            for clip in opened:
                clip.close()
    moviepy_seconds = time.perf_counter() - started
    result = {
        "clips": len(clips), "film_seconds": round(seconds, 2),
        "studio_seconds": round(studio_seconds, 3), "studio_runs": [round(t, 3) for t in times],
        "moviepy_seconds": round(moviepy_seconds, 2),
        "speedup": round(moviepy_seconds / studio_seconds, 1),
        "studio_output_seconds": probe_seconds(studio_out), "moviepy_output_seconds": probe_seconds(moviepy_out),
        "moviepy_warnings": len(caught), "other_cores": meter.stop()["other_cores"],
        "studio_audio": "the cached silent AAC track, copied" if audio else "silence encoded to AAC",
    }
    shutil.rmtree(work)
    return result


# --------------------------------------------------------------------------- the full benchmark


def render_row(payload: dict[str, Any], film: str) -> dict[str, Any]:
    r = payload["report"]
    return {
        "film": film, "resolution": r["video"]["size"], "film_minutes": round(r["film_seconds"] / 60, 1),
        "shots": r["shots_total"], "frames": r["film_frames"], "wall_seconds": r["wall_seconds"],
        "rtf": r["realtime_factor"], "fps": r["frames_per_second"],
        "peak_studio_mb": payload["memory"]["studio_peak_mb"], "peak_ffmpeg_mb": payload["memory"]["ffmpeg_peak_mb"],
        "peak_total_mb": payload["memory"]["total_peak_mb"],
        "report_rss_studio_mb": r["peak_rss_mb_studio"], "report_rss_ffmpeg_mb": r["peak_rss_mb_ffmpeg"],
        "ffmpeg_processes_seen": payload["memory"]["ffmpeg_processes_seen"],
        "clips_mb": round(payload["clip_bytes"] / 1e6),
        "own_cores": payload["cpu"]["own_cores"], "other_cores": payload["cpu"]["other_cores"],
        "source_digest": payload["source_digest"], "backend": r["backend"],
    }


def resumed_phases(checkpoint: Path, config: dict[str, Any]) -> dict[str, Any]:
    """The phases an interrupted run with this ``config`` saved in ``checkpoint`` (none
    when the file is missing or was written with other options or other code)."""
    saved = json.loads(checkpoint.read_text()) if checkpoint.exists() else {}
    if saved.get("config") != config:
        log(f"no matching checkpoint at {checkpoint} (other options or other code); starting afresh")
        return {}
    phases = saved.get("phases", {})
    log(f"resuming from {checkpoint}: {', '.join(phases) or 'nothing'} already measured")
    return phases


def cmd_run(args: argparse.Namespace) -> int:
    backend = STAND_IN if args.stand_in else BACKEND
    if args.stand_in:
        log("using the STAND-IN backend: development numbers, not recorded")
    else:
        status = subprocess.run([sys.executable, str(Path(__file__).resolve()), "status"], cwd=ROOT,
                                capture_output=True, text=True, check=False)
        if status.returncode != 0:
            print(f"the animatic backend is not available ({status.stdout.strip()}); wait for it or pass "
                  "--stand-in (development only)", file=sys.stderr)
            return 1
    small_min, big_min = (5, 15) if args.quick else (10, 90)
    resolutions = [SD] if args.skip_720 else [SD, HD]
    config = {"quick": args.quick, "stand_in": args.stand_in, "backend_name": backend, "audio": args.audio}

    # every phase's numbers land in a checkpoint as soon as they exist: --resume skips them
    checkpoint = Path(args.checkpoint or Path(tempfile.gettempdir()) / "render_feature-checkpoint.json")
    phases = resumed_phases(checkpoint, config) if args.resume else {}

    def done(name: str, data: dict[str, Any]) -> None:
        data["measured_at"] = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        phases[name] = data
        checkpoint.write_text(json.dumps({"config": config, "phases": phases}, indent=1) + "\n")

    def quiet(what: str) -> None:
        if args.wait_quiet:
            wait_for_quiet(args.wait_quiet, what)

    started = time.perf_counter()
    date = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    loadavg_start = [round(x, 2) for x in os.getloadavg()]
    overall = CpuMeter()
    if args.tmp:  # --tmp names a folder to work in: made if it is not there yet
        Path(args.tmp).mkdir(parents=True, exist_ok=True)
    tmp_root = Path(tempfile.mkdtemp(prefix="studio-bench-", dir=args.tmp))
    log(f"working in {tmp_root}; checkpoint {checkpoint}")
    stand_in = ["--stand-in"] * args.stand_in
    try:
        small_yaml, big_yaml = tmp_root / f"feature-{small_min}.yaml", tmp_root / f"feature-{big_min}.yaml"
        write_feature(small_yaml, minutes=small_min, seed=SEED, resolution=SD, fps=FPS)
        write_feature(big_yaml, minutes=big_min, seed=SEED, resolution=SD, fps=FPS)

        # 3 + 4: the small film, then its clips for the assembly comparison
        if "small" not in phases:
            quiet(f"{small_min}-min render")
            small = render_in_subprocess(small_yaml, SD, tmp_root / "small", f"{small_min}-min {SD}", backend,
                                         args.stand_in, args.audio)
            quiet("assembly")
            assembly = run_child(["_assembly", "--render-json", str(tmp_root / "small" / "result.json"),
                                  "--work", str(tmp_root / "assembly")], tmp_root / "assembly.json", "assembly")
            done("small", {"render": render_row(small, f"{small_min} min"), "assembly": assembly})
            shutil.rmtree(tmp_root / "small")

        # 1: the feature at each resolution, each into a fresh cache
        for res in resolutions:
            if f"big-{res}" in phases:
                continue
            quiet(f"{big_min}-min {res} render")
            payload = render_in_subprocess(big_yaml, res, tmp_root / f"big-{res}", f"{big_min}-min {res}", backend,
                                           args.stand_in, args.audio)
            done(f"big-{res}", render_row(payload, f"{big_min} min"))
            shutil.rmtree(tmp_root / f"big-{res}")

        # 2: the encode ceiling with the feature's own first shots
        for res in resolutions:
            if f"ceiling-{res}" in phases:
                continue
            quiet(f"encode ceiling {res}")
            ceiling = run_child(["_ceiling", "--screenplay", str(big_yaml), "--resolution", res, "--minutes",
                                 str(CEILING_MINUTES[args.quick]), "--backend", backend,
                                 "--work", str(tmp_root / "ceiling"), *stand_in],
                                tmp_root / f"ceiling-{res}.json", f"encode ceiling {res}")
            done(f"ceiling-{res}", ceiling)
    finally:
        if not args.keep_temp:
            shutil.rmtree(tmp_root, ignore_errors=True)

    renders = [phases["small"]["render"]] + [phases[f"big-{res}"] for res in resolutions]
    results: dict[str, Any] = {
        "date": date, "command": shlex.join(["python", "bench/render_feature.py", *sys.argv[1:]]),
        "machine": machine_info(), "versions": versions(renders[0]["backend"]), **config,
        "small_minutes": small_min, "big_minutes": big_min, "renders": renders,
        "assembly": phases["small"]["assembly"], "ceiling": [phases[f"ceiling-{res}"] for res in resolutions],
        "measured_at": sorted({phase["measured_at"] for phase in phases.values()}),
        "resumed": bool(args.resume and len(phases) > 0),
        "bench_seconds": round(time.perf_counter() - started, 1),
        "other_cores": overall.stop()["other_cores"],
        "loadavg_start": loadavg_start, "loadavg_end": [round(x, 2) for x in os.getloadavg()],
    }
    digests = [r["source_digest"] for r in renders] + [results["assembly"]["source_digest"]] + \
        [c["source_digest"] for c in results["ceiling"]]
    results["source_digests"] = sorted(set(digests))
    results["phase_digests"] = {
        **{f"{r['film']} {r['resolution']} render": r["source_digest"] for r in renders},
        "assembly": results["assembly"]["source_digest"],
        **{f"ceiling {c['resolution']}": c["source_digest"] for c in results["ceiling"]},
    }
    results["targets"] = evaluate(results)

    print_tables(results)
    write = args.write if args.write is not None else not (args.quick or args.stand_in)
    if args.stand_in and args.write:
        print("refusing to record stand-in numbers in BENCHMARKS.md", file=sys.stderr)
        write = False
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    if write:
        update_benchmarks(ROOT / "BENCHMARKS.md", markdown(results))
        log("wrote the render_feature section of BENCHMARKS.md")
    checkpoint.unlink(missing_ok=True)
    return 0


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue: what was measured and whether it was met."""
    rows: list[dict[str, Any]] = []
    renders = results["renders"]
    small, big_sd = renders[0], renders[1]
    big_min = results["big_minutes"]
    rows.append({"target": f"real-time factor at {SD}, {big_min}-min film", "goal": f"< {TARGET_RTF}x",
                 "measured": f"{big_sd['rtf']:.3f}x", "met": big_sd["rtf"] < TARGET_RTF})
    for ceiling in results["ceiling"]:
        render = next(r for r in renders[1:] if r["resolution"] == ceiling["resolution"])
        ratio = ceiling["per_shot_fps"] / render["fps"]
        ceiling["render_fps"] = render["fps"]
        ceiling["ratio"] = round(ratio, 2)
        rows.append({"target": f"within 1.5x of the encode ceiling at {ceiling['resolution']}",
                     "goal": f"ceiling / render <= {TARGET_CEILING}",
                     "measured": f"{ceiling['per_shot_fps']:.0f} / {render['fps']:.0f} = {ratio:.2f}",
                     "met": ratio <= TARGET_CEILING})
    for r in renders[1:]:
        rows.append({"target": f"peak memory, {r['film']} at {r['resolution']} (studio + ffmpeg at once)",
                     "goal": "< 1024 MiB", "measured": f"{r['peak_total_mb']:.0f} MiB",
                     "met": r["peak_total_mb"] < TARGET_PEAK_MB})
    flat = big_sd["peak_studio_mb"] / small["peak_studio_mb"]
    results["memory_ratio"] = round(flat, 3)
    rows.append({"target": f"memory flat: {big_min}-min vs {results['small_minutes']}-min peak (studio)",
                 "goal": f"ratio <= {TARGET_FLAT}",
                 "measured": f"{big_sd['peak_studio_mb']:.0f} / {small['peak_studio_mb']:.0f} = {flat:.2f}",
                 "met": flat <= TARGET_FLAT})
    a = results["assembly"]
    rows.append({"target": "assembly vs MoviePy", "goal": f">= {TARGET_SPEEDUP:.0f}x",
                 "measured": f"{a['moviepy_seconds']:.1f} s / {a['studio_seconds']:.2f} s = {a['speedup']:.1f}x",
                 "met": a["speedup"] >= TARGET_SPEEDUP})
    return rows


# --------------------------------------------------------------------------- output

RENDER_COLS = [("film", "film"), ("resolution", "resolution"), ("film_minutes", "film min"), ("shots", "shots"),
               ("frames", "frames"), ("wall_seconds", "wall s"), ("rtf", "wall / film"), ("fps", "frames/s"),
               ("peak_studio_mb", "peak studio MiB"), ("peak_ffmpeg_mb", "peak ffmpeg MiB"),
               ("peak_total_mb", "peak together MiB"), ("clips_mb", "clips MB"),
               ("own_cores", "cores used"), ("other_cores", "other load (cores)")]
CEILING_COLS = [("resolution", "resolution"), ("frames", "frames"), ("clips", "clips"),
                ("per_shot_fps", "ceiling frames/s (clip per shot)"), ("single_fps", "frames/s (one stream)"),
                ("render_fps", "render frames/s"), ("ratio", "ceiling / render"),
                ("other_cores", "other load (cores)")]
ASSEMBLY_COLS = [("clips", "clips"), ("film_seconds", "film s"), ("studio_seconds", "studio assemble_cut s"),
                 ("moviepy_seconds", "MoviePy s"), ("speedup", "speed-up"), ("other_cores", "other load (cores)")]


COL_FORMATS = {"own_cores": "{:.2f}", "other_cores": "{:.2f}", "rtf": "{:.3f}", "ratio": "{:.2f}",
               "speedup": "{:.1f}", "studio_seconds": "{:.2f}", "moviepy_seconds": "{:.1f}"}


def _fmt(value: Any, key: str = "") -> str:
    if key in COL_FORMATS and isinstance(value, (int, float)):
        return COL_FORMATS[key].format(value)
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1 else f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _tables(results: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    big, small = results["big_minutes"], results["small_minutes"]
    tables = [
        (f"Renders ({results['backend_name']} backend, {FPS} fps, fresh cache each, one process each)",
         [h for _, h in RENDER_COLS], [[_fmt(r[k], k) for k, _ in RENDER_COLS] for r in results["renders"]]),
        ((f"Encode ceiling (ClipWriter alone, no drawing; first {CEILING_MINUTES[results['quick']]} min of the "
         f"{big}-min feature's shots)"),
         [h for _, h in CEILING_COLS], [[_fmt(c.get(k, ""), k) for k, _ in CEILING_COLS] for c in results["ceiling"]]),
        (f"Assembly of the {small}-min film's clips: stream copy vs MoviePy re-encode",
         [h for _, h in ASSEMBLY_COLS], [[_fmt(results["assembly"][k], k) for k, _ in ASSEMBLY_COLS]]),
        ("Targets", ["target", "goal", "measured", "met"],
         [[t["target"], t["goal"], t["measured"], "yes" if t["met"] else "NO"] for t in results["targets"]]),
    ]
    return tables


def print_tables(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # piped or redirected: do not squeeze the tables into 80 columns
        console = Console(width=170)
    for title, headers, rows in _tables(results):
        table = Table(title=title, title_justify="left")
        for n, header in enumerate(headers):
            table.add_column(header, justify="left" if n == 0 or title == "Targets" else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)
    m = results["machine"]
    console.print(f"{m['cores']} cores ({m['cpu']}), {m['ram_gib']} GiB RAM; benchmark took "
                  f"{results['bench_seconds'] / 60:.1f} min; other processes used {results['other_cores']:.2f} "
                  "cores on average" + ("  [STAND-IN BACKEND]" if results["stand_in"] else ""))


def markdown(results: dict[str, Any]) -> str:
    m, v = results["machine"], results["versions"]
    a = results["assembly"]
    out = [
        MARK_BEGIN,
        "## Feature render (`bench/render_feature.py`)",
        "",
        f"- **Date:** {results['date']}",
        f"- **Machine:** {m['cores']} cores ({m['usable_cores']} usable), {m['cpu']}, {m['ram_gib']} GiB RAM, {m['os']}",
        f"- **Versions:** studio {v['studio']} (commit {v['commit']}; digest of the studio sources the phases ran: "
        + (", ".join(f"{name} {digest}" for name, digest in results.get("phase_digests", {}).items())
           + " — studio/ CHANGED DURING THE RUN (others were editing it)"
           if len(results["source_digests"]) > 1 else results["source_digests"][0])
        + f"), Python {v['python']}, "
        f"ffmpeg {v['ffmpeg']} (`{v['ffmpeg_path']}`), numpy {v['numpy']}, MoviePy {v['moviepy']}",
        f"- **Backend:** `{json.dumps(v['backend'], sort_keys=True)}`",
        f"- **Command:** `{results['command']}` (from the repository root; took "
        f"{results['bench_seconds'] / 60:.1f} min"
        + (f"; resumed: phases measured at {', '.join(results['measured_at'])}" if results.get("resumed") else "")
        + ")",
        f"- **Input:** `generate_feature(minutes=N, seed={SEED})`, {FPS} fps; every render runs in a fresh "
        "process (`python bench/render_feature.py _render ...`) into a fresh temporary cache, deleted afterwards. "
        + ("Sound on: `render_film(..., audio=True)` voices, scores and mixes the film."
           if results.get("audio") else
           "Pictures only: `render_film(..., audio=False)` where studio has that option (a silent AAC track; "
           "voicing, score and mix are not measured here, `--audio` adds them)."),
        ("- **Memory:** \"peak studio\" is the render process's own `VmHWM` (peak RSS of its address space); "
        "\"peak ffmpeg\" the largest `VmHWM` of its ffmpeg children, sampled from /proc by the bench ~20 "
        "times a second; \"peak together\" the largest studio + ffmpeg resident total seen in one sample (the "
        "1 GiB target is checked on it). Not `ru_maxrss`: Linux carries maxrss across (v)fork + exec, so a "
        "child's `ru_maxrss` starts at its parent's resident size (see the notes)."),
        "",
    ]
    for title, headers, rows in _tables(results):
        out += [f"**{title}**", "", "| " + " | ".join(headers) + " |",
                "|" + "|".join(" --- " for _ in headers) + "|"]
        out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        out.append("")
    ceil_note = ", ".join(f"{c['resolution']}: {c['sampled']}" for c in results["ceiling"])
    out += [
        "Notes:",
        "",
        "- Encode ceiling: real animatic frames (" + ceil_note + ", consecutive frames from the middle of "
        "shots spread over the film, played back and forth) written through `ClipWriter` "
        "(`VideoSettings.output_args()`, the render's own ffmpeg command line: libx264 veryfast, CRF 20, "
        "`-threads 1`), one clip per shot with the feature's real shot lengths, so it includes the per-clip "
        "ffmpeg start-up the render pays; \"one stream\" is the same frames as a single clip. The ratio uses "
        "the clip-per-shot figure.",
        (f"- Assembly: studio's `assemble_cut` as `render_film` calls it for a film without sound (concat "
        f"demuxer, video stream copy; sound: {a.get('studio_audio', 'silence encoded to AAC')}; chapters and "
        f"metadata; median of {len(a['studio_runs'])} runs: {a['studio_runs']} s) vs MoviePy "
        "`concatenate_videoclips(clips).write_videofile(out, codec=\"libx264\", audio=False, preset=\"veryfast\", "
        f"threads=2)`, which decodes and re-encodes every frame. Output durations: studio "
        f"{a['studio_output_seconds']} s, MoviePy {a['moviepy_output_seconds']} s (MoviePy warned "
        f"{a['moviepy_warnings']} times about reading past a clip's last frame)."),
        "- `render-report.json`'s own peaks come from `ru_maxrss`, which Linux carries across (v)fork + exec: "
        "`peak_rss_mb_ffmpeg` (`RUSAGE_CHILDREN`) is really max(studio at each spawn, ffmpeg), and "
        "`peak_rss_mb_studio` would include the size of whatever process launched the render (the bench "
        "starts renders from a small process, so there it matches). Here the report said " + "; ".join(
            f"{r['film']} {r['resolution']}: studio {r['report_rss_studio_mb']:.0f} / ffmpeg "
            f"{r['report_rss_ffmpeg_mb']:.0f} MiB" for r in results["renders"]) + ".",
        (f"- The machine is shared and noisy: single runs. Other processes used {results['other_cores']:.2f} cores "
        f"on average over the whole run (\"other load\": machine busy time from /proc/stat minus the bench's "
        f"own CPU time, per wall second; 1.0 means one of the {m['cores']} cores was taken); load average "
        f"{results['loadavg_start'][0]} at the start, {results['loadavg_end'][0]} at the end."),
        MARK_END,
    ]
    return "\n".join(out) + "\n"


def update_benchmarks(path: Path, section: str) -> None:
    """Replace this script's section of ``path`` (or append it); leave the rest alone."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\nRecorded by the scripts in `bench/` (see `bench/README.md`).\n"
    text = text.replace(OLD_MARKS[0], MARK_BEGIN).replace(OLD_MARKS[1], MARK_END)
    if MARK_BEGIN in text and MARK_END in text:
        head, rest = text.split(MARK_BEGIN, 1)
        tail = rest.split(MARK_END, 1)[1]
        text = head + section.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- profiling


def cmd_profile(args: argparse.Namespace) -> int:
    """cProfile one short render in this process; print where the studio process spends its time."""
    from studio.run.local import render_film

    backend = BACKEND
    if args.stand_in:
        install_stand_in()
        backend = STAND_IN
    with tempfile.TemporaryDirectory(prefix="studio-profile-", dir=args.tmp) as tmp:
        yaml_path = Path(tmp) / "film.yaml"
        write_feature(yaml_path, minutes=args.minutes, seed=SEED, resolution=args.resolution, fps=FPS)
        sp = load_at(yaml_path, args.resolution)
        profiler = cProfile.Profile()
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        meter = CpuMeter()
        started = time.perf_counter()
        profiler.enable()
        extra = {"audio": args.audio} if "audio" in inspect.signature(render_film).parameters else {}
        result = render_film(sp, Path(tmp) / "out", cache_dir=Path(tmp) / "cache", name="film",
                             backend_name=backend, progress=StderrProgress(f"profile {args.minutes} min"), **extra)
        profiler.disable()
        wall = time.perf_counter() - started
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = result.report
        cpu = meter.stop()
        if args.output:
            profiler.dump_stats(args.output)
        for key in ("tottime", "cumulative"):
            buf = io.StringIO()
            stats = pstats.Stats(profiler, stream=buf).strip_dirs().sort_stats(key)
            stats.print_stats(args.top)
            print(f"\n===== top {args.top} by {key} =====")
            print(buf.getvalue())
        print_breakdown(pstats.Stats(profiler))
        print(f"\n{r['film_frames']} frames in {wall:.1f} s = {r['film_frames'] / wall:.1f} frames/s "
              f"(real-time factor {wall / r['film_seconds']:.3f}; profiler overhead included)")
        print(f"CPU: studio {cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime:.1f} s, "
              f"ffmpeg children {kids.ru_utime + kids.ru_stime:.1f} s, wall {wall:.1f} s; "
              f"other processes used {cpu['other_cores']:.2f} cores meanwhile")
    return 0


def print_breakdown(stats: pstats.Stats) -> None:
    """Split the studio process's wall time: drawing vs waiting on ffmpeg vs the rest."""
    def cum(path_end: str, func: str) -> float:
        return sum(v[3] for (file, _, name), v in stats.stats.items()  # type: ignore[attr-defined]
                   if file.replace(os.sep, "/").endswith(path_end) and name == func)

    film = cum("run/local.py", "render_film")
    shots = cum("run/local.py", "render_shot")
    write = cum("assemble/encode.py", "write")
    spawn = cum("assemble/encode.py", "__enter__") + cum("assemble/encode.py", "__exit__")
    store = cum("cache/store.py", "put")
    thumb = cum("run/local.py", "_thumbnail")
    drawing = shots - write - spawn - store - thumb
    voicing = cum("audio/speech.py", "synthesize_lines")
    sound = cum("audio/film.py", "make_film_sound")
    rows = [
        ("backend drawing (+ render_shot's own bookkeeping)", drawing),
        ("ClipWriter.write: blocked piping frames into ffmpeg", write),
        ("ClipWriter enter/exit: starting ffmpeg, waiting for it to finish the clip", spawn),
        ("ShotStore.put: tail PNGs, thumbnail JPEG, sha256 of the clip", store),
        ("thumbnails", thumb),
        ("voicing the dialogue (synthesize_lines)", voicing),
        ("score, ambience and mix (make_film_sound)", sound),
        ("the rest: planning, cache look-ups, assembly, subtitles, OTIO, storyboard", film - shots - voicing - sound),
    ]
    print("\n===== where render_film's wall time goes (studio process) =====")
    for label, seconds in rows:
        print(f"{seconds:8.2f} s  {seconds / film:6.1%}  {label}")
    print(f"{film:8.2f} s  100.0%  render_film")


# --------------------------------------------------------------------------- command line


# --------------------------------------------------------------------------- --jobs: studio render -j

JOBS_MARK = "render_feature_jobs"


def jobs_mark(results: dict[str, Any]) -> str:
    """The section a --jobs run writes: its own for a run at 1280x720 only (--only-720),
    so a run at each resolution in a session of its own keeps the other's."""
    return f"{JOBS_MARK}_720" if [e["resolution"] for e in results["resolutions"]] == [HD] else JOBS_MARK
TARGET_JOBS_WALL = 0.65  # -j 2 wall / -j 1 wall
TARGET_ACTING_RTF = 0.2  # issue 18: the acting animatic's feature with sound, wall / film
TARGET_JOBS_CEILING = 1.25  # two-encoder ceiling frames/s / -j 2 render frames/s


def jobs_row(payload: dict[str, Any], jobs: int) -> dict[str, Any]:
    r = payload["report"]
    executor = r.get("executor") or {}
    stages = {k: v.get("actual") for k, v in (r.get("stages") or {}).items()}
    # the shots stage alone: with -j the report's "shots" stage also holds the wait for the sound made beside them
    shots = executor.get("shots_seconds") or stages.get("shots") or 0.0
    return {
        "jobs": jobs, "audio": payload.get("audio", True), "resolution": r["video"]["size"],
        "film_minutes": round(r["film_seconds"] / 60, 1),
        "shots": r["shots_total"], "frames": r["film_frames"], "lines": r["lines_total"],
        "wall_seconds": r["wall_seconds"], "rtf": r["realtime_factor"], "fps": r["frames_per_second"],
        "shots_seconds": round(shots, 1), "shots_fps": round(r["frames_rendered"] / shots, 1) if shots else None,
        "stages": stages, "estimate_seconds": (r.get("estimate") or {}).get("total_seconds"),
        "voice_workers": r.get("voice_workers", 0), "workers_started": executor.get("workers_started", 0),
        "sound_seconds": round(stages.get("sound") or 0.0, 1), "sound_overlapped": bool(r.get("sound_overlapped")),
        "tree_peak_mb": payload["memory"]["tree_peak_mb"], "tree_processes": payload["memory"]["tree_processes"],
        "tree_pss_peak_mb": payload["memory"]["tree_pss_peak_mb"],
        "tree_peak_where": payload["memory"].get("tree_peak_where", ""),
        "peak_studio_mb": payload["memory"]["studio_peak_mb"], "peak_ffmpeg_mb": payload["memory"]["ffmpeg_peak_mb"],
        "film_sha256": payload["film_sha256"], "own_cores": payload["cpu"]["own_cores"],
        "other_cores": payload["cpu"]["other_cores"], "source_digest": payload["source_digest"],
        "backend": r["backend"], "probe": payload.get("probe"),
    }


def previous_row(payload: dict[str, Any], checkout: Path) -> dict[str, Any]:
    """The previous version's render (its own harness's report, rendered in one process)."""
    r = payload["report"]
    try:
        commit = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "?"
    backend = r.get("backend") or {}
    return {"commit": commit, "version": backend.get("version") if isinstance(backend, dict) else None,
            "film_minutes": round(r["film_seconds"] / 60, 1), "shots": r.get("shots_total"),
            "wall_seconds": r["wall_seconds"], "rtf": r["realtime_factor"], "fps": r["frames_per_second"],
            "tree_peak_mb": payload["memory"]["tree_peak_mb"], "own_cores": payload["cpu"]["own_cores"],
            "other_cores": payload["cpu"]["other_cores"]}


def cmd_jobs(args: argparse.Namespace) -> int:
    """``--jobs``: -j 1 vs -j 2 and the one- and two-encoder ceilings, at each resolution,
    in one run; the targets of issue 19."""
    from studio.run.speed import probe

    if args.stand_in:
        print("--jobs needs the animatic backend (workers load it in processes of their own)", file=sys.stderr)
        return 1
    minutes = args.minutes or (15 if args.quick else 90)
    resolutions = [HD] if args.only_720 else [SD] if args.skip_720 else [SD, HD]
    started = time.perf_counter()
    date = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    loadavg_start = [round(x, 2) for x in os.getloadavg()]
    overall = CpuMeter()
    if args.tmp:  # --tmp names a folder to work in: made if it is not there yet
        Path(args.tmp).mkdir(parents=True, exist_ok=True)
    tmp_root = Path(tempfile.mkdtemp(prefix="studio-bench-jobs-", dir=args.tmp))
    log(f"--jobs: the {minutes:g}-min feature at {', '.join(resolutions)}, working in {tmp_root}")
    per_res: list[dict[str, Any]] = []
    # each phase's numbers land in a checkpoint as soon as they exist: --resume skips them
    checkpoint = Path(args.checkpoint or Path(tempfile.gettempdir()) / "render_feature-jobs-checkpoint.json")
    config = {"jobs": True, "minutes": minutes, "resolutions": resolutions, "previous": args.previous,
              "bracket": args.bracket, "source": STARTUP_DIGEST}
    phases = resumed_phases(checkpoint, config) if args.resume else {}

    def phase(name: str, what: str, measure: Any) -> dict[str, Any]:
        if name in phases:
            return phases[name]
        if args.wait_quiet:
            wait_for_quiet(args.wait_quiet, what)
        phases[name] = measure()
        checkpoint.write_text(json.dumps({"config": config, "phases": phases}, indent=1) + "\n")
        return phases[name]

    def render(res: str, work: Path, label: str, **how: Any) -> dict[str, Any]:
        before = probe()["seconds"]  # the host's speed just before and just after: how far it drifted meanwhile
        payload = render_in_subprocess(yaml, res, work, label, BACKEND, False, **how)
        payload["probe"] = [before, probe()["seconds"]]
        shutil.rmtree(work)
        return payload

    def ceiling(res: str, streams: int, when: str = "") -> dict[str, Any]:
        what = f"encode ceiling {res}, {streams} streams{when}"
        return phase(f"ceiling_{streams}{when.replace(' ', '_')} {res}", what, lambda: run_child(
            ["_ceiling", "--screenplay", str(yaml), "--resolution", res, "--minutes", str(ceiling_minutes),
             "--backend", BACKEND, "--work", str(tmp_root / "ceiling"), "--streams", str(streams)],
            tmp_root / f"ceiling-{res}-{streams}.json", what))

    try:
        yaml = tmp_root / f"feature-{minutes:g}.yaml"
        write_feature(yaml, minutes=minutes, seed=SEED, resolution=SD, fps=FPS)
        ceiling_minutes = min(CEILING_MINUTES[args.quick], minutes)
        for res in resolutions:
            entry: dict[str, Any] = {"resolution": res}
            # the host's speed drifts (up to 1.8x within half an hour, BENCHMARKS.md): each comparison is
            # bracketed. The two-stream ceiling is measured just before and just after the pictures-only
            # render it is held against; the -j 1 render runs between two -j 2 renders of the same film.
            entry["ceiling_1"] = ceiling(res, 1)
            entry["ceiling_2"] = ceiling(res, 2)
            # like the ceiling, pictures only: -j 2's shots with both workers drawing (with sound, the sound is
            # made beside the shots and holds one worker back while it is)
            entry["j2_pictures"] = phase(f"j2_pictures {res}", f"-j 2 pictures-only render {res}", lambda: jobs_row(
                render(res, tmp_root / f"j2p-{res}", f"{minutes:g}-min {res} -j 2, pictures only", audio=False,
                       jobs=2), 2))
            if args.bracket:
                entry["ceiling_2_after"] = ceiling(res, 2, " after")
            runs = [("j2", 2, ""), ("j1", 1, ""), *([("j2_again", 2, ", again")] if args.bracket else [])]
            for key, jobs, again in runs:
                entry[key] = phase(f"{key} {res}", f"-j {jobs} render{again} {res}", lambda: jobs_row(render(
                    res, tmp_root / f"{key}-{res}", f"{minutes:g}-min {res} -j {jobs}{again}", audio=True,
                    jobs=jobs), jobs))
            if args.previous and res == SD:  # issue 18: the previous version's figure, in the same run
                entry["previous"] = phase(f"previous {res}", f"previous version {res}", lambda: previous_row(render(
                    res, tmp_root / f"previous-{res}", f"{minutes:g}-min {res} previous", audio=True,
                    checkout=Path(args.previous)), Path(args.previous)))
            per_res.append(entry)
    finally:
        if not args.keep_temp:
            shutil.rmtree(tmp_root, ignore_errors=True)
    results = {"date": date, "command": shlex.join(["python", "bench/render_feature.py", *sys.argv[1:]]),
               "machine": machine_info(), "versions": versions(per_res[0]["j1"]["backend"]), "minutes": minutes,
               "resolutions": per_res, "bench_seconds": round(time.perf_counter() - started, 1),
               "other_cores": overall.stop()["other_cores"], "loadavg_start": loadavg_start,
               "loadavg_end": [round(x, 2) for x in os.getloadavg()]}
    results["targets"] = jobs_targets(results)
    checkpoint.unlink(missing_ok=True)
    text = jobs_markdown(results)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    if args.write if args.write is not None else not (args.quick or args.minutes):  # the full run only
        from record import write_section

        write_section(jobs_mark(results), text, ROOT / "BENCHMARKS.md")
        log(f"wrote the {jobs_mark(results)} section of BENCHMARKS.md")
    return 0


def jobs_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for entry in results["resolutions"]:
        res, one, two = entry["resolution"], entry["j1"], entry["j2"]
        again = entry.get("j2_again")
        twos = [two, *([again] if again else [])]
        # bracketed: the -j 2 renders before and after the -j 1 one, averaged (a steady drift cancels out)
        wall2 = statistics.mean([t["wall_seconds"] for t in twos])
        ratio = wall2 / one["wall_seconds"]
        each = (f"; the -j 2 render before the -j 1 one {two['wall_seconds']:.1f} s = "
                f"{two['wall_seconds'] / one['wall_seconds']:.2f}x, after it {again['wall_seconds']:.1f} s = "
                f"{again['wall_seconds'] / one['wall_seconds']:.2f}x" if again else "")
        rtfs = " / ".join(f"{t['rtf']:.3f}" for t in twos)
        rows.append({"target": f"-j 2 vs -j 1 wall at {res}, {results['minutes']:g}-min film with sound",
                     "goal": f"<= {TARGET_JOBS_WALL}x",
                     "measured": f"{wall2:.1f} / {one['wall_seconds']:.1f} s = {ratio:.2f}x"
                     + (" (the mean of the two -j 2 renders around the -j 1 one" + each + ")" if again else "")
                     + f" (real-time factors {rtfs} / {one['rtf']:.3f})",
                     "met": ratio <= TARGET_JOBS_WALL})
        # like with like: the ceiling encodes pictures only, so it is held against the shots stage's frames/s of
        # the -j 2 render of the pictures only (with sound, the sound made beside the shots holds a worker back);
        # bracketed: the ceiling measured just before and just after that render, averaged
        pictures = entry.get("j2_pictures") or two
        after = entry.get("ceiling_2_after")
        c2 = statistics.mean([entry["ceiling_2"]["per_shot_fps"], *([after["per_shot_fps"]] if after else [])])
        ceiling = c2 / pictures["shots_fps"] if pictures["shots_fps"] else float("inf")
        with_sound = c2 / two["shots_fps"] if two["shots_fps"] else float("inf")
        around = (f", the mean of {entry['ceiling_2']['per_shot_fps']:.0f} before and {after['per_shot_fps']:.0f} "
                  "after the pictures-only render" if after else "")
        rows.append({"target": f"-j 2 shots within {TARGET_JOBS_CEILING}x of the two-encoder ceiling at {res}",
                     "goal": f"ceiling / shot frames/s <= {TARGET_JOBS_CEILING}",
                     "measured": f"{c2:.0f} / {pictures['shots_fps'] or 0:.0f} = {ceiling:.2f}"
                     + (f" (pictures only, like the ceiling{around}; the render with sound, its sound made beside "
                        f"the shots: {with_sound:.2f}; whole render with sound: {c2 / two['fps']:.2f})"
                        if pictures is not two else f" (whole render: {c2 / two['fps']:.2f})"),
                     "met": ceiling <= TARGET_JOBS_CEILING})
        renders = [one, *twos]
        for row in renders:
            rows.append({"target": f"peak memory, -j {row['jobs']}{_again(entry, row)} at {res} (the whole "
                         "process tree)", "goal": "<= 1024 MiB", "measured": f"{row['tree_peak_mb']:.0f} MiB RSS "
                         f"summed ({row['tree_pss_peak_mb']:.0f} MiB PSS; {row['tree_processes']} processes at most"
                         + (f"; peak {row['tree_peak_where']})" if row.get("tree_peak_where") else ")"),
                         "met": row["tree_peak_mb"] <= TARGET_PEAK_MB})
        prev = entry.get("previous")
        for row in renders:  # issue 18: the acting animatic still renders the feature with sound at <= 0.2x
            beside = (f"; previous version ({prev['commit']}, animatic {prev['version']}, one process) "
                      f"{prev['rtf']:.3f}" if prev else "")
            rows.append({"target": f"{results['minutes']:g}-min feature with sound at {res}, -j {row['jobs']}"
                                   f"{_again(entry, row)}: real-time factor (issue 18)",
                         "goal": f"<= {TARGET_ACTING_RTF}",
                         "measured": f"{row['rtf']:.3f}{beside}", "met": row["rtf"] <= TARGET_ACTING_RTF})
        same = all(t["film_sha256"] == one["film_sha256"] for t in twos)
        rows.append({"target": f"films byte-identical, -j 1 and -j 2 at {res}", "goal": "same SHA-256",
                     "measured": (" = " if same else " != ").join([one["film_sha256"][:16]]
                                                                  + [t["film_sha256"][:16] for t in twos]),
                     "met": same})
    return rows


def _again(entry: dict[str, Any], row: dict[str, Any]) -> str:
    return ", again" if row is entry.get("j2_again") else ""


def jobs_markdown(results: dict[str, Any]) -> str:
    m, v = results["machine"], results["versions"]
    mark = jobs_mark(results)
    out = [f"<!-- {mark} -->",
           "## Feature render with `-j` (`bench/render_feature.py --jobs`)",
           "",
           f"- **Date:** {results['date']}; **command:** `{results['command']}` (took "
           f"{results['bench_seconds'] / 60:.1f} min)",
           f"- **Machine:** {m['cores']} cores ({m['usable_cores']} usable), {m['cpu']}, {m['ram_gib']} GiB RAM; "
           f"studio {v['studio']} (commit {v['commit']}), ffmpeg {v['ffmpeg']}",
           f"- **Other load:** other processes used {results['other_cores']:.2f} cores on average over the run "
           f"(/proc/stat busy time minus the bench's own); load average {results['loadavg_start'][0]} at the start, "
           f"{results['loadavg_end'][0]} at the end. "
           + ("A busy machine: -j 2 cannot find a free core, so these figures show the bench works, not the "
              "targets." if results["other_cores"] > 0.3 else ""),
           f"- **Input:** `generate_feature(minutes={results['minutes']:g}, seed={SEED})`, {FPS} fps, with sound "
           "(voices, score, mix); each render `studio.run.parallel.render_film(jobs=N)` in a fresh process into "
           "a fresh cache. Memory: every process under the render (studio, shot and voice workers, every ffmpeg), "
           "their VmRSS summed in each sample (~20 a second), the largest sum (the target's figure: it counts "
           "the libraries the Python processes share once per process); PSS the same with shared pages split "
           "between the processes that share them.",
           "",
           "| resolution | -j | film min | shots | lines | wall s | estimate s | wall / film | frames/s | shots stage s | "
           "shot frames/s | voices s | sound s | workers | peak tree MiB (RSS) | peak tree MiB (PSS) | processes | "
           "cores used | other load (cores) | speed probe s (before / after) |",
           "|" + " --- |" * 20]
    for e in results["resolutions"]:
        if e.get("previous"):
            p = e["previous"]
            out.append(f"| {e['resolution']} | previous version ({p['commit']}, animatic {p['version']}), one "
                       f"process | {p['film_minutes']} | {p['shots']} | | {p['wall_seconds']:.1f} | | "
                       f"{p['rtf']:.3f} | {p['fps']:.1f} | | | | | | {p['tree_peak_mb']:.0f} | | | "
                       f"{p['own_cores']:.2f} | {p['other_cores']:.2f} | |")
        order = [e.get(k) for k in ("j2_pictures", "j2", "j1", "j2_again")] if e.get("j2_again") else \
            [e["j1"], e["j2"], e.get("j2_pictures")]  # in the order they ran
        for row in (r for r in order if r):
            kind = ", again" if row is e.get("j2_again") else "" if row.get("audio", True) else ", pictures only"
            probes = " / ".join(f"{x:.3f}" for x in row.get("probe") or [])
            out.append(f"| {row['resolution']} | {row['jobs']}{kind} "
                       f"| {row['film_minutes']} | {row['shots']} | "
                       f"{row['lines']} | {row['wall_seconds']:.1f} | {row['estimate_seconds'] or 0:.1f} | "
                       f"{row['rtf']:.3f} | {row['fps']:.1f} | "
                       f"{row['shots_seconds']:.1f} | {row['shots_fps']} | {row['stages'].get('voices') or 0:.1f} | "
                       f"{row.get('sound_seconds', 0):.1f}{' (beside the shots)' if row.get('sound_overlapped') else ''} | "
                       f"{row['workers_started']} shot, {row['voice_workers']} voice | {row['tree_peak_mb']:.0f} | "
                       f"{row['tree_pss_peak_mb']:.0f} | "
                       f"{row['tree_processes']} | {row['own_cores']:.2f} | {row['other_cores']:.2f} | {probes} |")
    out += ["", "| resolution | ceiling, 1 stream frames/s | ceiling, 2 streams frames/s (before / after the "
            "pictures-only render: mean) | -j 2 pictures only: shot "
            "frames/s | 2-stream ceiling / shots | -j 2 with sound: shot frames/s | 2-stream ceiling / shots | "
            "-j 2 with sound: render frames/s (whole) | 2-stream ceiling / whole render | other load (cores) |",
            "|" + " --- |" * 10]

    def over(ceiling: float, fps: float | None) -> str:
        return f"{ceiling / fps:.2f}" if fps else "-"

    for e in results["resolutions"]:
        c1, two, after = e["ceiling_1"], e["j2"], e.get("ceiling_2_after")
        twos = [e["ceiling_2"], *([after] if after else [])]
        c2 = statistics.mean([c["per_shot_fps"] for c in twos])
        shown = (" / ".join(f"{c['per_shot_fps']:.1f}" for c in twos) + f": {c2:.1f}") if after else f"{c2:.1f}"
        pictures = e.get("j2_pictures") or {}
        loads = " / ".join(f"{c['other_cores']:.2f}" for c in [c1, *twos])
        out.append(f"| {e['resolution']} | {c1['per_shot_fps']:.1f} | {shown} | "
                   f"{pictures.get('shots_fps') or '-'} | {over(c2, pictures.get('shots_fps'))} | "
                   f"{two['shots_fps']} | {over(c2, two['shots_fps'])} | {two['fps']:.1f} | "
                   f"{over(c2, two['fps'])} | {loads} |")
    out += ["", "**Targets (issue 19)**", "", "| target | goal | measured | met |", "| --- | --- | --- | --- |"]
    out += [f"| {t['target']} | {t['goal']} | {t['measured']} | {'yes' if t['met'] else 'NO'} |"
            for t in results["targets"]]
    out += ["",
            "Ceilings: the film's own frames through `ClipWriter` (the render's ffmpeg command line), one clip per "
            f"shot (its first {min(CEILING_MINUTES[False], results['minutes']):g} min), drawn and recorded "
            "before the clock starts, then written as the render writes them: a held picture is the same "
            "read-only array again (the ceiling of runs before 2026-12-04 played 4 sampled shots x 16 frames back "
            "and forth instead, which costs x264 more than the film's own frames: 15% fewer frames/s measured "
            "side by side); one stream, then two streams at once (two threads, each feeding its own ffmpeg; "
            "shots dealt longest first). The target holds the ceiling against the shots stage's frames/s (frames drawn / "
            "the shots stage's seconds: what the ceiling itself does) of a -j 2 render of the pictures only "
            "(`audio=False`: a silent track, no voices, score or mix), since the ceiling encodes pictures only; "
            "the -j 2 render with sound is beside it, its shots stage sharing the cores with the sound, and the "
            "whole render's frames/s (voices, sound and assembly included, as in the render_feature section). With -j 2 the sound is "
            "made while the shots render (\"beside the shots\": its seconds overlap theirs). Estimate: what `studio estimate` expected of that very render "
            "(`render-report.json`'s `estimate`, from `studio/run/stage_references.json`). Bracketed (the "
            "default, `--bracket`), because this host's speed drifts by up to 1.8x within half an hour: the "
            "renders run in the order listed; the two-stream ceiling is measured just before and just after the "
            "pictures-only render and the target takes their mean; the -j 1 render runs between two -j 2 renders "
            "of the same film and the wall target takes the mean of the two -j 2 walls (a steady drift cancels "
            "out; each ratio is given too). Speed probe: `studio.run.speed.probe()` (the median of 5 timings of "
            "a fixed slice of a render's work) just before and just after each render; higher is a slower host.",
            f"<!-- /{mark} -->"]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "_render":
        p = argparse.ArgumentParser(prog="render_feature.py _render", description="(internal) one render")
        p.add_argument("--screenplay", required=True)
        p.add_argument("--resolution", required=True)
        p.add_argument("--cache", required=True)
        p.add_argument("--out", required=True)
        p.add_argument("--json", required=True)
        p.add_argument("--backend", default=BACKEND)
        p.add_argument("--label", default="render")
        p.add_argument("--stand-in", action="store_true")
        p.add_argument("--audio", action="store_true")
        p.add_argument("--jobs", type=int, default=0)
        return cmd_render(p.parse_args(argv[1:]))
    if argv and argv[0] == "_ceiling":
        p = argparse.ArgumentParser(prog="render_feature.py _ceiling", description="(internal) the encode ceiling")
        p.add_argument("--screenplay", required=True)
        p.add_argument("--resolution", required=True)
        p.add_argument("--minutes", type=float, required=True)
        p.add_argument("--backend", default=BACKEND)
        p.add_argument("--work", required=True)
        p.add_argument("--json", required=True)
        p.add_argument("--stand-in", action="store_true")
        p.add_argument("--streams", type=int, default=1)
        p.add_argument("--frames", choices=["film", "sampled"], default="film",
                       help="film: the film's own frames, held pictures written again as the render writes them; "
                            "sampled: 4 shots x 16 frames played back and forth (the ceiling before 2026-12-04)")
        return cmd_ceiling(p.parse_args(argv[1:]))
    if argv and argv[0] == "_assembly":
        p = argparse.ArgumentParser(prog="render_feature.py _assembly", description="(internal) assembly vs MoviePy")
        p.add_argument("--render-json", required=True)
        p.add_argument("--work", required=True)
        p.add_argument("--json", required=True)
        return cmd_assembly(p.parse_args(argv[1:]))
    if argv and argv[0] == "profile":
        p = argparse.ArgumentParser(prog="render_feature.py profile", description=cmd_profile.__doc__)
        p.add_argument("--minutes", type=float, default=3)
        p.add_argument("--resolution", default=SD)
        p.add_argument("--top", type=int, default=25)
        p.add_argument("-o", "--output", help="also save the raw profile (for snakeviz and friends)")
        p.add_argument("--tmp", help="where the temporary cache goes (default: the system temp dir)")
        p.add_argument("--stand-in", action="store_true", help="development only: a tiny numpy backend")
        p.add_argument("--audio", action="store_true", help="also voice, score and mix (render_film's audio=True)")
        return cmd_profile(p.parse_args(argv[1:]))
    if argv and argv[0] == "report":
        p = argparse.ArgumentParser(prog="render_feature.py report",
                                    description="print the tables of a saved run (--json) again; --write records it")
        p.add_argument("results")
        p.add_argument("--write", action="store_true", help="write its section of BENCHMARKS.md")
        a = p.parse_args(argv[1:])
        results = json.loads(Path(a.results).read_text())
        if results.get("stand_in") and a.write:
            print("refusing to record stand-in numbers in BENCHMARKS.md", file=sys.stderr)
            return 1
        results["targets"] = evaluate(results)
        print_tables(results)
        if a.write:
            update_benchmarks(ROOT / "BENCHMARKS.md", markdown(results))
            log("wrote the render_feature section of BENCHMARKS.md")
        return 0
    if argv and argv[0] == "status":
        ok, why = animatic_status()
        print(("ready: " if ok else "not ready: ") + why)
        return 0 if ok else 1
    if argv and argv[0] == "run":
        argv = argv[1:]
    p = argparse.ArgumentParser(prog="render_feature.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="sub-commands: run (default), profile, report FILE.json, status\n\n"
                                       "studio render -j (issue 19), the recorded run on a quiet machine:\n"
                                       "  nice python bench/render_feature.py --jobs --wait-quiet 120 --json /tmp/jobs.json\n"
                                       "a short run (10-min film, 854x480 only):\n"
                                       "  nice python bench/render_feature.py --jobs --minutes 10 --skip-720")
    p.add_argument("--quick", action="store_true", help="5- and 15-minute films instead of 10 and 90 (a smoke run)")
    at = p.add_mutually_exclusive_group()
    at.add_argument("--skip-720", action="store_true", help="leave out the 1280x720 render and ceiling")
    at.add_argument("--only-720", action="store_true",
                    help="with --jobs: the 1280x720 renders and ceilings only (their own section of BENCHMARKS.md, "
                         "render_feature_jobs_720: a run at each resolution fits a session of its own)")
    p.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                   help="write the section of BENCHMARKS.md (default: yes for a full run, no for --quick)")
    p.add_argument("--json", help="also save every number as JSON here")
    p.add_argument("--tmp", help="where the temporary caches go (default: the system temp dir; needs ~3 GB)")
    p.add_argument("--keep-temp", action="store_true", help="keep the temporary directory (debugging)")
    p.add_argument("--resume", action="store_true",
                   help="skip the phases an interrupted run with the same options already measured (see --checkpoint)")
    p.add_argument("--checkpoint", help="where each phase's numbers are saved as they come "
                                        "(default: render_feature-checkpoint.json in the system temp dir)")
    p.add_argument("--audio", action="store_true",
                   help="also voice, score and mix the films (render_film's audio=True); default: pictures and a "
                        "silent track")
    p.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                   help="before each measurement, wait up to SECONDS for other processes to use < 0.3 cores")
    p.add_argument("--stand-in", action="store_true", help="development only: a tiny numpy backend, never recorded")
    p.add_argument("--jobs", action="store_true",
                   help="measure studio render -j instead: the feature with sound rendered with -j 1 and with -j 2, "
                        "the one- and two-encoder ceilings, the memory of the whole process tree (studio, workers, "
                        "ffmpeg), films byte-identical; its own section of BENCHMARKS.md (render_feature_jobs)")
    p.add_argument("--previous", metavar="CHECKOUT",
                   help="with --jobs: also render the 854x480 film with sound by the studio checked out in CHECKOUT "
                        "(its own bench/render_feature.py _render --audio, one process): the previous version's "
                        "real-time factor beside this one's, in the same run (issue 18)")
    p.add_argument("--bracket", action=argparse.BooleanOptionalAction, default=True,
                   help="with --jobs (default on): the two-stream ceiling again just after the pictures-only render, "
                        "and a second -j 2 render after the -j 1 one, so a host that drifts during the run shows "
                        "(and a steady drift cancels out); --no-bracket: one of each")
    p.add_argument("--minutes", type=float, help="with --jobs: the film's length (default 90; 15 with --quick); "
                                                 "a run with --minutes is not written to BENCHMARKS.md unless --write")
    args = p.parse_args(argv)
    if args.jobs:
        return cmd_jobs(args)
    if args.only_720:
        p.error("--only-720 goes with --jobs")
    return cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
