"""Building the admin UI of one app from the live definitions.

flask-admin refuses new views once an app has served a request, so the views are built
here, when the app is created, from the definitions live then; after an apply, a new app
is built and swapped in (``engine.web._swap``). Nothing is kept at module level: a second
app on the same engine gets its own ``Admin``, views and blueprints.
"""

from __future__ import annotations

from typing import Any

import flask_login
from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import Babel

from engine.runtime import CrmEngine

from .._state import bind_engine
from ._auth import BLUEPRINT, LanguageForm, init_auth
from ._automations import AutomationsView
from ._board import BoardLink, BoardView
from ._dashboard import DashboardView
from ._definitions import DefinitionsView
from ._duplicates import DuplicatesView
from ._error_pages import init_app as init_error_pages
from ._i18n import Text, current_language, say, word
from ._imports import ImportsView
from ._jobs import JobsView
from ._merge_pages import MergesView, merge_word
from ._my_day import MyDayView
from ._notifications import NotificationsView
from ._presets import PresetsView
from ._records import EntityView
from ._users_page import UsersView
from ._webhooks import WebhooksView

URL = "/admin"
#: The locale of flask-admin's own translations for each language of the UI.
BABEL_LOCALES = {"en": "en", "zh": "zh_Hans_CN"}


def init_app(app: Flask, engine: CrmEngine) -> Admin:
    """Serve the admin UI of ``engine`` under ``/admin`` on ``app`` (sign-in required)."""
    bind_engine(app, engine)
    init_auth(app, engine)
    init_error_pages(app, URL)
    # flask-admin's own words (List, Create, Save, Search, filters) follow the signed-in
    # user's language, as the definitions' labels do
    Babel(app, locale_selector=_locale)
    admin = Admin(
        app,
        name=word("app_name"),
        url=URL,
        index_view=DashboardView(engine),
        theme=Bootstrap4Theme(base_template="crm_admin/base.html", fluid=True),
    )
    if engine.has_definitions:
        definitions = engine.model.definitions
        driven = {w.entity for w in definitions.workflows.values()}
        ordered = sorted(definitions.entities.values(), key=lambda e: e.label.en.lower())
        for entity in ordered:
            category = word("pipelines") if entity.name in driven else word("records")
            admin.add_view(EntityView(engine, entity, category))
    admin.add_view(MyDayView(engine))
    admin.add_view(BoardView(engine))
    if engine.has_definitions:
        for name, workflow in engine.model.definitions.workflows.items():
            board = word("board")
            label = Text(f"{workflow.label.en}: {board.get('en')}", f"{workflow.label.get('zh')}{board.get('zh')}")
            link = BoardLink(
                engine, workflow.entity, name=label, url=f"{URL}/board/{name}/", category=word("pipelines")
            )
            admin.add_link(link)
    admin.add_view(DefinitionsView(engine, word("administration")))
    admin.add_view(PresetsView(engine, word("administration")))
    admin.add_view(AutomationsView(engine, word("administration")))
    admin.add_view(ImportsView(engine, word("administration")))
    admin.add_view(JobsView(engine, word("administration")))
    admin.add_view(DuplicatesView(engine, word("administration")))
    admin.add_view(NotificationsView(engine))
    admin.add_view(WebhooksView(engine, word("administration")))
    admin.add_view(MergesView(engine, word("administration")))
    admin.add_view(UsersView(engine, word("administration")))
    app.context_processor(lambda: _template_context(engine))
    return admin


def _locale() -> str:
    return BABEL_LOCALES[current_language()]


def _template_context(engine: CrmEngine) -> dict[str, Any]:
    user = flask_login.current_user
    signed_in = user is not None and user.is_authenticated
    return {
        "crm_unread": engine.notifications.unread_count(user.user.name) if signed_in else 0,
        "crm_word": word,
        "crm_say": say,
        "merge_word": merge_word,
        "crm_language": current_language(),
        "crm_user": user if user is not None and user.is_authenticated else None,
        "crm_form": LanguageForm(),
        "crm_auth": BLUEPRINT,
    }
