"""The web studio's HTTP side (Starlette): pages rendered on the server with Jinja2
(autoescaping on), a little vanilla JavaScript, and a JSON API for what the pages do.

Pages (GET): ``/`` storyboard, ``/player``, ``/graph``, ``/likeness``, ``/estimate``;
fragments the pages swap in when a shot changes: ``/fragment/card/{shot}``,
``/fragment/board``, ``/fragment/takes/{shot}``. Live events: ``/api/events`` (SSE).
Files: ``/clip/{key}.mp4`` and ``/thumb/{key}.jpg`` (the cache, by key),
``/keyframe/{shot}.png`` (the shot's selected keyframe, by the lockfile's key),
``/out/...`` (the output folder). Actions (POST, each needs the session token in the
``X-Studio-Token`` header): ``/api/render``, ``/api/take``, ``/api/cast``,
``/api/likeness/remove``; keyframes first: ``/api/keyframes`` (draw them, or a new take
of some shots), ``/api/approve`` (or withdraw, ``undo``), ``/api/keyframe/take``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from studio import __version__
from studio.errors import StudioError
from studio.web import views
from studio.web.safety import (
    BASE_HEADER,
    MAX_JSON_DEPTH,
    TOKEN_HEADER,
    WebError,
    allowed_hosts,
    cache_file,
    json_too_deep,
    keyframe_file,
    origin_ok,
    safe_path,
    token_ok,
)
from studio.web.session import Studio

HERE = Path(__file__).parent
SECURITY_HEADERS = {
    # scripts and styles only from our own /static: no inline script can run
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
                               "script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                               "frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                        autoescape=select_autoescape(default=True, default_for_string=True))
templates.filters["duration"] = views.duration


def create_app(studio: Studio, *, host: str = "127.0.0.1", allow_remote: bool = False) -> Starlette:
    """The Starlette app serving ``studio`` (whose worker the caller starts and stops)."""

    def page(name: str, request: Request, active: str, **context: Any) -> HTMLResponse:
        status = studio.status()
        screenplay = studio.current_screenplay()
        html = templates.get_template(name).render(
            title=screenplay.film.title, token=studio.token, active=active, error=studio.error,
            jobs=[j.to_dict() for j in studio.jobs[-8:] if j.state in ("queued", "running", "failed")], cut=studio.cut(), version=__version__,
            file=studio.config.file.name, stale=len(status.stale), **context)
        return _secure(HTMLResponse(html))

    def fragment(name: str, **context: Any) -> HTMLResponse:
        return _secure(HTMLResponse(templates.get_template(name).render(**context)))

    # -- pages ---------------------------------------------------------------------------
    def storyboard(request: Request) -> Response:
        status = studio.status()
        return page("storyboard.html", request, "storyboard",
                    scenes=views.board(status, studio.current_screenplay(), studio.keyframes()),
                    summary=views.summary(studio))

    def player(request: Request) -> Response:
        status = studio.status()
        rows = [{"card": views.card(s, studio.current_screenplay(), None), "takes": studio.takes(s.shot_id)}
                for s in status.shots]
        return page("player.html", request, "player", rows=rows)

    def graph(request: Request) -> Response:
        from studio.graph.export import render_svg

        status = studio.status()
        chains = [c for c in status.graph.chains if len(c) > 1]
        return page("graph.html", request, "graph", svg=render_svg(status.graph), chains=chains,
                    characters=views.characters(studio.current_screenplay(),
                                                [c.id for c in studio.current_screenplay().characters]))

    def likeness(request: Request) -> Response:
        from studio.consistency.likeness import LikenessStore

        store = LikenessStore()
        try:
            enrolled = store.list()
            store_error = None
        except StudioError as exc:
            enrolled, store_error = [], str(exc)
        screenplay = studio.current_screenplay()
        cast_rows = []
        for character in screenplay.characters:
            own = character.likeness if isinstance(character.likeness, str) else (
                "inline photos" if character.likeness else None)
            cast_rows.append({"id": character.id, "name": character.name, "written": own,
                              "cast": studio.casting.get(character.id), "colour": views.characters(
                                  screenplay, [character.id])[0]["colour"]})
        cast_args = " ".join(f"--cast {c}={n}" for c, n in sorted(studio.casting.items()))
        return page("likeness.html", request, "likeness", likenesses=enrolled, store=str(store.root),
                    store_error=store_error, cast_rows=cast_rows, cast_args=cast_args)

    def estimate(request: Request) -> Response:
        from studio.models import Registry

        params = request.query_params
        backend = params.get("backend") or None
        model = params.get("model") or None
        try:
            gpus = int(params.get("gpus") or 1)
            if not 1 <= gpus <= 4096:
                raise ValueError
        except ValueError:
            raise WebError("gpus must be a whole number from 1 to 4096") from None
        error = None
        result = None
        try:
            result = views.film_estimate(studio, backend=backend, model=model, gpus=gpus)
        except StudioError as exc:
            error = str(exc)
        stale = set(studio.status().stale)
        try:
            registry = Registry.default()
            models = registry.names("wan-") + registry.names("ltx")
        except StudioError:
            models = []
        return page("estimate.html", request, "estimate", estimate=result, error_estimate=error, stale_ids=stale,
                    backend=(result.backend if result else backend) or "animatic", model=model, gpus=gpus,
                    models=models)

    def editor_page(request: Request) -> Response:
        from studio.templates import available
        from studio.web.editor import mode_of
        from studio.web.new_film import import_suffixes

        return page("editor.html", request, "editor", mode=mode_of(studio.config.file), templates=available(),
                    imports=import_suffixes())

    # -- fragments ---------------------------------------------------------------------------
    def scene_fragment(request: Request) -> Response:
        scene_id = request.path_params["scene"]
        for scene in views.board(studio.status(), studio.current_screenplay(), studio.keyframes()):
            if scene["id"] == scene_id:
                return fragment("_scene_cards.html", scene=scene)
        raise WebError(f"no scene {scene_id!r} on the storyboard", status=404)

    def card_fragment(request: Request) -> Response:
        shot_id = request.path_params["shot"]
        status = studio.status()
        previous = None
        for shot in status.shots:
            if shot.shot_id == shot_id:
                return fragment("_card.html", c=views.card(shot, studio.current_screenplay(), previous,
                                                           studio.keyframe(shot_id)))
            previous = shot.shot_id
        raise WebError(f"no shot {shot_id!r}", status=404)

    def board_fragment(request: Request) -> Response:
        return fragment("_board.html", scenes=views.board(studio.status(), studio.current_screenplay(),
                                                          studio.keyframes()))

    def summary_fragment(request: Request) -> Response:
        return fragment("_summary.html", summary=views.summary(studio))

    def takes_fragment(request: Request) -> Response:
        shot_id = request.path_params["shot"]
        status = studio.status()
        for shot in status.shots:
            if shot.shot_id == shot_id:
                row = {"card": views.card(shot, studio.current_screenplay(), None), "takes": studio.takes(shot_id)}
                return fragment("_takes.html", row=row)
        raise WebError(f"no shot {shot_id!r}", status=404)

    # -- the API ------------------------------------------------------------------------------
    def api_status(request: Request) -> Response:
        data = studio.status().to_dict()
        event = studio.status_event()
        versions = {s["shot"]: s["version"] for s in event["shots"]}
        for shot in data["shots"]:
            shot["version"] = versions.get(shot["shot"])
        return _secure(JSONResponse({**data, "error": event["error"], "cut": event["cut"],
                                     "casting": event["casting"], "jobs": [j.to_dict() for j in studio.jobs]}))

    async def api_events(request: Request) -> Response:
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(studio.hub.stream(), media_type="text/event-stream", headers=headers)

    async def api_render(request: Request) -> Response:
        body = await _json_body(request, studio)
        shots = body.get("shots", [])
        if not isinstance(shots, list) or not all(isinstance(s, str) for s in shots):
            raise WebError("'shots' must be a list of shot ids")
        job = await run_in_threadpool(studio.render, shots)
        return _secure(JSONResponse({"job": job.to_dict()}, status_code=202))

    async def api_take(request: Request) -> Response:
        body = await _json_body(request, studio)
        shot, take = body.get("shot"), body.get("take")
        if not isinstance(shot, str) or not isinstance(take, int) or isinstance(take, bool):
            raise WebError("give 'shot' (a shot id) and 'take' (a number)")
        job = await run_in_threadpool(studio.select_take, shot, take)
        return _secure(JSONResponse({"job": job.to_dict()}, status_code=202))

    async def api_cast(request: Request) -> Response:
        body = await _json_body(request, studio)
        character, name = body.get("character"), body.get("likeness")
        if not isinstance(character, str) or not (name is None or isinstance(name, str)):
            raise WebError("give 'character' (an id) and 'likeness' (a name, or null for the screenplay's own)")
        await run_in_threadpool(studio.cast, character, name or None)
        return _secure(JSONResponse({"casting": studio.casting}))

    async def api_remove_likeness(request: Request) -> Response:
        body = await _json_body(request, studio)
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise WebError("give 'name': the likeness to remove")
        job = await run_in_threadpool(studio.remove_likeness, name)
        return _secure(JSONResponse({"job": job.to_dict()}, status_code=202))

    async def api_keyframes(request: Request) -> Response:
        body = await _json_body(request, studio)
        shots = body.get("shots", [])
        if not isinstance(shots, list) or not all(isinstance(s, str) for s in shots):
            raise WebError("'shots' must be a list of shot ids (none: draw every shot's keyframe)")
        job = await run_in_threadpool(studio.draw_keyframes, shots)
        return _secure(JSONResponse({"job": job.to_dict()}, status_code=202))

    async def api_approve(request: Request) -> Response:
        body = await _json_body(request, studio)
        shots, undo = body.get("shots"), body.get("undo", False)
        if not isinstance(shots, list) or not shots or not all(isinstance(s, str) for s in shots) \
                or not isinstance(undo, bool):
            raise WebError("give 'shots' (a list of shot ids) and optionally 'undo' (true to withdraw the approval)")
        job = await run_in_threadpool(studio.approve, shots, undo)
        return _secure(JSONResponse({"job": job.to_dict()}, status_code=202))

    async def api_keyframe_take(request: Request) -> Response:
        body = await _json_body(request, studio)
        shot, take = body.get("shot"), body.get("take")
        if not isinstance(shot, str) or not isinstance(take, int) or isinstance(take, bool):
            raise WebError("give 'shot' (a shot id) and 'take' (a keyframe take number)")
        job = await run_in_threadpool(studio.select_keyframe_take, shot, take)
        return _secure(JSONResponse({"job": job.to_dict()}, status_code=202))

    # -- the editor ---------------------------------------------------------------------------
    async def api_source(request: Request) -> Response:
        from studio.web.editor import mode_of, read_source

        text, digest = await run_in_threadpool(read_source, studio.config.file)
        return _secure(JSONResponse({"text": text, "digest": digest, "mode": mode_of(studio.config.file),
                                     "file": studio.config.file.name}, headers={"Cache-Control": "no-store"}))

    async def api_check(request: Request) -> Response:
        from studio.web.editor import check_text

        text = await _text_body(request, studio)
        result = await run_in_threadpool(check_text, text, studio.config.file,
                                         allow_outside=studio.config.allow_outside)
        return _secure(JSONResponse(result))

    async def api_save(request: Request) -> Response:
        from studio.web.editor import ConflictError, save_text

        text = await _text_body(request, studio)
        base = request.headers.get(BASE_HEADER) or None
        try:
            digest = await run_in_threadpool(save_text, studio.config.file, text, base)
        except ConflictError as exc:
            return _secure(JSONResponse({"error": exc.message, "hint": exc.hint, "conflict": True,
                                         "digest": exc.on_disk}, status_code=409))
        await run_in_threadpool(studio.refresh)  # the storyboard now, as the watcher would a moment later
        return _secure(JSONResponse({"digest": digest, "stale": studio.status().stale, "error": studio.error}))

    async def api_new_template(request: Request) -> Response:
        from studio.web.new_film import from_template

        body = await _json_body(request, studio)
        name, template = body.get("name"), body.get("template", "starter")
        if not isinstance(name, str) or not name.strip() or not isinstance(template, str):
            raise WebError("give 'name' (the film's title) and 'template'")
        studio.check_idle()  # before anything is written
        path = await run_in_threadpool(from_template, studio.config.file.parent, name, template,
                                       overwrite=body.get("overwrite") is True)
        return await _opened(path)

    async def api_new_upload(request: Request) -> Response:
        from studio.web.new_film import MAX_UPLOAD, from_upload, importer_for

        params = request.query_params
        filename = params.get("filename", "")
        _guard(request, studio)
        importer_for(filename)  # an unknown suffix is refused before the body is read
        studio.check_idle()
        raw = await _raw_body(request, studio, MAX_UPLOAD)
        path = await run_in_threadpool(from_upload, studio.config.file.parent, filename, raw,
                                       name=params.get("name", ""), overwrite=params.get("overwrite") == "1")
        return await _opened(path)

    async def _opened(path: Path) -> Response:
        """The new screenplay is written: serve it (the Editor opens it)."""
        await run_in_threadpool(studio.open_film, path)
        return _secure(JSONResponse({"file": path.name, "editor": "/editor",
                                     "title": studio.current_screenplay().film.title}))

    def api_words(request: Request) -> Response:
        from studio.web.editor import completion_words

        return _secure(JSONResponse(completion_words()))

    # -- files ----------------------------------------------------------------------------------
    async def clip(request: Request) -> Response:
        path = cache_file(studio.config.cache_dir, request.path_params["key"], ".mp4")
        return _secure(FileResponse(path, media_type="video/mp4", headers={"Cache-Control": "max-age=3600"}))

    async def thumb(request: Request) -> Response:
        path = cache_file(studio.config.cache_dir, request.path_params["key"], ".thumb.jpg")
        return _secure(FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"}))

    async def keyframe(request: Request) -> Response:
        # by shot: the key is the lockfile's selection, never anything from the request
        selected = await run_in_threadpool(studio.keyframe, request.path_params["shot"])
        if selected is None or not selected.get("key"):
            raise WebError("no keyframe for that shot", status=404)
        path = keyframe_file(studio.config.cache_dir, selected["key"])
        return _secure(FileResponse(path, media_type="image/png", headers={"Cache-Control": "max-age=3600"}))

    async def output(request: Request) -> Response:
        path = safe_path(studio.config.output_dir, request.path_params["path"])
        return _secure(FileResponse(path, headers={"Cache-Control": "no-cache"}))

    async def web_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StudioError)
        status = exc.status if isinstance(exc, WebError) else 400
        message = exc.message if isinstance(exc, WebError) else str(exc)
        if request.url.path.startswith("/api/") or request.method != "GET":
            return _secure(JSONResponse({"error": message, "hint": exc.hint}, status_code=status))
        html = templates.get_template("error.html").render(status=status, message=message, hint=exc.hint)
        return _secure(HTMLResponse(html, status_code=status))

    routes = [
        Route("/", storyboard),
        Route("/player", player),
        Route("/graph", graph),
        Route("/likeness", likeness),
        Route("/estimate", estimate),
        Route("/editor", editor_page),
        Route("/fragment/card/{shot}", card_fragment),
        Route("/fragment/scene/{scene}", scene_fragment),
        Route("/fragment/board", board_fragment),
        Route("/fragment/takes/{shot}", takes_fragment),
        Route("/fragment/summary", summary_fragment),
        Route("/api/status", api_status),
        Route("/api/events", api_events),
        Route("/api/render", api_render, methods=["POST"]),
        Route("/api/take", api_take, methods=["POST"]),
        Route("/api/cast", api_cast, methods=["POST"]),
        Route("/api/likeness/remove", api_remove_likeness, methods=["POST"]),
        Route("/api/keyframes", api_keyframes, methods=["POST"]),
        Route("/api/approve", api_approve, methods=["POST"]),
        Route("/api/keyframe/take", api_keyframe_take, methods=["POST"]),
        Route("/api/source", api_source, methods=["GET"]),
        Route("/api/source", api_save, methods=["POST"]),
        Route("/api/check", api_check, methods=["POST"]),
        Route("/api/editor/words", api_words),
        Route("/api/new/template", api_new_template, methods=["POST"]),
        Route("/api/new/upload", api_new_upload, methods=["POST"]),
        Route("/clip/{key}.mp4", clip),
        Route("/thumb/{key}.jpg", thumb),
        Route("/keyframe/{shot}.png", keyframe),
        Route("/out/{path:path}", output),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(host, allow_remote))]
    return Starlette(routes=routes, middleware=middleware, exception_handlers={StudioError: web_error})


def _guard(request: Request, studio: Studio) -> None:
    """A mutating request needs the session token (403 without it) and, from a
    browser, the studio's own ``Origin`` (403 from another site's page)."""
    if not token_ok(studio.token, request.headers.get(TOKEN_HEADER)):
        raise WebError("missing or wrong session token", hint="reload the page: it carries the token", status=403)
    if not origin_ok(request.headers.get("origin"), request.headers.get("host")):
        raise WebError("refused: the request comes from another site's page (its Origin is not this studio)",
                       hint="use the studio's own pages", status=403)


async def _json_body(request: Request, studio: Studio) -> dict[str, Any]:
    """The request's JSON object, after the token and Origin checks (403 without the
    token): at most 64 KiB, nested at most MAX_JSON_DEPTH deep (400 beyond)."""
    _guard(request, studio)
    raw = await request.body()
    if len(raw) > 64 * 1024:
        raise WebError("request too large", status=413)
    if json_too_deep(raw):
        raise WebError(f"the request body nests deeper than {MAX_JSON_DEPTH} levels",
                       hint="send a flat JSON object, as the pages do")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        raise WebError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise WebError("the request body must be a JSON object")
    return body


async def _raw_body(request: Request, studio: Studio, limit: int) -> bytes:
    """The request's body, after the token and Origin checks: read in pieces and
    refused (413) past ``limit`` bytes."""
    _guard(request, studio)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise WebError(f"the file is over the {limit} byte limit", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


async def _text_body(request: Request, studio: Studio) -> str:
    """The request's body as screenplay text (UTF-8), after the token and Origin
    checks: refused (413) past the screenplay size limit."""
    from studio.screenplay.safe_yaml import MAX_BYTES

    try:
        return (await _raw_body(request, studio, MAX_BYTES)).decode("utf-8")
    except UnicodeDecodeError:
        raise WebError("the text is not UTF-8") from None


def _secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
