"""The two ways definitions are loaded, both through the one resolver of ``_kinds``: from
files (a bundle directory, a bundle.json, or one entity document, with the bundles they
extend), and from the canonical stored form the engine keeps in its database.

Find the bundles a load involves: the root, what it extends (presets or paths), in order.

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

Load definitions from disk: a bundle directory, a bundle.json, or one entity document.

Reading goes in stages, and every stage runs whatever failed before it, so that one broken
file never hides the problems of another: bundles are resolved, every document is read
and checked against its meta-schema, overlays are applied, entities are frozen and
checked, then workflows (with their overlays) are frozen and checked against them, then
scorings (with theirs) against both, then reports against all three, then roles (with their
overlays) against entities and workflows. Only when nothing at all was wrong is a
:class:`Definitions` returned.

A document that fails its meta-schema takes part in the later stages with the parts at
fault removed (``_documents.salvage``), so that its form problems and its meaning problems come out
in one run; when that is not possible it sits out, and references to what it defines are
not reported.

The canonical resolved form of definitions: what the engine stores and compares.

One JSON document holds every entity with overlays applied and defaults resolved, every
workflow (under ``workflows``), every scoring (under ``scorings``), every report (under
``reports``) and every role (under ``roles``); those keys are present only when there are any. Each entity, workflow,
scoring and report in it is itself a valid document of its kind, so reading it back goes
through the same meta-schema and checks as a file an admin wrote. Only keys whose value
differs from the default are written, in a stable order, so equal definitions give equal
documents and the same digest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from engine.errors import DefinitionError, Problem
from engine.metadata._documents import Document, check_document, check_structure, encloses, read_document
from engine.metadata._kinds import DEFINITION_KINDS, KINDS, collect_document, definitions_of, kinds_with_role, resolve
from engine.metadata._model import Definitions, SourceRef
from engine.metadata._names import is_identifier
from engine.metadata._pipeline import SCHEMA_VERSION, Collection, DocumentKind
from engine.metadata._problems import child, did_you_mean, file_problem, pointer, problem, quoted_list, unique_problems
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


_Schemas = Mapping[str, Mapping[str, Any]]
_MEMBERS = kinds_with_role("member")


def load_definitions(
    path: str | os.PathLike[str],
    *,
    preset_dirs: Sequence[Path] = (),
    scorer_schemas: Mapping[str, Mapping[str, Any]] | None = None,
) -> Definitions:
    """Load and validate the definitions at ``path``.

    :param path: a bundle directory, its ``bundle.json``, or a single entity document
        (an anonymous bundle of one, named after the file).
    :param preset_dirs: directories searched for presets named in ``extends`` before the
        engine's own ``presets/``.
    :param scorer_schemas: scorer name → JSON Schema of its ``config``, for the installed
        scorers (``ScorerRegistry.config_schemas()``; this package never imports the
        plugins that define them). When given, a scoring naming another scorer is
        ``unknown_scorer`` and every error of a configuration is reported; when ``None``,
        scorers and configurations are not checked.
    :raises DefinitionError: holding every problem found, in every file.
    """
    definitions, problems = _load(Path(path), preset_dirs, scorer_schemas)
    if problems or definitions is None:
        raise DefinitionError(problems)
    return definitions


def validate_path(
    path: str | os.PathLike[str],
    *,
    preset_dirs: Sequence[Path] = (),
    scorer_schemas: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Problem]:
    """Every problem of the definitions at ``path`` (empty when they are valid).

    Takes the same arguments as :func:`load_definitions`.
    """
    return _load(Path(path), preset_dirs, scorer_schemas)[1]


def _load(
    path: Path, preset_dirs: Sequence[Path], scorer_schemas: _Schemas | None
) -> tuple[Definitions | None, list[Problem]]:
    graph = _graph(path, preset_dirs)
    if isinstance(graph, Problem):
        return None, [graph]
    collection = Collection(problems=list(graph.problems))
    form: list[Problem] = []
    removed: dict[str, tuple[str, ...]] = {}
    for bundle in graph.bundles:
        for document_path, display in bundle.documents:
            document = read_document(document_path, display, allowed=_MEMBERS, context="a document inside a bundle")
            collection.problems.extend(document.problems)
            form.extend(document.problems)
            if document.salvaged is not None:
                removed[display] = document.salvaged.removed
            _collect(document, display, bundle.name, collection)
    resolution, problems = resolve(collection, graph.ancestors, scorer_schemas)
    problems = _without_cascades(unique_problems(problems), set(form), removed)
    if not graph.bundles:
        return None, problems
    definitions = definitions_of(resolution, graph.bundles[-1].name, tuple(b.name for b in graph.bundles))
    return definitions, problems


def _collect(document: Document, display: str, bundle: str, collection: Collection) -> None:
    """Read a document into the collection: whole when valid, what is left of it when
    salvaged; otherwise only its name is noted, as broken."""
    value = document.value if document.valid else None
    if document.salvaged is not None:
        value = document.salvaged.value
    if document.kind is None:
        return
    if value is not None:
        collect_document(document.kind, value, SourceRef(display), bundle, collection)
        return
    kind = KINDS[document.kind]
    if kind.definition is not None and not kind.overlay and isinstance(document.value.get("name"), str):
        collection.broken_of(kind.name).add(document.value["name"])


def _without_cascades(
    problems: list[Problem], form: set[Problem], removed: Mapping[str, tuple[str, ...]]
) -> list[Problem]:
    """``problems`` without the meaning problems located at a part that encloses one a
    salvaged document lost (they may come from the loss itself; see ``_documents.salvage``)."""
    if not removed:
        return problems
    return [
        p
        for p in problems
        if p in form or p.file is None or p.pointer is None or not encloses(p.pointer, removed.get(p.file, ()))
    ]


def _graph(path: Path, preset_dirs: Sequence[Path]) -> BundleGraph | Problem:
    if not is_file(path) and not is_dir(path):
        message = f"{path} does not exist; give a bundle directory, a bundle.json or an entity file."
        return file_problem("path_not_found", message, str(path))
    if is_dir(path):
        if not is_file(path / MANIFEST):
            absolute = Path(os.path.abspath(path))
            message = (
                f"the directory has no {MANIFEST}; a bundle directory needs one, e.g. "
                '{"schema_version": 1, "kind": "bundle", "name": "sales"}.'
            )
            return file_problem("missing_bundle_file", message, display_name(absolute / MANIFEST, absolute))
        return bundle_graph(path, preset_dirs)
    if path.name == MANIFEST:
        return bundle_graph(path.parent, preset_dirs)
    return single_document_graph(path)


#: The ``file`` of problems in stored definitions, unless the caller names it.
STORED_FILE = "<definitions>"


def definitions_to_json(definitions: Definitions) -> dict[str, Any]:
    """The canonical resolved form of ``definitions`` (a JSON-ready ``dict``)."""
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "kind": "definitions",
        "name": definitions.name,
        "bundles": list(definitions.bundles),
    }
    for kind in DEFINITION_KINDS:
        values: Mapping[str, Any] = getattr(definitions, kind.plural)
        # Only when there are any: definitions stored before a kind existed keep their
        # form and their digest.
        if values or kind.always_stored:
            out[kind.plural] = {name: kind.to_json(value, definitions) for name, value in values.items()}
    return out


def definitions_from_json(
    data: Any,
    *,
    file: str = STORED_FILE,
    scorer_schemas: Mapping[str, Mapping[str, Any]] | None = None,
) -> Definitions:
    """Read the canonical form back (``data`` as ``json.loads`` returns it).

    :param file: how problems name the source (the stored form has no file).
    :param scorer_schemas: scorer name → JSON Schema of its config, to check the stored
        scorings' configurations against (see :func:`load_definitions`); ``None`` leaves
        them unchecked.
    :raises DefinitionError: when ``data`` is not valid stored definitions.
    """
    problems = check_structure(data, file)
    if problems:
        raise DefinitionError(problems)
    document = check_document(data, SourceRef(file), allowed=("definitions",), context="stored definitions")
    if not document.valid:
        raise DefinitionError(document.problems)
    name = str(data["name"])
    collection = Collection()
    for kind in DEFINITION_KINDS:
        for key, value in data.get(kind.plural, {}).items():
            _collect_stored(kind, key, value, SourceRef(file, pointer(kind.plural, key)), name, collection)
    resolution, found = resolve(collection, {name: frozenset[str]()}, scorer_schemas)
    problems = unique_problems(found)
    if problems:
        raise DefinitionError(problems)
    return definitions_of(resolution, name, tuple(data["bundles"]))


def _collect_stored(
    kind: DocumentKind, key: str, value: Mapping[str, Any], where: SourceRef, bundle: str, into: Collection
) -> None:
    if value["name"] != key:
        message = f"the {kind.name} stored under {key!r} is named {value['name']!r}; they must match."
        into.problems.append(problem("invalid", message, child(where, "name")))
        return
    kind.collect(value, where, bundle, into)


def definitions_digest(definitions: Definitions) -> str:
    """SHA-256 (hex) of the canonical form as JSON with sorted keys and no whitespace."""
    text = json.dumps(
        definitions_to_json(definitions),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
