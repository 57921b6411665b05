"""The plugin manager: pluggy's, with each implementation's failure reported by plugin name.

Hooks are called through pluggy's hook relay (``plugins.hook.crm_transition(...)``), so
ordering, ``firstresult`` and ``wrapper=True`` implementations are pluggy's own. What the
engine adds is isolation: an implementation that raises is reported with its plugin's name
and hook, the call goes on with the others, and the engine goes on working.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import Distribution
from types import ModuleType
from typing import Any

import pluggy

from engine.suggestions import suggest

from . import hookspecs

ENTRY_POINT_GROUP = "crm.plugins"

log = logging.getLogger("crm.plugins")
hookimpl = pluggy.HookimplMarker("crm")


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that could not be loaded or whose hook raised."""

    plugin: str
    hook: str | None
    error: str


Report = Callable[[str, str | None, BaseException], object]


class GuardedPluginManager(pluggy.PluginManager):
    """A ``pluggy.PluginManager`` whose hook calls survive a failing plugin.

    Every call runs through pluggy's own call loop; each implementation is guarded so that
    its exception is handed to ``report`` (with the plugin's name and the hook) instead of
    stopping the others: a plain implementation that raises gives no result, a wrapper that
    raises leaves the result of the others as it is. Old-style ``hookwrapper=True``
    implementations are refused when registered, naming the plugin and the hook's signature.
    """

    def __init__(self, report: Report) -> None:
        super().__init__("crm")
        self._report = report
        self._guarded: dict[pluggy.HookImpl, pluggy.HookImpl] = {}

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register ``plugin`` as pluggy does; refuse it when it has an old-style hookwrapper."""
        registered = super().register(plugin, name)
        for caller in self.get_hookcallers(plugin) or ():
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and impl.hookwrapper:
                    self.unregister(plugin)
                    raise pluggy.PluginValidationError(plugin, old_style_wrapper(impl, caller.name))
        return registered

    def _hookexec(
        self,
        hook_name: str,
        methods: Sequence[pluggy.HookImpl],
        kwargs: Mapping[str, object],
        firstresult: bool,
    ) -> object | list[object]:
        # pluggy's HookCaller (and every subset of one) calls this with the implementations
        # to run; the guarded copies run instead, in pluggy's own call loop
        guarded = [self._guarded.get(impl) or self._guard(hook_name, impl) for impl in methods]
        return super()._hookexec(hook_name, guarded, kwargs, firstresult)

    def _guard(self, hook_name: str, impl: pluggy.HookImpl) -> pluggy.HookImpl:
        guard = _guard_wrapper if impl.wrapper else _guard_plain
        function = guard(impl.function, functools.partial(self._report, impl.plugin_name, hook_name))
        guarded = pluggy.HookImpl(impl.plugin, impl.plugin_name, function, impl.opts)
        self._guarded[impl] = guarded
        return guarded


def _guard_plain(function: Callable[..., Any], report: Callable[[BaseException], object]) -> Callable[..., Any]:
    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as exc:  # a plugin's bug must not stop the others or the engine
            report(exc)
            return None  # pluggy leaves None out of the results

    return guarded


def _guard_wrapper(function: Callable[..., Any], report: Callable[[BaseException], object]) -> Callable[..., Any]:
    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Generator[None, Any, Any]:
        teardown = function(*args, **kwargs)
        try:
            next(teardown)
        except Exception as exc:  # failed (or returned) before its yield: the call goes on without it
            report(exc if not isinstance(exc, StopIteration) else RuntimeError("the wrapper did not yield"))
            return (yield)
        try:
            result = yield
        except BaseException:  # the engine's own error stops the call: let the wrapper clean up
            teardown.close()
            raise
        try:
            teardown.send(result)
        except StopIteration as done:
            return done.value
        except Exception as exc:  # failed after its yield: the others' result stands
            report(exc)
            return result
        teardown.close()
        report(RuntimeError("the wrapper yielded twice"))
        return result

    return guarded


def old_style_wrapper(impl: pluggy.HookImpl, hook: str) -> str:
    """Why an old-style hookwrapper is refused, naming its plugin and signature."""
    return (
        f"plugin {impl.plugin_name}: {signature(impl.function, hook)} is an old-style hookwrapper "
        "(hookwrapper=True), which the engine does not run; write it as @hookimpl(wrapper=True): "
        "a generator whose yield gives the others' result and which returns the result"
    )


def signature(function: Callable[..., Any], hook: str | None = None) -> str:
    """``crm_transition(entity, record)``: a hook implementation as its author wrote it."""
    try:
        shown = ", ".join(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        shown = "..."
    return f"{hook or getattr(function, '__name__', '?')}({shown})"


@dataclass
class Plugins:
    """The plugin manager plus what went wrong with plugins (reported, never fatal).

    Call hooks through :attr:`hook`, pluggy's hook relay: ``plugins.hook.crm_notify(...)``.
    """

    manager: GuardedPluginManager = field(init=False)
    failures: list[PluginFailure] = field(default_factory=list)
    #: plugin name → "distribution version" for plugins installed as packages
    sources: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.manager = GuardedPluginManager(self.report)
        self.manager.add_hookspecs(hookspecs)

    @property
    def hook(self) -> pluggy.HookRelay:
        """pluggy's hook relay: one attribute per ``crm_*`` hook, called with keywords."""
        return self.manager.hook

    def each_plugin(self, caller: pluggy.HookCaller, **kwargs: Any) -> Iterator[tuple[str, list[Any]]]:
        """Call ``caller`` once per plugin that implements it, in pluggy's order, with the
        plugin's name: for hooks whose results must say which plugin gave them. Wrappers
        run around each plugin's call."""
        plain = [impl for impl in caller.get_hookimpls() if not (impl.wrapper or impl.hookwrapper)]
        for impl in reversed(plain):
            others = [other.plugin for other in plain if other.plugin is not impl.plugin]
            yield impl.plugin_name, self.manager.subset_hook_caller(caller.name, others)(**kwargs)

    def report(self, plugin: str, hook: str | None, exc: BaseException) -> PluginFailure:
        """Record (and log) that ``plugin`` failed."""
        failure = PluginFailure(plugin, hook, f"{exc.__class__.__name__}: {exc}")
        self.failures.append(failure)
        log.error("plugin %s failed in %s: %s", plugin, hook, failure.error)
        return failure

    def distribution(self, plugin_name: str) -> str:
        """Where a plugin came from: its distribution and version, or "built-in"."""
        return self.sources.get(plugin_name, "built-in")

    def register(self, plugin: object, name: str, dist: Distribution | None = None) -> None:
        """Register ``plugin``; a plugin that cannot be registered is reported, not raised."""
        try:
            self.manager.register(plugin, name=name)
        except Exception as exc:  # a bad signature or an old-style wrapper in one plugin
            if self.manager.is_registered(plugin):  # older pluggy leaves it half registered
                self.manager.unregister(plugin)
            self._failed_to_load(name, exc)
            return
        if dist is not None:
            self.sources[name] = f"{dist.metadata['Name']} {dist.version}"

    def check_pending(self) -> None:
        """pluggy's ``check_pending()``: a plugin implementing a hook that does not exist (a
        misspelled name) is reported with its name and the hook it wrote, and unloaded."""
        while True:
            try:
                self.manager.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                plugin = exc.plugin
                name = self.manager.get_name(plugin) or repr(plugin)
                self.failures.append(PluginFailure(name, None, self._unknown_hooks(plugin) or str(exc)))
                log.error("plugin %s: %s", name, self.failures[-1].error)
                self.manager.unregister(plugin)

    def _unknown_hooks(self, plugin: object) -> str:
        known = [name for name, caller in vars(self.manager.hook).items() if caller.has_spec()]
        unknown = []
        for caller in self.manager.get_hookcallers(plugin) or ():
            if caller.has_spec():
                continue
            for impl in caller.get_hookimpls():
                close = suggest(caller.name, known)
                hint = f' (did you mean "{close}"?)' if close else f" (hooks: {', '.join(sorted(known))})"
                unknown.append(f"unknown hook {signature(impl.function, caller.name)}{hint}")
        return "; ".join(unknown)

    def _failed_to_load(self, name: str, exc: BaseException) -> None:
        self.failures.append(PluginFailure(name, None, f"{exc.__class__.__name__}: {exc}"))
        log.error("plugin %s could not be loaded: %s", name, exc)


def make_plugins(
    *,
    entry_points: bool = True,
    extra: tuple[object, ...] = (),
    builtin: Sequence[ModuleType] | None = None,
) -> Plugins:
    """Build the plugin manager: hookspecs, the built-in plugins (``DEFAULT_PLUGINS`` unless
    ``builtin`` says otherwise), entry-point plugins, ``extra``; then ``check_pending()``."""
    from ._defaults import DEFAULT_PLUGINS

    plugins = Plugins()
    for module in DEFAULT_PLUGINS if builtin is None else builtin:
        plugins.register(module, module.__name__)
    if entry_points:
        from importlib.metadata import entry_points as find

        for entry in find(group=ENTRY_POINT_GROUP):
            try:
                loaded = entry.load()
            except Exception as exc:  # an import error in one plugin
                plugins._failed_to_load(entry.name, exc)
                continue
            plugins.register(loaded, entry.name, getattr(entry, "dist", None))
    for plugin in extra:
        plugins.register(plugin, getattr(plugin, "__name__", repr(plugin)))
    plugins.check_pending()  # a misspelled hook name fails loudly, naming the plugin; the rest still load
    return plugins
