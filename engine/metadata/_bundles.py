"""Find the bundles a load involves: the root, what it extends (presets or paths), in order.

A bundle is a directory with a ``bundle.json``; its documents are every other ``*.json``
below it (sorted by path), except in hidden directories and in subdirectories that are
bundles of their own (those join only through ``extends``). A symbolic link that leads
outside the bundle's directory is refused (``link_outside_bundle``): a bundle reads only
its own files. Links to directories inside it are not followed (their files are members
already), so a link loop ends the walk instead of repeating it. Each bundle directory is read
once, however many bundles extend it, and the result lists bases before the bundles that
extend them.

File names in problems are relative to the parent of the bundle directory they belong to,
with ``/`` separators: ``sales/entities/deal.json``, ``core/bundle.json``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from engine.errors import Problem
from engine.metadata._documents import read_document
from engine.metadata._model import SourceRef
from engine.metadata._names import is_identifier
from engine.metadata._problems import did_you_mean, file_problem, pointer, problem, quoted_list
from engine.resources import resource_dir

MANIFEST = "bundle.json"


@dataclass(frozen=True)
class Bundle:
    """One bundle: its name, directory and member documents ``(path, display name)``."""

    name: str
    directory: Path
    documents: tuple[tuple[Path, str], ...]


@dataclass(frozen=True)
class BundleGraph:
    """The bundles of one load, bases first, the root last."""

    bundles: tuple[Bundle, ...]
    #: Each bundle's ancestors: the bundles it extends, directly or not.
    ancestors: Mapping[str, frozenset[str]]
    problems: tuple[Problem, ...]


def is_file(path: Path) -> bool:
    """``path.is_file()``, false for a path the system cannot even look up (too long...)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def is_dir(path: Path) -> bool:
    """``path.is_dir()``, false for a path the system cannot even look up (too long...)."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _subdirectories(root: Path) -> list[Path]:
    try:
        return [d for d in root.iterdir() if is_dir(d)]
    except OSError:
        return []


def _leaves(path: Path, root: Path) -> bool:
    """Whether the link ``path`` resolves outside ``root`` (itself resolved)."""
    try:
        target = path.resolve()
    except (OSError, RuntimeError):
        return False  # a loop of links: reading it fails, and is reported as unreadable
    return target != root and root not in target.parents


def display_name(path: Path, bundle_directory: Path) -> str:
    """How problems name ``path``: relative to the parent of its bundle's directory."""
    return Path(os.path.relpath(path, bundle_directory.parent)).as_posix()


def bundle_graph(directory: Path, preset_dirs: Sequence[Path] = ()) -> BundleGraph:
    """Resolve the bundle in ``directory`` (which has a bundle.json) and all it extends."""
    resolver = _Resolver(preset_dirs)
    resolver.visit(Path(os.path.abspath(directory)))
    return resolver.graph()


def single_document_graph(path: Path) -> BundleGraph:
    """An anonymous bundle holding only the document ``path``, named after the file."""
    path = Path(os.path.abspath(path))
    bundle = Bundle(path.stem, path.parent, ((path, path.name),))
    return BundleGraph((bundle,), MappingProxyType({bundle.name: frozenset()}), ())


def preset_search_path(preset_dirs: Sequence[Path]) -> tuple[Path, ...]:
    """Where preset names are looked up: the caller's directories, then the engine's own."""
    candidates = [Path(d) for d in preset_dirs]
    # An installation without presets is fine: the caller's directories may be all there is.
    with contextlib.suppress(FileNotFoundError):
        candidates.append(resource_dir("presets"))
    unique: dict[Path, Path] = {}
    for directory in candidates:
        unique.setdefault(directory.resolve(), Path(os.path.abspath(directory)))
    return tuple(unique.values())


class _Resolver:
    """Depth-first walk over ``extends``; the walk's stack finds cycles."""

    def __init__(self, preset_dirs: Sequence[Path]) -> None:
        self.search_path = preset_search_path(preset_dirs)
        self.done: dict[Path, Bundle | None] = {}
        self.stack: list[Path] = []
        self.names: dict[Path, str] = {}
        self.owners: dict[str, Path] = {}
        self.order: list[Bundle] = []
        self.bases: dict[str, list[str]] = {}
        self.problems: list[Problem] = []

    def graph(self) -> BundleGraph:
        ancestors: dict[str, frozenset[str]] = {}
        for bundle in self.order:  # bases come first, so theirs are known already
            found: set[str] = set()
            for base in self.bases[bundle.name]:
                found |= {base, *ancestors[base]}
            ancestors[bundle.name] = frozenset(found)
        return BundleGraph(tuple(self.order), MappingProxyType(ancestors), tuple(self.problems))

    def visit(self, directory: Path) -> Bundle | None:
        key = directory.resolve()
        if key in self.done:
            return self.done[key]
        manifest = directory / MANIFEST
        manifest_name = display_name(manifest, directory)
        document = read_document(manifest, manifest_name, allowed=("bundle",), context="the content of a bundle.json")
        self.problems.extend(document.problems)
        value = document.value if isinstance(document.value, dict) else {}
        # An invalid bundle.json still names its bases where it can, so that the
        # documents of the bundle are checked against them instead of reported as orphans.
        name = value["name"] if is_identifier(value.get("name")) else directory.name
        owner = self.owners.get(name)
        if owner is not None and owner != key:
            message = (
                f"the bundle name {name!r} is already used by {owner}; bundle names must be "
                "unique. Rename one of the bundles."
            )
            self.problems.append(problem("duplicate_bundle", message, SourceRef(manifest_name, "/name")))
            self.done[key] = None
            return None
        self.owners[name] = key
        self.names[key] = name
        self.stack.append(key)
        bases: list[str] = []
        extends = value.get("extends")
        reported = {p.pointer for p in document.problems}
        for index, entry in enumerate(extends if isinstance(extends, list) else ()):
            where = SourceRef(manifest_name, pointer("extends", index))
            if not isinstance(entry, str) or where.pointer in reported:
                continue
            target = self._locate(entry, directory, where)
            if target is None:
                continue
            target_key = target.resolve()
            if target_key in self.stack:
                loop = [*self.stack[self.stack.index(target_key) :], target_key]
                path = " → ".join(self.names.get(k, k.name) for k in loop)
                message = (
                    f"bundles extend each other in a cycle ({path}); remove this entry or another one of the cycle."
                )
                self.problems.append(problem("extends_cycle", message, where))
                continue
            base = self.visit(target)
            if base is not None and base.name not in bases:
                bases.append(base.name)
        self.stack.pop()
        bundle = Bundle(name, directory, self._documents(directory))
        self.done[key] = bundle
        self.bases[name] = bases
        self.order.append(bundle)
        return bundle

    def _locate(self, entry: str, directory: Path, where: SourceRef) -> Path | None:
        if entry.startswith((".", "/")):
            candidate = Path(os.path.abspath(directory / entry))
            if candidate.name == MANIFEST and is_file(candidate):
                candidate = candidate.parent
            if is_file(candidate / MANIFEST):
                return candidate
            if is_dir(candidate):
                reason = "is a directory without a bundle.json"
            elif _exists(candidate):
                reason = "is not a directory"
            else:
                reason = "does not exist"
            message = f"extends {entry!r}: {candidate} {reason}. Paths are relative to this bundle's directory."
            self.problems.append(problem("unknown_bundle", message, where))
            return None
        available = sorted(
            {d.name for root in self.search_path for d in _subdirectories(root) if is_file(d / MANIFEST)}
        )
        found = [root / entry for root in self.search_path if is_file(root / entry / MANIFEST)]
        if not is_identifier(entry) or not found:
            hint = did_you_mean(entry, available)
            known = f" Available presets: {quoted_list(available)}." if available else ""
            message = (
                f"extends {entry!r}: no preset of that name.{hint}{known} A path must start with './', '../' or '/'."
            )
            self.problems.append(problem("unknown_bundle", message, where))
            return None
        if len(found) > 1:
            places = ", ".join(str(p) for p in found)
            message = (
                f"extends {entry!r}: several preset directories have a preset of that name "
                f"({places}); rename one, or extend it by path."
            )
            self.problems.append(problem("ambiguous_bundle", message, where))
            return None
        return found[0]

    def _documents(self, directory: Path) -> tuple[tuple[Path, str], ...]:
        found: list[tuple[Path, str]] = []

        def unreadable(error: OSError) -> None:
            where = display_name(Path(error.filename or directory), directory)
            message = f"cannot read the directory: {error.strerror or error}."
            self.problems.append(file_problem("unreadable_file", message, where))

        root_key = directory.resolve()

        def outside(path: Path, what: str) -> bool:
            if not path.is_symlink() or not _leaves(path, root_key):
                return False
            message = (
                f"this {what} is a symbolic link to {os.readlink(path)}, outside the bundle's directory; "
                "a bundle reads only its own files. Copy the file into the bundle, or extend the "
                "bundle it belongs to."
            )
            self.problems.append(file_problem("link_outside_bundle", message, display_name(path, directory)))
            return True

        # followlinks=False (the default): a link to a directory is listed, never entered.
        for root, dirs, files in os.walk(directory, onerror=unreadable):
            here = Path(root)
            # Hidden directories (.git, editor settings) and nested bundles are not members.
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not is_file(here / d / MANIFEST))
            for name in dirs:
                outside(here / name, "directory")
            for file in files:
                if file.startswith(".") or not file.endswith(".json"):
                    continue
                path = here / file
                if outside(path, "file") or (here == directory and file == MANIFEST):
                    continue
                found.append((path, display_name(path, directory)))
        return tuple(sorted(found, key=lambda item: item[1]))
