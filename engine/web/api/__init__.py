"""The REST API (``/api/v1``): records, workflows, scores, metadata and admin operations.

Views are thin: they read the request (``engine.web._requests``), call one service of
the engine, and return JSON; every error goes to the app's one problem handler.
"""

from __future__ import annotations

from ._setup import init_app, openapi_spec

__all__ = ["init_app", "openapi_spec"]
