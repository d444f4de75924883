"""The Ray executor on a local Ray instance, loopback only: the film it renders is the
local executor's, byte for byte; a worker killed mid-shot costs a retry, not the film;
a continuous shot never starts before the clip it continues is stored; the CLI joins a
cluster (and leaves it running) or starts a private one (and stops it).

One Ray instance serves the module (starting one takes seconds); the CLI tests run
`studio` as a user would, in a child process."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# before Ray is imported: a loopback node address stays loopback (every Ray server binds it)
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from studio.cache.manifest import Manifest
from studio.render.backend import BACKENDS, load_backend, register_backend
from studio.render.plan import ShotPlan
from studio.run.local import render_film
from studio.screenplay import load_screenplay, parse_screenplay
from tests.conftest import EXAMPLE, MINIMAL, ROOT, small
from tests.run.test_ray_schedule import CHAINS

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray")


class ProbeBackend:
    """The animatic's frames, plus what these tests watch in the workers: a log line
    ``shot start-time pid`` when a shot starts rendering, and a crash (the worker
    process exits mid-shot) the first ``crashes`` times it renders the shot ``crash``,
    counted with marker files ``<marker>.0``, ``<marker>.1``, ... Options: ``log``,
    ``crash``, ``crashes`` (default 1), ``marker``."""

    name = "ray-probe"
    version = "1"
    varies = False

    def __init__(self, options: dict[str, Any]) -> None:
        self.log = options.get("log")
        self.crash = options.get("crash")
        self.marker = options.get("marker")
        self.crashes = int(options.get("crashes", 1))
        self.inner = load_backend("animatic")
        self.tail_frames = getattr(self.inner, "tail_frames", 1)

    def describe(self) -> dict[str, Any]:
        return {**self.inner.describe(), "name": self.name}  # the animatic's pixels

    def render(self, plan: ShotPlan, cond: Any) -> Iterator[Any]:
        if self.log:
            with open(self.log, "a", encoding="utf-8") as f:
                f.write(f"{plan.shot_id} {time.time():.6f} {os.getpid()}\n")
        frames = self.inner.render(plan, cond)
        if plan.shot_id != self.crash or not self.marker:
            return frames
        for n in range(self.crashes):
            try:
                os.close(os.open(f"{self.marker}.{n}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:  # crashed that time already
                continue
            return self._crash_halfway(frames, plan.frames // 2)
        return frames

    @staticmethod
    def _crash_halfway(frames: Iterator[Any], after: int) -> Iterator[Any]:
        for count, frame in enumerate(frames):
            if count == after:
                os._exit(1)  # the worker process dies mid-shot, its encoder half-fed
            yield frame


def register_test_backends() -> None:
    """In the driver and (as Ray's worker setup hook) in every worker process."""
    if ProbeBackend.name not in BACKENDS:
        register_backend(ProbeBackend.name)(ProbeBackend)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A Ray instance on loopback for this module, with two CPUs; yields its address."""
    register_test_backends()
    ray.init(address="local", num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             logging_level=logging.ERROR, log_to_driver=False,
             runtime_env={"worker_process_setup_hook": f"{__name__}.register_test_backends",
                          "env_vars": {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                                              os.environ.get("PYTHONPATH")]))}})
    try:
        address = ray.get_runtime_context().gcs_address
        assert address.startswith("127.0.0.1:") and ray.util.get_node_ip_address() == "127.0.0.1"
        yield address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def lamp():
    return small(load_screenplay(EXAMPLE))


@pytest.fixture(scope="module")
def reference(lamp, tmp_path_factory):
    """The example film (small, silent) rendered by the local executor."""
    root = tmp_path_factory.mktemp("local")
    return render_film(lamp, root / "out", cache_dir=root / "cache", name="the-last-lamp", audio=False)


def render_ray(screenplay, root: Path, **kw: Any):
    from studio.run.ray_executor import render_film_ray

    return render_film_ray(screenplay, root / "out", cache_dir=root / "cache", name="the-last-lamp", audio=False,
                           **kw)


def free_cpus_back(expected: float = 2, timeout: float = 30) -> bool:
    """Our actors are gone once the cluster's CPUs are all free again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ray.available_resources().get("CPU", 0) >= expected:
            return True
        time.sleep(0.2)
    return False


def test_a_film_rendered_on_ray_is_byte_identical_to_the_local_one(cluster, lamp, reference, tmp_path):
    result = render_ray(lamp, tmp_path)
    assert [c.sha256 for c in result.clips] == [c.sha256 for c in reference.clips]
    assert result.film.read_bytes() == reference.film.read_bytes()
    executor = result.report["executor"]
    assert executor["workers"] == 2 and executor["shots_on_workers"] == len(reference.plans)
    assert result.report["shots_rendered"] == len(reference.plans)
    assert free_cpus_back()  # the workers were removed; the cluster is still up

    again = render_ray(lamp, tmp_path)  # everything cached: the driver takes it all, no worker starts
    assert again.report["shots_rendered"] == 0 and again.report["executor"]["shots_on_workers"] == 0
    assert again.film.read_bytes() == reference.film.read_bytes()


def test_a_continuous_shot_never_starts_before_the_clip_it_continues_exists(cluster, tmp_path):
    log = tmp_path / "starts.log"
    screenplay = small(parse_screenplay(CHAINS, str(tmp_path / "chains.yaml"), base_dir=tmp_path))
    result = render_ray(screenplay, tmp_path, backend_name=ProbeBackend.name, backend_options={"log": str(log)})
    starts: dict[str, float] = {}
    pids: set[str] = set()
    for line in log.read_text().splitlines():
        shot, at, pid = line.split()
        starts[shot] = float(at)
        pids.add(pid)
    assert set(starts) == {p.shot_id for p in result.plans}
    assert len(pids) == 2  # both workers rendered shots
    manifest = Manifest(tmp_path / "cache")
    try:
        stored = {p.shot_id: manifest.render(c.key).created for p, c in zip(result.plans, result.clips)}
    finally:
        manifest.close()
    continuous = [(result.plans[i - 1].shot_id, p.shot_id) for i, p in enumerate(result.plans)
                  if p.continuity == "continuous"]
    assert len(continuous) == 5
    for before, after in continuous:
        assert starts[after] >= stored[before], f"{after} started before the clip of {before} was stored"


def test_a_worker_killed_mid_shot_retries_the_shot_and_the_film_completes(cluster, lamp, reference, tmp_path):
    crash = "climb-2"  # a continuous shot: its retry must pick up the same stored frames
    log, marker = tmp_path / "starts.log", tmp_path / "crashed"
    # killed twice: Ray restarts the worker and retries once (retries=1), then gives up
    # on that worker; the executor hands the shot to a fresh one
    result = render_ray(lamp, tmp_path, backend_name=ProbeBackend.name, retries=1,
                        backend_options={"log": str(log), "crash": crash, "crashes": 2, "marker": str(marker)})
    assert Path(f"{marker}.0").exists() and Path(f"{marker}.1").exists()  # the worker did die, twice
    tries = [line.split() for line in log.read_text().splitlines() if line.startswith(crash + " ")]
    assert len(tries) == 3 and len({pid for _shot, _at, pid in tries}) == 3  # three starts, three processes
    assert result.report["executor"]["retried"] == {crash: 1}
    assert result.report["shots_rendered"] == len(reference.plans)
    assert [c.sha256 for c in result.clips] == [c.sha256 for c in reference.clips]  # the same pictures
    manifest = Manifest(tmp_path / "cache")
    try:
        counts = manifest.render_counts()
    finally:
        manifest.close()
    assert all(counts[c.key] == 1 for c in result.clips)  # the killed attempt stored nothing
    assert free_cpus_back()


def studio_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_ADDRESS")}
    env.update(extra)
    return env


def copy_lamp(tmp_path: Path) -> Path:
    path = tmp_path / "the-last-lamp.yaml"
    shutil.copy(EXAMPLE, path)
    return path


def run(*args: str, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "studio", *args], check=False, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


SMALL_FLAGS = ("--resolution", "160x96", "--fps", "12", "--silent", "--quiet")


def test_the_cli_joins_a_cluster_by_address_and_leaves_it_running(cluster, reference, tmp_path):
    film = copy_lamp(tmp_path)
    proc = run("render", str(film), *SMALL_FLAGS, "-o", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"),
               "--executor", "ray", "--address", cluster, env=studio_env())
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "ray: 31 shots on 2 workers" in proc.stdout
    assert (tmp_path / "out" / "the-last-lamp.mp4").read_bytes() == reference.film.read_bytes()
    assert ray.is_initialized() and free_cpus_back()  # still up, and its workers are gone


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def listening_addresses(root: int) -> list[str]:
    """The local addresses of every TCP socket listening in process ``root`` and its
    descendants (a private Ray instance: GCS, raylet, agents, workers), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grew = True
    inodes: set[str] = set()
    for pid in tree:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            pass
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                found.append(_address(fields[1].split(":")[0]))
    return found


def _address(hex_ip: str) -> str:
    """/proc/net/tcp{,6} addresses are little-endian 32-bit words."""
    words = [bytes.fromhex(hex_ip[i:i + 8])[::-1] for i in range(0, len(hex_ip), 8)]
    raw = b"".join(words)
    if len(raw) == 16 and raw[:12] == b"\0" * 10 + b"\xff\xff":
        raw = raw[12:]  # IPv4-mapped
    return str(ipaddress.ip_address(raw))


PRIVATE_RENDER = """\
import json, os, sys
from pathlib import Path
from studio.run.local import QuietProgress
from studio.run.ray_executor import render_film_ray
from studio.screenplay import load_screenplay
from tests.conftest import small
from tests.run.test_ray import listening_addresses

class Watch(QuietProgress):
    listening = None

    def shot_finished(self, plan, cached):  # Ray is up: look at what it listens on
        if self.listening is None:
            self.listening = listening_addresses(os.getpid())

root = Path(sys.argv[2])
watch = Watch()
result = render_film_ray(small(load_screenplay(sys.argv[1])), root / "out", cache_dir=root / "cache",
                         name="the-last-lamp", audio=False, progress=watch)
print(json.dumps({"listening": watch.listening, "executor": result.report["executor"]}))
"""


def test_without_an_address_ray_starts_on_loopback_only_and_stops_afterwards(reference, tmp_path):
    ray_tmp = tempfile.mkdtemp(prefix="rt", dir="/tmp")  # short: Ray's socket paths live under it
    try:
        proc = subprocess.run([sys.executable, "-c", PRIVATE_RENDER, str(EXAMPLE), str(tmp_path)], check=False, cwd=ROOT,
                              env=studio_env(RAY_TMPDIR=ray_tmp), capture_output=True, text=True, timeout=240)
        assert proc.returncode == 0, proc.stderr + proc.stdout
        report = json.loads(proc.stdout.splitlines()[-1])
        assert report["executor"]["private"] and report["executor"]["address"].startswith("127.0.0.1:")
        listening = report["listening"]
        assert listening and all(ipaddress.ip_address(a).is_loopback for a in listening), listening
        assert (tmp_path / "out" / "the-last-lamp.mp4").read_bytes() == reference.film.read_bytes()
        deadline = time.monotonic() + 20
        while _processes_mentioning(ray_tmp) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _processes_mentioning(ray_tmp) == []  # the instance stopped with the render
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)


def test_the_local_executor_needs_no_ray(tmp_path):
    (tmp_path / "film.yaml").write_text(MINIMAL, encoding="utf-8")
    code = (
        "import sys\n"
        "from studio.cli import main\n"
        f"rc = main(['render', {str(tmp_path / 'film.yaml')!r}, '--resolution', '160x96', '--fps', '12', "
        f"'--silent', '--quiet', '-o', {str(tmp_path / 'out')!r}, '--cache', {str(tmp_path / 'cache')!r}])\n"
        "print(rc, 'ray' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.stdout.split()[-2:] == ["0", "False"], proc.stderr + proc.stdout


def test_address_needs_the_ray_executor(tmp_path):
    from studio.cli import main

    (tmp_path / "film.yaml").write_text(MINIMAL, encoding="utf-8")
    assert main(["render", str(tmp_path / "film.yaml"), "--address", "127.0.0.1:6379", "--quiet"]) == 2
