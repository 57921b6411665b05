"""The sales organisation behind the demo data: reps in regional teams, their managers, and
the back office (commercial secretary, finance, marketing, service) plus whatever roles the
workflows name. Users that already exist are kept and used; missing roles are filled.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.metadata import Definitions
from engine.storage import users as users_table

from ._people import RecordContext

#: Regional sales teams, the order reps are spread over them.
TEAMS: tuple[str, ...] = ("east", "north", "south", "west")
#: Back-office roles and how many people hold each.
BACK_OFFICE: tuple[tuple[str, int], ...] = (("secretary", 1), ("finance", 2), ("marketing", 1), ("service", 2))
REP = "rep"
MANAGER = "manager"
ADMIN = "admin"


@dataclass(frozen=True)
class Member:
    name: str
    roles: tuple[str, ...]
    team: str | None


@dataclass
class Team:
    members: tuple[Member, ...]
    #: indexes of the reps and their cumulative activity weights (some reps log far more)
    reps: tuple[int, ...]
    rep_weights: tuple[float, ...]

    def __post_init__(self) -> None:
        self._by_role: dict[str, list[int]] = {}
        self._holders: dict[tuple[str, ...], list[int]] = {}
        for i, member in enumerate(self.members):
            for role in member.roles:
                self._by_role.setdefault(role, []).append(i)

    def pick_rep(self, rng: random.Random) -> int:
        if not self.reps:
            return rng.randrange(len(self.members))
        at = bisect.bisect_right(self.rep_weights, rng.random() * self.rep_weights[-1])
        return self.reps[min(at, len(self.reps) - 1)]

    def holders(self, roles: Iterable[str]) -> list[int]:
        """Members holding any of ``roles`` (every member when no role is named)."""
        wanted = tuple(roles)
        found = self._holders.get(wanted)
        if found is None:
            if not wanted:
                found = list(range(len(self.members)))
            else:
                found = sorted({i for role in wanted for i in self._by_role.get(role, ())})
            self._holders[wanted] = found
        return found

    def pick(
        self, roles: Iterable[str], rng: random.Random, *, prefer: int | None = None, exclude: str | None = None
    ) -> int | None:
        """A member with one of ``roles``: ``prefer`` when it qualifies, else one of the same
        team, else anyone; never the member named ``exclude``."""
        candidates = self.holders(roles)
        if exclude is not None:
            candidates = [i for i in candidates if self.members[i].name != exclude]
        if not candidates:
            return None
        if prefer is not None and prefer in candidates:
            return prefer
        if prefer is not None and rng.random() < 0.8:
            team = self.members[prefer].team
            same = [i for i in candidates if self.members[i].team == team]
            if same:
                candidates = same
        return candidates[rng.randrange(len(candidates))]


def workflow_roles(definitions: Definitions) -> list[str]:
    """Every role a transition needs or an assignment targets (by workflow, then transition name)."""
    seen: dict[str, None] = {}
    for _w, workflow in sorted(definitions.workflows.items()):
        for _t, transition in sorted(workflow.transitions.items()):
            seen.update(dict.fromkeys(transition.roles))
            for action in transition.actions:
                if action.kind == "assign" and action.role:
                    seen[action.role] = None
    return list(seen)


def rep_count(size: int) -> int:
    """Reps for a data set of ``size`` records: a handful for a demo, forty for a million."""
    return max(4, min(40, round(math.sqrt(size) / 3)))


def build_team(
    conn: Connection,
    definitions: Definitions,
    size: int,
    rng: random.Random,
    now: datetime,
    *,
    password_hash: str | None = None,
) -> Team:
    """The users records are spread over; creates the missing ones (in ``conn``'s transaction).

    With ``password_hash``, the users created here sign in with it, and a demo administrator
    ``admin`` is created when no user has that name; users that exist are never changed.
    """
    rows = conn.execute(
        sa.select(users_table.c.name, users_table.c.roles, users_table.c.team, users_table.c.active).order_by(
            users_table.c.name
        )
    ).all()
    existing = [Member(row.name, tuple(row.roles or ()), row.team) for row in rows if row.active]
    taken = {row.name for row in rows} | {"system"}
    created = _new_members(definitions, size, rng, now, existing, taken)
    _insert_users(conn, created, now - timedelta(days=800), password_hash, admin=ADMIN not in taken)
    members = tuple(existing) + tuple(m for m, _, _ in created)
    reps = tuple(i for i, m in enumerate(members) if REP in m.roles)
    weights, total = [], 0.0
    for _ in reps:
        total += math.exp(0.6 * rng.gauss(0.0, 1.0))
        weights.append(total)
    return Team(members, reps, tuple(weights))


def _new_members(
    definitions: Definitions,
    size: int,
    rng: random.Random,
    now: datetime,
    existing: list[Member],
    taken: set[str],
) -> list[tuple[Member, str, str]]:
    """(member, display name, language) of the users to create: reps and managers per team
    unless some exist, the back office, one holder of each other role the workflows need.
    Their names join ``taken``."""
    held = {role for m in existing for role in m.roles}
    created: list[tuple[Member, str, str]] = []
    ctx = RecordContext(rng, now.timestamp(), frozenset())

    def add(roles: tuple[str, ...], team: str | None) -> None:
        ctx.reset(zh=rng.random() < 0.7, created=ctx.now, weight=1.0, seq=0, owner=None)
        display, local = ctx.person()[0], ctx.person()[1].replace("..", ".")
        name, n = local, 2
        while name in taken:
            name, n = f"{local}{n}", n + 1
        taken.add(name)
        created.append((Member(name, roles, team), display, "zh" if ctx.zh else "en"))

    if REP not in held:
        for i in range(rep_count(size)):
            add((REP,), TEAMS[i % len(TEAMS)])
    if MANAGER not in held:
        for team in TEAMS:
            add((MANAGER,), team)
    extra = [(role, 1) for role in workflow_roles(definitions) if role not in (REP, MANAGER)]
    for role, count in (*BACK_OFFICE, *extra):
        if role not in held:
            held.add(role)
            for _ in range(count):
                add((role,), None)
    return created


def _insert_users(
    conn: Connection,
    created: list[tuple[Member, str, str]],
    joined: datetime,
    password_hash: str | None,
    *,
    admin: bool,
) -> None:
    """Write the new users; with ``password_hash`` and ``admin``, a demo administrator too."""
    for member, display, language in created:
        conn.execute(
            users_table.insert().values(
                name=member.name,
                roles=sorted(member.roles),
                team=member.team,
                display_name=display,
                language=language,
                password_hash=password_hash,
                active=True,
                created_at=joined,
            )
        )
    if password_hash is not None and admin:
        # signs in to /admin; not a member of the team: records are never owned or moved by it
        conn.execute(
            users_table.insert().values(
                name=ADMIN,
                roles=[ADMIN],
                team=None,
                display_name="Demo administrator",
                language="en",
                password_hash=password_hash,
                active=True,
                created_at=joined,
            )
        )


def sign_in_names(users: Iterable[tuple[str, Iterable[str]]], roles: Iterable[str]) -> list[tuple[str, str]]:
    """(role, user name) to show after a demo load: the administrator, one manager, then one
    holder of each of ``roles`` (the roles the workflows need), among ``users`` (name, roles)
    in the order given."""
    wanted = list(dict.fromkeys((ADMIN, MANAGER, REP, *roles)))
    found: dict[str, str] = {}
    for name, held in users:
        for role in sorted(held):
            if role in wanted and role not in found:
                found[role] = name
    return [(role, found[role]) for role in wanted if role in found]
