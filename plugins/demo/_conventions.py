"""Conventions of names both the generator and ``crm demo check`` read: which dates come in
order, which times stamp an outcome or a state, which states mean lost, in force or settled.
A new convention is one entry here; the generator then keeps it and the check asserts it."""

from __future__ import annotations

from engine.metadata import EntityDef

DATE_TYPES = frozenset({"date", "datetime"})
NUMBERS = frozenset({"integer", "decimal", "money"})
#: last words of a time field that say only "when" (check_in_at, start_date, joined_on)
_WHEN = frozenset({"at", "on", "date", "time", "day"})
#: (earlier words, later words): a field with the first, and one named alike with the
#: second in their place, hold dates in that order
DATE_PAIRS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("start",), ("end",)),
    (("starts",), ("ends",)),
    (("begin",), ("end",)),
    (("check", "in"), ("check", "out")),
    (("from",), ("to",)),
    (("from",), ("until",)),
    (("since",), ("until",)),
    (("joined",), ("left",)),
    (("issued",), ("expires",)),
    (("occurred",), ("expires",)),
    (("invoice",), ("due",)),
    (("applied",), ("listed",)),
    (("submitted",), ("approved",)),
    (("submitted",), ("reviewed",)),
    (("reviewed",), ("approved",)),
    (("approved",), ("paid",)),
    (("opened",), ("closed",)),
    (("order",), ("delivery",)),
    (("order",), ("handed", "over")),
    (("installation",), ("acceptance",)),
)
#: first words of a term's start and end (an agreement's start_date/end_date)
TERM_START = frozenset({"start", "starts", "begin", "from", "since", "issued"})
TERM_END = frozenset({"end", "ends", "to", "until", "expires"})
#: times an outcome stamps (won_at, done_at): after the record was made, never in the future
OUTCOMES = frozenset(
    {"done", "completed", "won", "approved", "reviewed", "converted", "resolved", "paid", "collected", "redeemed"}
)
#: a state and the first words of the time that says when it was reached
STATE_TIMES = {"done": ("done", "completed"), "completed": ("completed", "done"), "finished": ("finished", "done")}
#: states of records that came to nothing: they received no money (not "terminated": an
#: agreement ended early was in force, and paid, before)
LOST_STATES = frozenset({"lost", "cancelled", "canceled", "rejected", "disqualified", "declined", "withdrawn", "void"})
#: first words of money that came in (actual_amount of a revenue instalment, collected_amount)
RECEIVED = frozenset({"actual", "collected", "received", "paid"})
SPENT = frozenset({"cost", "costs", "expense", "expenses", "spend", "spent", "budget"})
#: states of something in force today, and of something whose term is over
IN_FORCE = frozenset({"active", "running", "in_force", "effective"})
OVER = frozenset({"expired"})
#: states of money collected in full, and in part
SETTLED = frozenset({"collected", "paid", "settled"})
PARTLY = ("partially_", "partly_")


def stem(name: str) -> tuple[str, ...]:
    """The words of a field name without a last "when" word (check_in_at → check, in)."""
    words = tuple(w for w in name.lower().split("_") if w)
    return words[:-1] if len(words) > 1 and words[-1] in _WHEN else words


def _replaced(words: tuple[str, ...], old: tuple[str, ...], new: tuple[str, ...]) -> tuple[str, ...] | None:
    for i in range(len(words) - len(old) + 1):
        if words[i : i + len(old)] == old:
            return words[:i] + new + words[i + len(old) :]
    return None


def date_pairs(entity: EntityDef) -> list[tuple[str, str]]:
    """(earlier, later) date or datetime fields of ``entity`` by :data:`DATE_PAIRS`."""
    by_stem = {stem(n): n for n in sorted(entity.fields) if entity.fields[n].type in DATE_TYPES}
    pairs: list[tuple[str, str]] = []
    for words, name in sorted(by_stem.items()):
        for old, new in DATE_PAIRS:
            other = _replaced(words, old, new)
            if other is not None and other in by_stem and (name, by_stem[other]) not in pairs:
                pairs.append((name, by_stem[other]))
    return pairs


def time_field(entity: EntityDef, state: str) -> str | None:
    """The time field that says when ``state`` was reached (won → won_at, done → done_at)."""
    for word in STATE_TIMES.get(state, (state,)):
        for name, f in sorted(entity.fields.items()):
            if f.type in DATE_TYPES and stem(name) == (word,):
                return name
    return None


def term_pairs(entity: EntityDef) -> list[tuple[str, str]]:
    """(start, end) of a term (an agreement's start_date and end_date), among the date pairs."""
    return [(a, b) for a, b in date_pairs(entity) if stem(a)[-1] in TERM_START and stem(b)[-1] in TERM_END]


def received_fields(entity: EntityDef) -> list[str]:
    """Money that came in: actual_amount, collected_amount (not actual_cost)."""
    return [
        n
        for n, f in sorted(entity.fields.items())
        if f.type in NUMBERS and n.split("_")[0] in RECEIVED and not set(n.split("_")) & SPENT
    ]


#: first words of ledger entry types that take away from a balance, and that add to it: the
#: signed numbers of such an entry are negative, and positive
LEDGER_TAKES = ("redeem", "redemption", "expire", "expiry", "spend", "deduct", "withdraw")
LEDGER_ADDS = ("earn", "top_up", "topup", "bonus", "recharge", "accrue")
