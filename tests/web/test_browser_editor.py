"""The Editor page in headless Chromium (as tests/web/test_browser.py): an unknown key
shows at its line as it is typed, completion offers the character ids, Save writes the
file and the storyboard marks exactly the changed shots, an outside change makes Save
ask, and the page runs under the Content-Security-Policy."""

from __future__ import annotations

import hashlib

import pytest

from tests.web.conftest import make_film, request, studio_for
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, browser, playwright  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served_editor(tmp_path_factory):
    from studio.web.server import start_background

    path = make_film(tmp_path_factory.mktemp("web-editor"))
    running = start_background(studio_for(path))
    yield running, path
    running.stop()


@pytest.fixture
def tab(browser, served_editor):  # noqa: F811
    running, _path = served_editor
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(running.url + "editor")
    page.wait_for_selector("#live.on")
    page.wait_for_function("window.studioEditor && window.studioEditor.words && window.studioEditor.digest &&"
                           " window.studioEditor.lastText === window.studioEditor.cm.getValue()")
    yield page
    page.close()
    assert not errors, f"JavaScript errors: {errors}"


def _line_of(page, needle: str) -> int:
    """0-based line of the first line containing ``needle`` in the editor."""
    return page.evaluate(f"window.studioEditor.cm.getValue().split('\\n').findIndex(l => l.includes({needle!r}))")


def _type_on_new_line(page, after: int, indent: str, text: str) -> None:
    """A new line ``indent`` deep after line ``after`` (0-based), then ``text`` typed
    there key by key, as a writer would."""
    page.evaluate(f"(() => {{ const cm = window.studioEditor.cm; cm.focus();"
                  f" cm.replaceRange('\\n' + {indent!r}, {{line: {after}, ch: cm.getLine({after}).length}});"
                  f" cm.setCursor({after + 1}, {len(indent)}); }})()")
    page.keyboard.type(text)


def test_an_unknown_key_shows_its_error_at_its_line(tab):
    line = _line_of(tab, "  seed: 1907")
    checks = tab.evaluate("window.studioEditor.checks")
    _type_on_new_line(tab, line, "  ", "colour: red")
    tab.wait_for_function(f"window.studioEditor.checks > {checks} && "
                          "window.studioEditor.last.problems.some(p => p.message.includes('colour'))")
    item = tab.locator("#problems li.error", has_text="colour")
    assert item.get_attribute("data-line") == str(line + 2)  # the new line, 1-based
    tab.wait_for_function(f"!!(window.studioEditor.cm.lineInfo({line + 1}).gutterMarkers || {{}})"
                          "['CodeMirror-lint-markers']")
    assert tab.locator(".CodeMirror-lint-marker-error").count() == 1


def test_completion_offers_the_character_ids(tab):
    line = _line_of(tab, "Then ours will.")
    _type_on_new_line(tab, line, "      ", "- speaker: ")
    tab.keyboard.press("Control+Space")
    tab.wait_for_selector(".CodeMirror-hints")
    assert tab.locator(".CodeMirror-hint").all_inner_texts() == ["mara", "theo", "inspector"]
    tab.keyboard.type("th")
    tab.keyboard.press("Control+Space")
    tab.wait_for_function("Array.from(document.querySelectorAll('.CodeMirror-hint')).map(e => e.innerText)"
                          ".join() === 'theo'")


def test_the_shots_of_the_scene_under_the_cursor_and_a_card_jumps_to_its_beat(tab, served_editor):
    running, _path = served_editor
    line = _line_of(tab, "torch beam bouncing")
    tab.evaluate(f"(() => {{ const cm = window.studioEditor.cm; cm.focus(); cm.setCursor({line}, 0); }})()")
    tab.wait_for_selector('#scene-cards .scene-shots[data-scene="climb"]')
    climb = [s.shot_id for s in running.studio.status().shots if s.plan.scene_id == "climb"]
    assert tab.eval_on_selector_all("#scene-cards .card", "cs => cs.map(c => c.dataset.shot)") == climb
    tab.locator('#scene-cards .card[data-shot="climb-2"] .line').click()
    shot_line = tab.evaluate("window.studioEditor.last.shots.find(s => s.id === 'climb-2').line")
    assert tab.evaluate("window.studioEditor.cm.getCursor().line") == shot_line - 1
    tab.wait_for_selector('#scene-cards .card.at-cursor[data-shot="climb-2"]')


def test_save_writes_the_file_and_the_storyboard_marks_exactly_the_changed_shots(tab, served_editor):
    running, path = served_editor
    line = _line_of(tab, "Then ours will.")
    text = tab.evaluate(f"window.studioEditor.cm.getLine({line})")
    tab.evaluate(f"window.studioEditor.cm.replaceRange(' Tonight.', {{line: {line}, ch: {len(text.rstrip())}}})")
    saved = tab.evaluate("window.studioEditor.saved")
    tab.click("#editor-save")
    tab.wait_for_function(f"window.studioEditor.saved > {saved}")
    on_disk = path.read_text(encoding="utf-8")
    assert on_disk == tab.evaluate("window.studioEditor.cm.getValue()")
    assert "Then ours will. Tonight." in on_disk
    assert tab.evaluate("window.studioEditor.digest") == hashlib.sha256(on_disk.encode()).hexdigest()
    assert running.studio.status().stale == ["standoff-05"]
    # the storyboard, opened now, shows exactly that shot stale
    board = tab.context.new_page()
    try:
        board.goto(running.url)
        stale = board.eval_on_selector_all('.card[data-stale="true"]', "cs => cs.map(c => c.dataset.shot)")
        assert stale == ["standoff-05"]
        assert board.locator("#stale-count").inner_text() == "1 stale"
    finally:
        board.close()


def test_an_outside_change_makes_save_ask_instead_of_overwriting(tab, served_editor):
    running, path = served_editor
    outside = path.read_text(encoding="utf-8").replace("# The Last Lamp", "# The Last Lamp (outside edit)", 1)
    assert "(outside edit)" in outside
    path.write_text(outside, encoding="utf-8")
    tab.evaluate("window.studioEditor.cm.replaceRange('# mine\\n', {line: 0, ch: 0})")
    tab.click("#editor-save")
    tab.wait_for_selector("#conflict:not([hidden])")
    assert path.read_text(encoding="utf-8") == outside  # not overwritten
    # reload: the outside version is in the editor, and saving works again
    tab.click("#conflict-reload")
    tab.wait_for_selector("#conflict[hidden]", state="attached")
    assert tab.evaluate("window.studioEditor.cm.getValue()") == outside
    # a second outside change, then overwrite: mine wins, deliberately
    path.write_text(outside + "# again\n", encoding="utf-8")
    tab.evaluate("window.studioEditor.cm.replaceRange('# mine\\n', {line: 0, ch: 0})")
    tab.click("#editor-save")
    tab.wait_for_selector("#conflict:not([hidden])")
    tab.click("#conflict-overwrite")
    tab.wait_for_selector("#conflict[hidden]", state="attached")
    assert path.read_text(encoding="utf-8") == "# mine\n" + outside


def test_a_save_without_the_token_is_refused_and_writes_nothing(tab, served_editor):
    running, path = served_editor
    before = path.read_bytes()
    status = tab.evaluate("""async () => (await fetch('/api/source', {method: 'POST', body: 'version: 1\\n',
        headers: {'Content-Type': 'text/plain', 'X-Studio-Base': window.studioEditor.digest}})).status""")
    assert status == 403
    assert path.read_bytes() == before


def test_the_editor_runs_under_the_policy(playwright, served_editor):  # noqa: F811
    """With the Content-Security-Policy enforced, CodeMirror and the editor's script run."""
    running, _path = served_editor
    strict = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    try:
        page = strict.new_page()
        messages: list[str] = []
        urls: list[str] = []
        page.on("console", lambda m: messages.append(m.text))
        page.on("request", lambda r: urls.append(r.url))
        page.goto(running.url + "editor")
        page.wait_for_selector(".CodeMirror-code", timeout=TIMEOUT_MS)
        page.wait_for_selector("#problems", state="attached")
        page.wait_for_selector("#editor-state:has-text('checked')", timeout=TIMEOUT_MS)  # the server checked it
        assert not [m for m in messages if "Content Security Policy" in m], messages
        assert all(u.startswith(running.url) or u.startswith("data:") for u in urls), urls
    finally:
        strict.close()
    assert request(running.url, "/editor")[0] == 200


@pytest.fixture
def served_starter(tmp_path):
    """A studio serving a starter film (nothing rendered): the New film test switches films."""
    from studio.web.new_film import from_template
    from studio.web.server import start_background

    path = from_template(tmp_path, "First", "starter")
    running = start_background(studio_for(path))
    yield running, path
    running.stop()


def test_a_new_film_from_an_upload_and_from_a_template_opens_in_the_editor(browser, served_starter):  # noqa: F811
    from tests.web.test_new_film import SCRIPT

    running, path = served_starter
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(running.url + "editor")
        page.wait_for_function("window.studioEditor && window.studioEditor.digest")
        page.click("#new-film summary")
        page.set_input_files("#new-upload input[type=file]",
                             files=[{"name": "ferry.fountain", "mimeType": "text/plain", "buffer": SCRIPT}])
        page.click("#new-upload button[type=submit]")
        page.wait_for_function("document.querySelector('.brand .file').textContent === 'ferry.yaml' &&"
                               " window.studioEditor && window.studioEditor.digest")
        made = path.parent / "ferry.yaml"
        assert page.evaluate("window.studioEditor.cm.getValue()") == made.read_text(encoding="utf-8")
        assert "title: The Night Ferry" in made.read_text(encoding="utf-8")
        # from the template, over a name that exists: refused until 'replace' is ticked
        page.click("#new-film summary")
        page.fill("#new-template input[name=name]", "First")
        page.click("#new-template button[type=submit]")
        page.wait_for_selector("#new-state:has-text('already exists')")
        assert page.locator(".brand .file").inner_text() == "ferry.yaml"
        page.fill("#new-template input[name=name]", "Second Film")
        page.click("#new-template button[type=submit]")
        page.wait_for_function("document.querySelector('.brand .file').textContent === 'second-film.yaml' &&"
                               " window.studioEditor && window.studioEditor.digest")
        assert page.locator(".brand .film").inner_text() == "Second Film"
        assert running.studio.config.file == path.parent / "second-film.yaml"
    finally:
        page.close()
    assert not errors, f"JavaScript errors: {errors}"


def test_one_check_at_a_time_and_the_newest_text_checked_last(tab):
    """Pauses in typing while a (slow) check is on the server send no more requests;
    the text as it stands is checked once that check answers."""
    # a feature-length check takes about a second: each answer held back 1.2 s in the page
    # (the real server still answers it)
    tab.evaluate("""(() => { const real = window.fetch;
        window.fetch = (url, options) => String(url).includes('/api/check')
            ? new Promise((done) => setTimeout(() => done(real(url, options)), 1200)) : real(url, options); })()""")
    line = _line_of(tab, "  seed: 1907")
    before = tab.evaluate("window.studioEditor.requests || 0")
    _type_on_new_line(tab, line, "  ", "")
    for key in "look2: x":
        tab.keyboard.type(key)
        tab.wait_for_timeout(350)  # longer than the 300 ms pause that asks for a check
    tab.wait_for_function("window.studioEditor.lastText === window.studioEditor.cm.getValue()")
    sent = tab.evaluate("window.studioEditor.requests") - before
    assert 2 <= sent <= 4, sent  # not one a pause (there were 8)
    assert tab.evaluate("window.studioEditor.last.problems.some(p => p.message.includes('look2'))")
