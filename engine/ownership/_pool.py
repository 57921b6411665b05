"""The customer pool (公海): unowned records a user may claim, up to a limit per role.

A role's ``"claim_limits": {"account": 30}`` lets its holders read the unowned accounts
(``engine.permissions`` adds them to the read scope) and claim one while they own fewer
than 30 accounts; with several roles, the highest limit counts. Administrators claim
without a limit. A claim makes the user the owner through the record service (audited,
evented, and cascading along ``cascade_owner`` references: the account's unowned contacts
come with it). Two users claiming the same record at once: the second is refused, since the
write is guarded by the version the claim read.

Records return to the pool when their owner is set to nothing: by hand, or by an
automation (the standard-product preset returns accounts without activity for 90 days).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.errors import ConflictError, PermissionDeniedError, Problem, UsageError
from engine.users import Actor, SystemActor, User, user_of

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

#: Why the system writes a claimed record's owner (on behalf of the claiming user).
CLAIM_REASON = "claim"


def claim_limit(engine: CrmEngine, user: User, entity: str) -> int | None:
    """How many ``entity`` records ``user`` may own and still claim (``None``: no limit, for
    administrators); 0 when none of their roles lets them claim."""
    if user.is_admin:
        return None
    roles = engine.model.definitions.roles
    limits = [roles[r].claim_limits.get(entity, 0) for r in user.roles if r in roles]
    return max(limits, default=0)


class PoolService:
    """Claim unowned records (``engine.pool``)."""

    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine

    def claim(self, entity: str, record_id: int, *, actor: Actor) -> dict[str, Any]:
        """Make the acting user the owner of the unowned ``entity`` ``record_id``.

        :raises UsageError: for the system (a claim is a user's).
        :raises PermissionDeniedError: ``not_claimable`` when no role of the user lets them
            claim ``entity`` records.
        :raises NotFoundError: when there is no such record the user may read.
        :raises ConflictError: ``already_owned`` (someone owns it), ``claim_limit`` (the user
            owns as many as their roles allow).
        """
        user = user_of(actor)
        if user is None:
            raise UsageError(
                "a claim makes the acting user the owner: act as a user (`crm --as NAME record claim ...`)",
                [Problem(code="claim_needs_user", field="user", message="no user acts")],
            )
        engine = self._engine
        engine.model.entity(entity)
        limit = claim_limit(engine, user, entity)
        if limit == 0:
            raise PermissionDeniedError(
                f'"{user.name}" may not claim {entity} records: none of their roles has a claim limit for {entity}',
                [Problem(code="not_claimable", field="claim", message=f"no claim_limits entry for {entity}")],
            )
        records = engine.records
        current = records.get(entity, record_id, actor=user)
        owner = current.get("owner")
        if owner is not None:
            whose = "you own it already" if owner == user.name else f"{owner} owns it"
            raise ConflictError(
                f"{entity} {record_id} is not in the pool: {whose}",
                [Problem(code="already_owned", field="owner", message=whose)],
            )
        table = engine.model.table(entity)
        system = SystemActor(CLAIM_REASON, user.name, writes_read_only=True)
        with engine.db.write() as tx:
            if limit is not None and engine.db.dialect == "postgresql":
                # two claims by one user at once must not both pass the limit: on PostgreSQL they
                # take turns on a lock of (user, entity); SQLite's BEGIN IMMEDIATE already does
                key = f"crm-claim:{entity}:{user.name}"
                tx.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
            if limit is not None:
                owned = tx.execute(sa.select(sa.func.count()).select_from(table).where(table.c.owner == user.name))
                count = int(owned.scalar() or 0)
                if count >= limit:
                    raise ConflictError(
                        f'"{user.name}" owns {count} {entity} records, as many as their roles allow ({limit}); '
                        "hand some back to the pool first",
                        [Problem(code="claim_limit", field="owner", message=f"limit {limit} reached")],
                    )
            records.update(
                entity, record_id, {"owner": user.name}, actor=system, expected_version=current["version"], conn=tx
            )
        return records.get(entity, record_id, actor=user)
