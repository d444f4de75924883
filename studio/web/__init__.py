"""The web studio (``studio serve``): the film as a storyboard in a browser, its
takes, re-renders with live progress, the scene graph, likenesses and estimates.

:mod:`session` holds the state and actions, :mod:`app` the HTTP side (Starlette,
pages rendered on the server), :mod:`server` runs it (uvicorn), :mod:`safety` the
guards (loopback, token, paths), :mod:`events` the live updates (Server-Sent Events).
"""
