"""The storyboard card of a shot shows the scene's period (from the screenplay)."""

from __future__ import annotations

from pathlib import Path

from studio.graph.scene_graph import SceneGraph
from studio.render.plan import plan_film
from studio.run.status import ShotStatus
from studio.screenplay import load_screenplay
from studio.web import views
from studio.web.app import templates

RIVER = Path(__file__).parents[1] / "screenplay" / "fixtures" / "river-years.fountain"


def test_a_card_shows_the_period_of_its_scene():
    screenplay = load_screenplay(RIVER)
    plans = plan_film(SceneGraph.from_screenplay(screenplay))
    html = {}
    for scene in ("s1", "s2"):
        plan = next(p for p in plans if p.scene_id == scene)
        card = views.card(ShotStatus(plan, None, 1, None, "not rendered"), screenplay, None)
        html[scene] = templates.get_template("_card.html").render(c=card)
    assert '<span class="period">1973</span>' in html["s1"]
    assert 'class="period"' not in html["s2"]
