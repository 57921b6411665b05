"""Definitions that name webhook subscriptions: every name must exist when they are applied."""

from __future__ import annotations

from collections.abc import Collection

from engine.errors import Problem
from engine.metadata import Definitions


def subscription_problems(definitions: Definitions, existing: Collection[str]) -> list[Problem]:
    """An ``unknown_subscription`` problem (file and pointer of the action's ``subscription``)
    for every ``webhook`` action of an automation naming a subscription not in ``existing``."""
    problems = []
    known = sorted(existing)
    for automation in definitions.automations.values():
        for action in automation.actions:
            if action.kind != "webhook" or action.subscription in existing:
                continue
            hint = f" Subscriptions: {', '.join(known)}." if known else " There are no subscriptions yet."
            message = (
                f"the automation {automation.name!r} sends to the webhook subscription {action.subscription!r}, "
                f"which does not exist; create it first (crm webhook create {action.subscription} --url URL "
                f"--secret-stdin).{hint}"
            )
            where: tuple[str | None, str | None] = (None, None)
            if action.source is not None:
                where = (action.source.file, action.source.pointer + "/webhook/subscription")
            elif automation.source is not None:
                where = (automation.source.file, automation.source.pointer)
            problems.append(Problem("unknown_subscription", message, file=where[0], pointer=where[1]))
    return problems
