"""``crm preset load``: apply a mode (or one of its industry variants) alongside the modes
already loaded, as one migration; demo data comes after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from engine.errors import DataLossError, Problem, UsageError
from engine.progress import NO_PROGRESS, Progress
from engine.storage import MigrationPlan
from engine.storage import installed_presets as installed_table

from ._catalog import COMPOSITE, compose, resolve

if TYPE_CHECKING:
    from engine.runtime import CrmEngine


@dataclass(frozen=True)
class LoadResult:
    version: int
    plan: MigrationPlan
    bundles: tuple[str, ...]


def installed_presets(engine: CrmEngine) -> dict[str, str]:
    """Mode → loaded bundle (the mode itself or one of its industry variants)."""
    with engine.db.read() as conn:
        return {
            r.mode: r.bundle for r in conn.execute(sa.select(installed_table).order_by(installed_table.c.loaded_at))
        }


def load_preset(
    engine: CrmEngine,
    name: str,
    *,
    industry: str | None = None,
    allow_data_loss: bool = False,
    actor: str | None = None,
    progress: Progress = NO_PROGRESS,
) -> LoadResult:
    """Load a preset next to the ones already loaded (same mode: the new one replaces it).

    A database whose definitions come from an admin's own bundle is left alone: the admin
    adds the preset to that bundle's ``extends`` instead, so their changes keep applying.
    When presets were loaded first and another bundle applied over them since (its overlays,
    roles, field restrictions), loading would stop applying that bundle: refused with the
    bundles named unless ``allow_data_loss``.
    """
    info = resolve(name, industry)
    mode = info.mode or info.name
    loaded = installed_presets(engine)
    if engine.has_definitions and engine.model.definitions.name != COMPOSITE and not loaded:
        own = engine.model.definitions.name
        raise UsageError(
            f'this database runs your own bundle "{own}"; add "{info.name}" to the "extends" of its bundle.json '
            f"and apply it with `crm schema apply`, so your changes keep applying"
        )
    bundles = {**loaded, mode: info.name}
    definitions = compose(list(bundles.values()), scorer_schemas=engine.scoring.registry.config_schemas())
    if not allow_data_loss:
        _refuse_reverting_other_bundles(engine, definitions.bundles, info.name)
    version, plan = engine.apply(definitions, allow_data_loss=allow_data_loss, actor=actor, progress=progress)
    with engine.db.write() as conn:
        conn.execute(installed_table.delete().where(installed_table.c.mode == mode))
        conn.execute(
            installed_table.insert().values(
                mode=mode, bundle=info.name, industry=info.industry, loaded_at=datetime.now(UTC), loaded_by=actor
            )
        )
    return LoadResult(version, plan, tuple(bundles.values()))


def _refuse_reverting_other_bundles(engine: CrmEngine, composed: tuple[str, ...], preset: str) -> None:
    """Refuse a load that would silently drop bundles the live definitions apply (overlays
    applied with ``crm schema apply`` over the loaded presets)."""
    if not engine.has_definitions or engine.model.definitions.name == COMPOSITE:
        return
    live = engine.model.definitions
    dropped = [b for b in live.bundles if b not in composed]
    if not dropped:
        return
    named = ", ".join(f'"{b}"' for b in dropped)
    raise DataLossError(
        f'this database runs the bundle "{live.name}", applied over the presets; loading "{preset}" would stop '
        f"applying {named} and revert what {'they change' if len(dropped) > 1 else 'it changes'} (overlays, roles, "
        f'field restrictions). Add "{preset}" to the "extends" of {live.name}\'s bundle.json and apply it with '
        "`crm schema apply`, or load with --allow-data-loss to revert to the presets alone",
        [Problem(code="reverts_bundle", field="bundles", message=f"would stop applying {b}") for b in dropped],
    )
