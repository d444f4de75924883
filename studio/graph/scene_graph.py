"""The scene graph: characters, locations, scenes and shots as a typed networkx graph.

Nodes are named ``film``, ``scene:<id>``, ``shot:<id>``, ``character:<id>`` and
``location:<id>``, each with a ``kind`` attribute. Edges read subject → object with a
``kind``:

=============  =====================  ==============================================
kind           from → to              meaning
=============  =====================  ==============================================
contains       film → scene,          the film contains the scene; the scene the shot
               scene → shot
at             scene → location       the scene takes place at the location
appears_in     character → scene      the character is present in the scene
features       shot → character       the shot is on the character (a subject)
speaks_in      character → shot       the character has a line in the shot
follows        shot → shot            the shot comes right after the other in the cut
continues      shot → shot            the shot starts on the other's last frame
=============  =====================  ==============================================

Later stages ask it for the shots of a character, continuity chains and the render
order: a chain renders in order; different chains are independent.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

import networkx as nx

from studio.graph.coverage import plan_shots, present_characters
from studio.graph.shots import Shot
from studio.screenplay.model import Screenplay


class SceneGraph:
    """The planned film as a graph, with the queries later stages need."""

    def __init__(self, screenplay: Screenplay, shots: list[Shot]) -> None:
        self.screenplay = screenplay
        self.shots = list(shots)
        self._by_id = {s.id: s for s in self.shots}
        self.graph = self._build()

    @classmethod
    def from_screenplay(cls, screenplay: Screenplay, speech: Mapping[str, float] | None = None) -> SceneGraph:
        return cls(screenplay, plan_shots(screenplay, speech))

    def _build(self) -> nx.MultiDiGraph:
        sp = self.screenplay
        g = nx.MultiDiGraph(title=sp.film.title)
        g.add_node("film", kind="film", label=sp.film.title)
        for c in sp.characters:
            g.add_node(f"character:{c.id}", kind="character", label=c.name, description=c.description)
        for loc in sp.locations:
            g.add_node(f"location:{loc.id}", kind="location", label=loc.name or loc.id, description=loc.description)
        for scene in sp.scenes:
            node = f"scene:{scene.id}"
            g.add_node(node, kind="scene", label=scene.heading or scene.id, time=scene.time)
            g.add_edge("film", node, key="contains", kind="contains")
            g.add_edge(node, f"location:{scene.location}", key="at", kind="at")
            for cid in present_characters(scene):
                g.add_edge(f"character:{cid}", node, key="appears_in", kind="appears_in")
        previous: Shot | None = None
        for shot in self.shots:
            node = f"shot:{shot.id}"
            g.add_node(node, kind="shot", label=shot.id, scene=shot.scene, number=shot.number, size=shot.size,
                       move=shot.move, duration=shot.duration, continuity=shot.continuity)
            g.add_edge(f"scene:{shot.scene}", node, key="contains", kind="contains")
            for cid in shot.subjects:
                g.add_edge(node, f"character:{cid}", key="features", kind="features")
            for cid in shot.speakers:
                g.add_edge(f"character:{cid}", node, key="speaks_in", kind="speaks_in")
            if previous is not None:
                g.add_edge(node, f"shot:{previous.id}", key="follows", kind="follows")
                if shot.continuous:
                    g.add_edge(node, f"shot:{previous.id}", key="continues", kind="continues")
            previous = shot
        return g

    # -- queries ---------------------------------------------------------------
    def shot(self, shot_id: str) -> Shot:
        return self._by_id[shot_id]

    def scene_shots(self, scene_id: str) -> list[Shot]:
        return [s for s in self.shots if s.scene == scene_id]

    def shots_of(self, character_id: str) -> list[Shot]:
        """Shots that feature the character or carry a line of theirs, in story order."""
        node = f"character:{character_id}"
        ids = {u.split(":", 1)[1] for u, _, k in self.graph.in_edges(node, keys=True) if k == "features"}
        ids |= {v.split(":", 1)[1] for _, v, k in self.graph.out_edges(node, keys=True) if k == "speaks_in"}
        return [s for s in self.shots if s.id in ids]

    def continues(self, shot_id: str) -> str | None:
        """The shot this one picks up from, if it is continuous."""
        for _, v, k in self.graph.out_edges(f"shot:{shot_id}", keys=True):
            if k == "continues":
                return v.split(":", 1)[1]
        return None

    @cached_property
    def chains(self) -> list[list[str]]:
        """Continuity chains in story order: each starts on a cut and runs through
        every shot that continues it. Every shot is in exactly one chain."""
        chains: list[list[str]] = []
        for shot in self.shots:
            if shot.continuous and chains:
                chains[-1].append(shot.id)
            else:
                chains.append([shot.id])
        return chains

    def chain_of(self, shot_id: str) -> list[str]:
        return next(c for c in self.chains if shot_id in c)

    def dependents(self, shot_id: str) -> list[str]:
        """Shots whose pixels depend on this one (the rest of its chain after it)."""
        chain = self.chain_of(shot_id)
        return chain[chain.index(shot_id) + 1:]

    def render_order(self) -> list[list[str]]:
        """Independent chains, each in the order its shots must render. Chains may
        render in parallel; inside a chain, a shot waits for the one it continues."""
        return [list(c) for c in self.chains]

    def generations(self) -> list[list[str]]:
        """Waves of shots that can render at the same time: wave k holds the k-th shot
        of every chain. The number of waves is the longest chain's length."""
        waves: list[list[str]] = []
        for chain in self.chains:
            for k, sid in enumerate(chain):
                if k == len(waves):
                    waves.append([])
                waves[k].append(sid)
        return waves

    @property
    def frames(self) -> int:
        """Total planned frames."""
        return sum(s.frames for s in self.shots)

    @property
    def runtime(self) -> float:
        """Total planned running time in seconds (a whole number of frames)."""
        return round(self.frames / self.screenplay.film.fps, 6)

    def scene_starts(self) -> list[tuple[str, float]]:
        """(scene id, start second) in story order, for chapters."""
        out: list[tuple[str, float]] = []
        frame = 0
        for shot in self.shots:
            if not out or out[-1][0] != shot.scene:
                out.append((shot.scene, round(frame / self.screenplay.film.fps, 6)))
            frame += shot.frames
        return out
