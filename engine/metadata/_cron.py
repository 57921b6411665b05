"""Cron expressions in definitions (an automation's ``schedule`` trigger, a scoring's
``schedule``): one check, so both refuse the same things in the same words."""

from __future__ import annotations


def cron_problem(text: str) -> str | None:
    """Why ``text`` is not a five-field cron expression, or ``None``."""
    # croniter is the maintained cron parser (pallets-eco); it also accepts six or seven
    # fields (seconds, years), which a once-a-minute tick cannot honour: those are refused.
    from croniter import croniter

    if len(text.split()) != 5:
        return f'write five fields (minute hour day-of-month month day-of-week), such as "0 8 * * 1"; got {text!r}'
    if not croniter.is_valid(text):
        return f'{text!r} is not a valid cron expression; for example "0 8 * * 1" is 08:00 UTC every Monday'
    return None
