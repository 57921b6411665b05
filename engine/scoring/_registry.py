"""The scorers every plugin registered, by name, with the plugin each came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.errors import UsageError
from engine.hooks import PluginFailure, Plugins
from engine.suggestions import did_you_mean

from ._api import Scorer


@dataclass
class ScorerRegistry:
    """Every scorer the plugins offer (``crm_register_scorers``), by name, with its plugin."""

    scorers: dict[str, Scorer] = field(default_factory=dict)
    plugin_of: dict[str, str] = field(default_factory=dict)
    failures: list[PluginFailure] = field(default_factory=list)

    @classmethod
    def collect(cls, plugins: Plugins) -> ScorerRegistry:
        """Ask each plugin for its scorers; a non-scorer or a second scorer of one name is
        reported with the plugin that offered it."""
        registry = cls()
        hook = plugins.hook.crm_register_scorers
        for plugin, results in plugins.each_plugin(hook):
            for scorer in (scorer for offered in results for scorer in offered or ()):
                if not isinstance(scorer, Scorer):
                    registry.failures.append(
                        plugins.report(plugin, hook.name, TypeError(f"{scorer!r} is not a Scorer"))
                    )
                elif scorer.name in registry.scorers:
                    other = registry.plugin_of[scorer.name]
                    registry.failures.append(
                        plugins.report(
                            plugin,
                            hook.name,
                            ValueError(f'scorer "{scorer.name}" is already registered by plugin {other}'),
                        )
                    )
                else:
                    registry.scorers[scorer.name] = scorer
                    registry.plugin_of[scorer.name] = plugin
        registry.failures.extend(f for f in plugins.failures if f not in registry.failures)
        return registry

    def get(self, name: str) -> Scorer:
        """The scorer called ``name``; a clear error suggesting a close name otherwise."""
        try:
            return self.scorers[name]
        except KeyError:
            hint = did_you_mean(name, self.scorers, otherwise=f" Scorers: {', '.join(sorted(self.scorers)) or 'none'}.")
            raise UsageError(f'no scorer is called "{name}".{hint}') from None

    def config_schemas(self) -> dict[str, Any]:
        """Scorer name → JSON Schema of its config (what definition validation checks)."""
        return {name: dict(s.config_schema) for name, s in self.scorers.items()}
