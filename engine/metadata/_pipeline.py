"""What every document kind shares: how it is described, read, overlaid and resolved.

A :class:`DocumentKind` says everything the pipeline needs to know of one kind (entity,
workflow, scoring, report, role...): how a valid document becomes a mutable *draft*, how
its overlay documents apply to the drafts, how the drafts are checked and frozen (its
semantic checks, which may read the kinds it comes ``after``), and how a frozen definition
is written in the stored form. ``_kinds`` lists the kinds in dependency order and walks
them, for definitions read from files and for definitions read back from the database.

The overlay rules common to every kind live here too: which bundle sees what
(:func:`sees`), how settings of one property made by several overlays resolve
(:func:`resolve_settings`), and the problem of an overlay naming nothing it can see.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from engine.errors import Problem
from engine.metadata._model import Definitions, SourceRef
from engine.metadata._problems import child, did_you_mean, problem

#: The ``schema_version`` of every document this engine reads and writes.
SCHEMA_VERSION = 1

Ancestors = Mapping[str, frozenset[str]]

_Draft = TypeVar("_Draft")
_Built = TypeVar("_Built")


@dataclass
class Placed:
    """The draft of a named definition or part: its options as written (``spec``), where
    each was last set (``where``), so that a problem of the merged definition points at
    the document and key that caused it, where the draft itself was written (``source``)
    and the bundle that wrote it."""

    name: str
    spec: dict[str, Any]
    where: dict[str, SourceRef]
    source: SourceRef
    bundle: str

    def at(self, option: str) -> SourceRef:
        """Where ``option`` was set (the draft itself when it was not)."""
        return self.where.get(option, self.source)


def build_each(
    drafts: Mapping[str, _Draft], build: Callable[[_Draft], tuple[_Built, list[Problem]]]
) -> tuple[dict[str, _Built], list[Problem]]:
    """Every draft frozen by ``build``, by name, and the problems of all, in draft order."""
    built: dict[str, _Built] = {}
    problems: list[Problem] = []
    for name, draft in drafts.items():
        built[name], draft_problems = build(draft)
        problems.extend(draft_problems)
    return built, problems


@dataclass(frozen=True)
class OverlayDraft:
    """An overlay document of ``bundle`` naming the definition it changes (``target``),
    applied after every document is read."""

    target: str
    document: Mapping[str, Any]
    source: SourceRef
    bundle: str


@dataclass
class Collection:
    """What the documents of a bundle graph (or the stored form) contribute, kind by kind."""

    #: kind → name → draft, filled document by document.
    drafts: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: kind → its overlay documents, in bundle order.
    overlays: dict[str, list[OverlayDraft]] = field(default_factory=dict)
    #: kind → names whose documents are invalid: references to them are not reported again.
    broken: dict[str, set[str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def drafts_of(self, kind: str) -> dict[str, Any]:
        """The drafts of ``kind`` by name."""
        return self.drafts.setdefault(kind, {})

    def overlays_of(self, kind: str) -> list[OverlayDraft]:
        """The overlay documents of ``kind``, in the order they were read."""
        return self.overlays.setdefault(kind, [])

    def broken_of(self, kind: str) -> set[str]:
        """Names of ``kind`` whose documents are invalid."""
        return self.broken.setdefault(kind, set())


@dataclass
class Resolution:
    """What a kind's steps read: the collection, the bundle graph and what is built so far."""

    collection: Collection
    ancestors: Ancestors
    #: scorer name → JSON Schema of its config, or ``None`` to leave configurations unchecked.
    scorer_schemas: Mapping[str, Mapping[str, Any]] | None = None
    #: kind → name → frozen definition, for the kinds built so far.
    built: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def drafts(self, kind: str) -> dict[str, Any]:
        """The drafts of ``kind`` (overlays applied once its turn has come)."""
        return self.collection.drafts_of(kind)

    def broken(self, kind: str) -> set[str]:
        """Names of ``kind`` whose documents are invalid."""
        return self.collection.broken_of(kind)

    def definitions(self, kind: str) -> Mapping[str, Any]:
        """The frozen definitions of ``kind``, which must come before the asking kind."""
        return self.built[kind]


#: Makes the draft of a valid document: (document, where, bundle) → draft.
DraftMaker = Callable[[Mapping[str, Any], SourceRef, str], Any]
#: A step that reads the resolution and reports problems (cross-kind checks).
Step = Callable[[Resolution], list[Problem]]
#: Applies a kind's overlays to its drafts in place: (drafts, overlays in bundle order,
#: ancestors, names whose documents are broken) → problems.
OverlayStep = Callable[[dict[str, Any], list[OverlayDraft], Ancestors, set[str]], list[Problem]]
#: Checks and freezes a kind's drafts: name → definition, and the problems found.
Builder = Callable[[Resolution], tuple[Mapping[str, Any], list[Problem]]]
#: Writes one frozen definition as a document of its kind (the whole definitions at hand).
StoredForm = Callable[[Any, Definitions], dict[str, Any]]


@dataclass(frozen=True)
class OverlayKind:
    """How a kind's overlay documents (``KIND_overlay``) change its drafts."""

    summary: str
    apply: OverlayStep


@dataclass(frozen=True)
class DocumentKind:
    """One kind of definition document, from the document as read to its stored form.

    ``name`` is the document's ``kind`` (its meta-schema is ``schemas/NAME.schema.json``);
    ``plural`` is the attribute of :class:`Definitions` and the key of the stored form
    that hold the kind's definitions.
    """

    name: str
    plural: str
    summary: str
    draft: DraftMaker
    build: Builder
    to_json: StoredForm
    #: What follows "Rename one of them" when a second document defines a name.
    duplicate_hint: str = ""
    overlay: OverlayKind | None = None
    #: Kinds whose drafts or definitions this kind's checks read.
    after: tuple[str, ...] = ()
    #: Checks run once the kind is built, across kinds (workflow actions naming scorings...).
    checks: tuple[Step, ...] = ()
    #: Whether the stored form has the kind's key even when there are none.
    always_stored: bool = False

    @property
    def schema_file(self) -> str:
        """The meta-schema of the kind's documents."""
        return f"{self.name}.schema.json"

    @property
    def overlay_name(self) -> str:
        """The ``kind`` of the kind's overlay documents."""
        return f"{self.name}_overlay"

    def collect(self, document: Mapping[str, Any], where: SourceRef, bundle: str, into: Collection) -> None:
        """Add the draft of a valid document; a second one of that name is an error."""
        name = str(document["name"])
        drafts = into.drafts_of(self.name)
        first = drafts.get(name)
        if first is not None:
            article = "an" if self.name[0] in "aeiou" else "a"
            message = (
                f"the {self.name} {name!r} is already defined in {first.source.file}; {article} "
                f"{self.name} is defined once. Rename one of them{self.duplicate_hint}."
            )
            into.problems.append(problem(f"duplicate_{self.name}", message, child(where, "name")))
            return
        drafts[name] = self.draft(document, where, bundle)

    def collect_overlay(self, document: Mapping[str, Any], where: SourceRef, bundle: str, into: Collection) -> None:
        """Queue a valid overlay document; overlays apply once everything is read."""
        into.overlays_of(self.name).append(OverlayDraft(str(document[self.name]), document, where, bundle))


def sees(viewer: str, owner: str, ancestors: Ancestors) -> bool:
    """Whether bundle ``viewer`` sees what bundle ``owner`` defines (itself or a base)."""
    return viewer == owner or owner in ancestors.get(viewer, frozenset())


def overlay_targets(
    kind: str,
    overlays: Iterable[OverlayDraft],
    drafts: Mapping[str, Any],
    ancestors: Ancestors,
    problems: list[Problem],
    *,
    broken: Iterable[str] = (),
    fallback: str = "",
) -> Iterator[tuple[OverlayDraft, Any]]:
    """Each overlay with the draft it changes; an overlay naming no draft it can see is
    reported in ``problems`` (unless the draft's document is ``broken``) and skipped.

    ``fallback`` ends the message when no visible name is close to the one written.
    """
    missing = set(broken)
    for overlay in overlays:
        target = drafts.get(overlay.target)
        if target is None or not sees(overlay.bundle, target.bundle, ancestors):
            if overlay.target not in missing:
                problems.append(_unknown_target(kind, overlay, drafts, ancestors, fallback))
            continue
        yield overlay, target


def _unknown_target(
    kind: str, overlay: OverlayDraft, drafts: Mapping[str, Any], ancestors: Ancestors, fallback: str
) -> Problem:
    target = drafts.get(overlay.target)
    if target is not None:
        reason = (
            f" It is defined in bundle {target.bundle!r}, which bundle {overlay.bundle!r} "
            "does not extend; add it to extends."
        )
    else:
        visible = [n for n, d in drafts.items() if sees(overlay.bundle, d.bundle, ancestors)]
        reason = did_you_mean(overlay.target, visible) or fallback
    message = f"no bundle this overlay can see defines the {kind} {overlay.target!r}.{reason}"
    return problem(f"unknown_{kind}", message, child(overlay.source, kind))


@dataclass(frozen=True)
class Setting:
    """A value an overlay sets, the bundle of that overlay, and where it is written."""

    value: Any
    bundle: str
    where: SourceRef


def resolve_settings(group: list[Setting], ancestors: Ancestors) -> tuple[Setting, list[Problem]]:
    """The setting that stands among ``group`` (all setting one property), and the
    ``overlay_clash`` problems of those that disagree with it."""
    # A setting is superseded by one made in a bundle that extends its bundle.
    standing = [
        s for s in group if not any(t.bundle != s.bundle and s.bundle in ancestors.get(t.bundle, ()) for t in group)
    ]
    first = standing[0]
    problems = []
    for other in standing[1:]:
        if same_json(other.value, first.value):
            continue
        this = f"sets {other.where.pointer.rsplit('/', 1)[-1]!r} to {other.value!r}"
        problems.append(overlay_clash(other.where, this, first.where, f"sets it to {first.value!r}", "Set"))
    return first, problems


def overlay_clash(where: SourceRef, this: str, earlier: SourceRef, that: str, fix: str) -> Problem:
    """The ``overlay_clash`` of the overlay at ``where``, which ``this`` (does) while the
    overlay at ``earlier`` ``that`` (does otherwise), neither bundle extending the other;
    ``fix`` is the verb of the advice ("Set", "Write", "Edit")."""
    message = (
        f"this {this}, but {earlier.file} at {earlier.pointer} {that}; overlays never override "
        f"each other silently. {fix} it in one place, or in a bundle that extends both."
    )
    return problem("overlay_clash", message, where)


def related(a: str, b: str, ancestors: Ancestors) -> bool:
    """Whether one of two different bundles extends the other (the bundle order decides)."""
    return a != b and (b in ancestors.get(a, ()) or a in ancestors.get(b, ()))


def same_json(a: Any, b: Any) -> bool:
    """Whether two JSON values are equal as JSON (key order aside)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
