"""``crm preset load``: apply a mode (or one of its industry variants) alongside the modes
already loaded, as one migration; demo data comes after, from the plugin that offers it
(the ``crm_demo_generator`` hook; the built-in one is ``plugins.demo``)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

import sqlalchemy as sa

from engine.clock import utcnow
from engine.errors import DataLossError, Problem, UsageError
from engine.progress import NO_PROGRESS, Progress
from engine.storage import MigrationPlan
from engine.storage import installed_presets as installed_table

from ._catalog import COMPOSITE, compose, resolve

if TYPE_CHECKING:
    from engine.runtime import CrmEngine


class DemoGenerator(Protocol):
    """What the ``crm_demo_generator`` hook returns: demo data for loaded definitions."""

    def generate(
        self,
        engine: CrmEngine,
        preset: str,
        size: int,
        *,
        seed: int = 7,
        progress: Progress = NO_PROGRESS,
        now: datetime | None = None,
        password: str | None = None,
    ) -> dict[str, int]:
        """Write about ``size`` records for the entities of ``preset``; entity → records written."""
        ...

    def logins(self, engine: CrmEngine, before: Collection[str]) -> list[tuple[str, str]]:
        """(role, user name) to sign in with among the users created since ``before``."""
        ...


def demo_generator(engine: CrmEngine) -> DemoGenerator:
    """The demo-data generator the plugins offer (the first one of ``crm_demo_generator``)."""
    found: DemoGenerator | None = engine.plugins.manager.hook.crm_demo_generator()
    if found is None:
        raise UsageError(
            "no plugin offers demo data: the built-in plugin plugins.builtin is not loaded "
            "(see `crm plugins list`), and no installed plugin implements crm_demo_generator"
        )
    return found


def generate_demo(
    engine: CrmEngine,
    preset: str,
    size: int,
    *,
    seed: int = 7,
    progress: Progress = NO_PROGRESS,
    now: datetime | None = None,
    password: str | None = None,
) -> dict[str, int]:
    """Write about ``size`` demo records for the entities of ``preset`` (every entity when it
    is not a catalog preset) with the plugins' generator; returns entity → records written.

    The same definitions, preset, size, seed and ``now`` give the same data, byte for byte;
    with ``password`` the users it creates sign in with it. Then the date and schedule
    automations due at ``now`` run, as the engine's clock would have run them.
    """
    from engine.automations import catch_up

    written = demo_generator(engine).generate(
        engine, preset, size, seed=seed, progress=progress, now=now, password=password
    )
    # the generator writes around the records service: the keys of duplicate rules follow, and
    # the duplicates it happened to make are recorded as confirmed by the system
    engine.duplicates.after_bulk_write(written, "system:demo")
    # the data is as the engine keeps it once its clock has run: ended agreements expired,
    # renewal and birthday tasks due, members without purchases dormant
    catch_up(engine, now or utcnow())
    return written


class DemoChecker(Protocol):
    """A demo generator that can also say which invariants the loaded data breaks."""

    def check(self, engine: CrmEngine, *, now: datetime | None = None) -> list[dict[str, Any]]:
        """Violations as JSON: ``rule``, ``entity``, ``record_id``, ``fields``, ``message``."""
        ...


def check_demo(engine: CrmEngine, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """The invariants of demo data (``crm demo check``) the loaded records break, from the
    plugins' generator; an empty list when they keep them all."""
    generator = demo_generator(engine)
    check = getattr(generator, "check", None)
    if check is None:
        raise UsageError("the demo-data generator the plugins offer has no check of its data")
    found: list[dict[str, Any]] = cast(DemoChecker, generator).check(engine, now=now)
    return found


def demo_logins(engine: CrmEngine, before: Collection[str]) -> list[tuple[str, str]]:
    """(role, user name) to sign in with among the demo users created since ``before``."""
    return demo_generator(engine).logins(engine, before)


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
                mode=mode, bundle=info.name, industry=info.industry, loaded_at=utcnow(), loaded_by=actor
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
