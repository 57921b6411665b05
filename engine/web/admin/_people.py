"""People as people know them: a user's display name (their login in a tooltip) wherever
the admin shows who owns, created or changed something, and the engine's own work as
"System" or "Automation: <its label>" instead of ``system:automation:renewal_reminder``.

The users are read once per request (a CRM has hundreds of users, not millions), so a list
of 50 rows costs one query, not 50.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import g
from markupsafe import Markup

from engine.runtime import CrmEngine
from engine.users import SYSTEM_PREFIX

from ._i18n import current_language, word

#: Fields that hold a user's name on every record.
USER_FIELDS = frozenset({"owner", "created_by"})


def _names(engine: CrmEngine) -> Mapping[str, str]:
    found: dict[str, str] | None = g.get("crm_user_names")
    if found is None:
        found = {u.name: u.display_name or u.name for u in engine.users.list(active_only=False)}
        g.crm_user_names = found
    return found


def person_text(engine: CrmEngine, name: str | None) -> str:
    """What to call ``name`` (a user, or ``system:…``): display name, System, Automation: X."""
    if not name:
        return ""
    if name == "system" or name.startswith(SYSTEM_PREFIX):
        reason = name.removeprefix(SYSTEM_PREFIX) if name != "system" else ""
        kind, _, what = reason.partition(":")
        if kind == "automation" and what:
            automation = engine.model.definitions.automations.get(what) if engine.has_definitions else None
            label = automation.label.get(current_language()) if automation is not None else what
            return f"{word('automation')}: {label}"
        return str(word("system"))
    return _names(engine).get(name, name)


def person(engine: CrmEngine, name: str | None) -> Markup:
    """``name`` as HTML: the display name, the login (or system reason) as a tooltip."""
    if not name:
        return Markup('<span class="text-muted">—</span>')
    return Markup('<span class="crm-person" data-user="{}" title="{}">{}</span>').format(
        name, name, person_text(engine, name)
    )
