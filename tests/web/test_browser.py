"""End to end in headless Chromium (Debian's, driven by Playwright) against the web
studio on loopback: the storyboard, a re-render from its button, a take picked in the
player, and an edit of the YAML on disk showing up as stale shots without a reload.

The tests run in order on one served film (each builds on the one before)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from studio.cache.lockfile import Lockfile
from studio.cache.manifest import Manifest
from tests.conftest import ROOT, small
from tests.web.conftest import request

CHROMIUM = os.environ.get("STUDIO_CHROMIUM", "/usr/bin/chromium")
# as the machine notes say: headless, no sandbox as root, and no background traffic
# (this machine's network is closed: Chromium's own connections would fail noisily)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"
TIMEOUT_MS = 30_000

if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium; ./run.sh setup installs it)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")


@pytest.fixture(scope="module")
def playwright():
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright, tmp_path_factory):
    # a fresh profile folder every run: nothing carries over between runs. The pages forbid
    # eval (Content-Security-Policy); Playwright's waiting on expressions needs it, so the
    # test context bypasses the policy (test_the_policy_lets_the_pages_work checks it)
    profile = tmp_path_factory.mktemp("chromium-profile")
    context = playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
        viewport={"width": 1400, "height": 900}, bypass_csp=True)
    yield context
    context.close()


@pytest.fixture(scope="module")
def page(browser, served):
    _running, _path = served
    tab = browser.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.errors = errors  # type: ignore[attr-defined]
    yield tab
    assert not errors, f"JavaScript errors: {errors}"


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#live.on")  # the event stream is open: updates will arrive


def cards(page) -> list[dict]:
    return page.eval_on_selector_all(
        ".card", "els => els.map(e => ({shot: e.dataset.shot, take: e.dataset.take, stale: e.dataset.stale,"
                 " scene: e.closest('.scene').dataset.scene, thumb: (e.querySelector('img') || {}).src || null}))")


def test_the_storyboard_shows_one_card_per_shot(page, served):
    running, path = served
    from studio.graph.scene_graph import SceneGraph
    from studio.screenplay import load_screenplay

    graph = SceneGraph.from_screenplay(small(load_screenplay(path)))
    open_page(page, running.url)
    shown = cards(page)
    assert [c["shot"] for c in shown] == [s.id for s in graph.shots]  # one card per shot, in story order
    assert [c["scene"] for c in shown] == [s.scene for s in graph.shots]  # grouped by scene
    assert page.locator(".scene").count() == len({s.scene for s in graph.shots})
    assert all(c["thumb"] and "/thumb/" in c["thumb"] for c in shown)  # every key frame from the cache
    assert all(c["stale"] == "false" for c in shown)
    # every key frame loads (they load lazily as the page scrolls: here all at once, for the screenshot)
    page.eval_on_selector_all(".card img", "imgs => imgs.forEach(i => { i.loading = 'eager'; })")
    page.wait_for_function("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    first = page.locator(".card").first
    assert "storm-01" in first.inner_text() and "Re-render" in first.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "storyboard.png"), full_page=True)
    assert (ARTIFACTS / "storyboard.png").stat().st_size > 10_000


def test_rerender_makes_a_new_take_and_the_card_updates(page, served):
    running, path = served
    shot = "storm-02"
    open_page(page, running.url)
    card = page.locator(f'.card[data-shot="{shot}"]')
    before = card.locator("img").get_attribute("src")
    assert card.get_attribute("data-take") == "1"
    card.locator("button.rerender").click()
    page.wait_for_selector(f'.card[data-shot="{shot}"][data-take="2"]')  # the card was replaced, no reload
    card = page.locator(f'.card[data-shot="{shot}"]')
    assert card.locator(".badge.take-no").inner_text() == "take 2"
    assert card.locator("img").get_attribute("src") != before  # the new take's key frame
    # the progress of that render reached the page as it happened
    assert shot in page.evaluate("window.studioEvents.progressShots")
    manifest = Manifest(path.parent / "cache")
    try:
        takes = {t.take for t in manifest.takes(str(path.resolve()), shot)}
    finally:
        manifest.close()
    assert takes == {1, 2}
    assert Lockfile.load(Lockfile.beside(path)).shots[shot].take == 2
    # the others were untouched
    assert {c["shot"] for c in cards(page) if c["take"] != "1"} == {shot}


def _cut_sha(running) -> str:
    cut = running.studio.cut()
    status, _headers, body = request(running.url, cut["url"])
    assert status == 200 and body[4:8] == b"ftyp"
    return hashlib.sha256(body).hexdigest()


def test_selecting_a_take_changes_the_cut(page, served):
    running, path = served
    shot = "storm-02"
    open_page(page, running.url + "player")
    row = page.locator(f'.take-row[data-shot="{shot}"]')
    assert row.locator("figure.take").count() == 2
    assert row.locator("figure.take.used").get_attribute("data-take") == "2"
    key_before = page.get_attribute("#cut", "data-cut-key")
    sha_before = _cut_sha(running)
    row.locator('button.use-take[data-take="1"]').click()
    page.wait_for_function(f"document.querySelector('#cut').dataset.cutKey !== {key_before!r}")
    page.wait_for_selector(f'.take-row[data-shot="{shot}"] figure.take.used[data-take="1"]')
    assert _cut_sha(running) != sha_before  # the cut was rebuilt with take 1
    assert Lockfile.load(Lockfile.beside(path)).shots[shot].take == 1
    assert page.evaluate("document.querySelector('#cut').getAttribute('src')").endswith(
        page.get_attribute("#cut", "data-cut-key"))


def _expected_stale(path: Path, texts: list[str]) -> set[str]:
    """Shots whose own words changed, and the continuous shots after them (from the
    scene graph, not from the status code under test)."""
    from studio.graph.scene_graph import SceneGraph
    from studio.screenplay import load_screenplay

    graph = SceneGraph.from_screenplay(small(load_screenplay(path)))
    stale: set[str] = set()
    previous = None
    for shot in graph.shots:
        words = " ".join([shot.description or "", shot.action or ""] + [line.text for line in shot.lines])
        if any(t in words for t in texts) or (shot.continuous and previous in stale):
            stale.add(shot.id)
        previous = shot.id
    return stale


def test_editing_the_yaml_marks_exactly_the_affected_shots_stale(page, served):
    running, path = served
    open_page(page, running.url)
    page.evaluate("window.notReloaded = true")
    text = path.read_text(encoding="utf-8")
    edits = {"torch beam bouncing on the whitewash": "torch beam flickering on the whitewash",
             "Then ours will.": "Then ours will, tonight."}
    for old, new in edits.items():
        assert text.count(old) == 1
        text = text.replace(old, new)
    expected = _expected_stale_after(path, text, list(edits.values()))
    assert expected == {"climb-1", "climb-2", "standoff-05"}  # climb-2 continues climb-1
    tmp = path.with_name(".lamp.yaml.saving")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # as editors save: a new file in place
    page.wait_for_function(f"document.querySelectorAll('.card[data-stale=\"true\"]').length === {len(expected)}")
    shown = cards(page)
    assert {c["shot"] for c in shown if c["stale"] == "true"} == expected
    assert page.evaluate("window.notReloaded") is True  # updated in place
    assert page.locator("#stale-count").inner_text() == f"{len(expected)} stale"
    reason = page.locator('.card[data-shot="climb-2"] .reason').inner_text()
    assert reason == "continues climb-1, which is stale"
    page.locator('.scene[data-scene="climb"]').scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "storyboard-stale.png"), full_page=False)

    # and one button renders them: nothing is stale afterwards
    page.locator("#render-stale").click()
    page.wait_for_function("document.querySelectorAll('.card[data-stale=\"true\"]').length === 0")
    assert page.locator("#stale-count").inner_text() == "0 stale"
    assert running.studio.status().stale == []


def _expected_stale_after(path: Path, text: str, texts: list[str]) -> set[str]:
    probe = path.with_name("probe.yaml")
    probe.write_text(text, encoding="utf-8")
    try:
        return _expected_stale(probe, texts)
    finally:
        probe.unlink()


def test_a_broken_screenplay_shows_its_problem_and_keeps_the_board(page, served):
    running, path = served
    open_page(page, running.url)
    good = path.read_text(encoding="utf-8")
    try:
        path.write_text(good.replace("speaker: theo", "speaker: theodore", 1), encoding="utf-8")
        page.wait_for_selector("#problem:not([hidden])")
        # the page shows the problem of the file as saved (not of a half-written one)
        page.wait_for_function("(document.querySelector('#problem pre') || {}).innerText?.includes('theodore')")
        assert "theodore" in page.locator("#problem pre").inner_text()
        assert page.locator(".card").count() == len(running.studio.status().shots)  # the last good board
    finally:
        path.write_text(good, encoding="utf-8")
    page.wait_for_selector("#problem[hidden]", state="attached")


def test_the_policy_lets_the_pages_work(playwright, served):
    """With the Content-Security-Policy enforced, the pages' own script and styles run."""
    running, _path = served
    strict = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    try:
        tab = strict.new_page()
        messages: list[str] = []
        tab.on("console", lambda m: messages.append(m.text))
        tab.goto(running.url)
        tab.wait_for_selector("#live.on", timeout=TIMEOUT_MS)  # studio.js ran and opened the stream
        assert tab.eval_on_selector("header.top", "e => getComputedStyle(e).position") == "sticky"  # CSS applied
        assert not [m for m in messages if "Content Security Policy" in m], messages
    finally:
        strict.close()


def test_the_other_pages_render(page, served):
    running, _path = served
    started = time.monotonic()  # the shots page, the one a filmmaker keeps open: what the others are held to
    open_page(page, running.url)
    reference = time.monotonic() - started
    for url, selector in (("graph", ".graph svg"), ("likeness", "table.casting"), ("estimate", "table.estimate"),
                          ("estimate?backend=diffusers&gpus=4", "table.estimate")):
        started = time.monotonic()
        page.goto(running.url + url)
        page.wait_for_selector(selector)
        took = time.monotonic() - started
        assert took < 10 * reference, (url, took, reference)  # 0.1-0.25 s here, a third of the shots page
    assert "GPU-hours" in page.inner_text(".totals")


def test_keyframes_first_on_the_storyboard(browser, served_keyframes):
    """Draw the keyframes, approve a card's, ask for a new one and pick the old one back:
    each updates the card in place (over the event stream) and the lockfile."""
    running, path = served_keyframes
    tab = browser.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    shot = "storm-02"
    card = f'.card[data-shot="{shot}"]'

    def locked():
        return Lockfile.load(Lockfile.beside(path)).keyframes

    try:
        open_page(tab, running.url)
        tab.evaluate("window.notReloaded = true")
        assert "no keyframe yet" in tab.locator(f"{card} .keyframe").inner_text()
        tab.locator("#draw-keyframes").click()
        tab.wait_for_selector(f'{card} .keyframe[data-keyframe-take="1"]')
        tab.wait_for_function(f"document.querySelectorAll('.keyframe[data-keyframe-take=\"1\"]').length === "
                              f"{len(running.studio.status().shots)}")
        picture = tab.locator(f"{card} img.keyframe-picture")
        picture.evaluate("i => { i.loading = 'eager'; }")
        tab.wait_for_function(f"(i => i.complete && i.naturalWidth > 0)(document.querySelector('{card} img.keyframe-picture'))")
        first_src = picture.get_attribute("src")
        assert tab.locator(f"{card} .keyframe-take").inner_text() == "keyframe take 1"
        assert set(locked()) == {s.shot_id for s in running.studio.status().shots}

        # approve: the card says so, the button turns into Undo, the lockfile records it
        tab.locator(f"{card} button.approve-keyframe").click()
        tab.wait_for_selector(f'{card} .keyframe[data-approved="true"]')
        assert tab.locator(f"{card} .badge.approved").inner_text() == "approved"
        assert tab.locator(f"{card} button.approve-keyframe").inner_text() == "Undo approval"
        assert locked()[shot].approved and not any(k.approved for s, k in locked().items() if s != shot)

        # a new keyframe: take 2, selected, no longer approved, another picture
        tab.locator(f"{card} button.new-keyframe").click()
        tab.wait_for_selector(f'{card} .keyframe[data-keyframe-take="2"]')
        assert tab.locator(f"{card} .keyframe").get_attribute("data-approved") == "false"
        assert tab.locator(f"{card} .badge.unapproved").inner_text() == "not approved"
        assert tab.locator(f"{card} img.keyframe-picture").get_attribute("src") != first_src
        assert locked()[shot].take == 2 and not locked()[shot].approved

        # the stage keeps both takes: pick take 1 back, and approve it
        tab.locator(f"{card} select.keyframe-take-pick").select_option("1")
        tab.wait_for_selector(f'{card} .keyframe[data-keyframe-take="1"]')
        assert tab.locator(f"{card} img.keyframe-picture").get_attribute("src") == first_src
        tab.locator(f"{card} button.approve-keyframe").click()
        tab.wait_for_selector(f'{card} .keyframe[data-approved="true"]')
        assert locked()[shot].take == 1 and locked()[shot].approved
        assert tab.evaluate("window.notReloaded") is True  # all of it in place
        tab.locator(card).scroll_into_view_if_needed()
        tab.screenshot(path=str(ARTIFACTS / "storyboard-keyframes.png"), full_page=False)
    finally:
        tab.close()
    assert not errors, f"JavaScript errors: {errors}"
