"""ISO 8601 durations of SLAs (``P3D``, ``PT4H``, ``P1DT12H``, ``P2W``) as timedeltas.

Only units of a fixed length are accepted: weeks, days, hours, minutes and seconds.
Years and months have no fixed length (is ``P1M`` 28 days or 31?), so an SLA written in
them would expire at a moment nobody can state; they are refused with a fix.
"""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(
    r"P(?:(?P<weeks>[0-9]{1,6})W)?(?:(?P<days>[0-9]{1,6})D)?"
    r"(?:T(?:(?P<hours>[0-9]{1,7})H)?(?:(?P<minutes>[0-9]{1,9})M)?(?:(?P<seconds>[0-9]{1,10})S)?)?"
)
_CALENDAR_UNITS = re.compile(r"P(?:[0-9]+[WD])*[0-9]+[YM]")
#: Longer than any SLA, and far below what :class:`timedelta` can hold.
MAX_DURATION = timedelta(days=36600)


def parse_duration(text: str) -> timedelta | str:
    """The duration ``text`` means, or the reason it means none (phrased as a fix)."""
    match = _DURATION.fullmatch(text)
    if match is None or text == "P" or text.endswith("T"):
        if _CALENDAR_UNITS.match(text):
            return 'years and months have no fixed length; write days or weeks instead (e.g. "P30D" rather than "P1M")'
        return (
            'write an ISO 8601 duration such as "P3D" (3 days), "PT4H" (4 hours), '
            '"PT30M" (30 minutes), "P2W" (2 weeks) or "P1DT12H" (a day and a half)'
        )
    parts = {unit: int(value) for unit, value in match.groupdict().items() if value}
    duration = timedelta(**parts)
    if duration <= timedelta(0):
        return "a duration must be longer than zero"
    if duration > MAX_DURATION:
        return f"a duration may be at most {MAX_DURATION.days} days"
    return duration


def format_duration(duration: timedelta) -> str:
    """The canonical ISO 8601 text of ``duration``: days, then hours, minutes, seconds."""
    days = duration.days
    hours, rest = divmod(duration.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"P{days}D" if days else "P"
    clock = "".join(f"{value}{unit}" for value, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if value)
    return text + ("T" + clock if clock else "")
