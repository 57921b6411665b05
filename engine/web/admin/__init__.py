"""The admin UI (flask-admin) under ``/admin``: sign-in, a view per entity generated from
the live definitions, record pages with transitions and scores, the definitions page, the
preset loader and a dashboard. See ``README.md`` beside this file."""

from __future__ import annotations

from ._auth import SECRET_FILE, acting_user, secret_key
from ._setup import init_app

__all__ = ["SECRET_FILE", "acting_user", "init_app", "secret_key"]
