"""What an import file may look like besides UTF-8 with commas and field names as headers:
another delimiter, the encodings Excel saves in China, and a mapping of column names.

A UTF-8 byte order mark always means UTF-8 (Excel's "CSV UTF-8" writes one); a UTF-16 one
is refused with how to save the file instead. A byte the chosen encoding cannot read is an
error naming its physical line and byte offset, found by decoding the file again line by
line (only on that error, so the common path pays nothing).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TextIO

from engine.errors import Problem, UsageError
from engine.metadata import EntityDef

Encoding = Literal["utf-8", "utf-8-sig", "gbk", "gb18030"]
#: The encodings an import reads: UTF-8 (with or without a BOM) and the GB encodings of
#: Chinese Windows and Excel ("ANSI" there is GBK; GB18030 is its superset).
ENCODINGS: tuple[Encoding, ...] = ("utf-8", "utf-8-sig", "gbk", "gb18030")
#: Names people type for the same delimiters.
_DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


@dataclass(frozen=True)
class ImportFormat:
    """How to read an import file: its delimiter, its encoding, and CSV column → field.

    ``mapping`` renames columns to field names (or ``reference.key`` natural keys); a column
    mapped to None is left out of the import.
    """

    delimiter: str = ","
    encoding: Encoding = "utf-8"
    mapping: Mapping[str, str | None] = field(default_factory=dict)
    #: where the mapping came from, for error messages
    mapping_source: str = "the mapping"

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise UsageError(
                f'unknown encoding "{self.encoding}"; choose one of {", ".join(ENCODINGS)}',
                [Problem(code="choice", field="encoding", message=f"one of {', '.join(ENCODINGS)}")],
            )
        if len(self.delimiter) != 1 or self.delimiter in '"\r\n':
            raise UsageError(
                f"the delimiter must be one character other than a quote or a line break, not {self.delimiter!r}",
                [Problem(code="format", field="delimiter", message="one character (or tab, semicolon, pipe)")],
            )

    def open(self, path: Path) -> tuple[TextIO, str]:
        """The file opened for reading as text, and the encoding actually used (a UTF-8 BOM
        wins over the chosen encoding)."""
        try:
            with path.open("rb") as probe:
                start = probe.read(4)
            encoding = self.encoding
            if start.startswith(codecs.BOM_UTF8):
                encoding = "utf-8-sig"
            elif start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise UsageError(
                    f'{path} is UTF-16 text (Excel\'s "Unicode Text"); save it as "CSV UTF-8" or CSV and import that'
                )
            elif encoding == "utf-8":
                encoding = "utf-8-sig"  # the same decoder; it just also drops a BOM
            return path.open(newline="", encoding=encoding), encoding
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None

    def check_fields(self, definition: EntityDef, also: Iterable[str]) -> None:
        """Every name the mapping maps to is a field of ``definition`` (or one of ``also``);
        a ``reference.key`` is checked with the natural keys."""
        fields = definition.fields
        known = {*fields, *also}
        wrong = sorted(
            {
                target
                for target in self.mapping.values()
                if target is not None and target not in known and target.partition(".")[0] not in fields
            }
        )
        if wrong:
            problems = [
                Problem(code="unknown_field", field=name, message=f'{definition.name} has no field "{name}"')
                for name in wrong
            ]
            raise UsageError(
                f"{self.mapping_source} maps columns to {', '.join(wrong)}, which "
                f"{'is no field' if len(wrong) == 1 else 'are no fields'} of {definition.name} "
                f"(fields: {', '.join(fields)})",
                problems,
            )

    def header(self, header: Sequence[str]) -> tuple[list[str], set[int]]:
        """The header with the mapping applied, and the positions of the columns left out."""
        names = [h.strip() for h in header]
        unknown = [column for column in self.mapping if column not in names]
        if unknown:
            problems = [
                Problem(
                    code="unknown_column",
                    pointer="/" + _pointer(column),
                    message=f'the file has no column "{column}"',
                )
                for column in unknown
            ]
            raise UsageError(
                f"{self.mapping_source} names column(s) the file does not have: {', '.join(unknown)} "
                f"(the file's columns: {', '.join(names)})",
                problems,
            )
        skipped = {i for i, name in enumerate(names) if name in self.mapping and self.mapping[name] is None}
        mapped = [self.mapping.get(name) or name for name in names]
        return mapped, skipped


def read_mapping(path: Path) -> dict[str, str | None]:
    """The mapping file at ``path``: a JSON object of CSV column → field name (or null)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    try:
        mapping = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{path} is not JSON: {exc}") from None
    return check_mapping(mapping, str(path))


def check_mapping(mapping: object, source: str) -> dict[str, str | None]:
    """``mapping`` when it is an object of column → field name or null; else a usage error."""
    if not isinstance(mapping, dict):
        raise UsageError(f'{source} must be a JSON object of "CSV column": "field"')
    wrong = [k for k, v in mapping.items() if v is not None and (not isinstance(v, str) or not v.strip())]
    if wrong:
        problems = [
            Problem(code="type", pointer="/" + _pointer(k), message="expected a field name or null") for k in wrong
        ]
        raise UsageError(f"{source}: column(s) {', '.join(wrong)} must map to a field name or null", problems)
    return {str(k).strip(): (v.strip() if isinstance(v, str) else None) for k, v in mapping.items()}


def delimiter_of(text: str | None) -> str:
    """A delimiter option: one character, or tab / comma / semicolon / pipe by name."""
    if text is None or text == "":
        return ","
    return _DELIMITER_NAMES.get(text.lower(), text)


def decode_error(path: Path, encoding: str) -> UsageError:
    """Where ``path`` stops being ``encoding``: the physical line and byte offset, the bytes,
    and an encoding that does read the file when there is one."""
    offset = 0
    decoder = codecs.getincrementaldecoder(encoding)()
    shown = "UTF-8" if encoding.startswith("utf-8") else encoding.upper()
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as exc:
                position = offset + exc.start  # lines end in \n: nothing is buffered between them
                bad = line[exc.start : exc.start + 4].hex(" ")
                hint = _other_encoding(path, encoding)
                message = f"{path} is not {shown}: line {number}, byte {position + 1} (0x{bad}) cannot be read" + (
                    f"; the file reads as {hint}: use --encoding {hint}" if hint else ""
                )
                return UsageError(
                    message, [Problem(code="encoding", line=number, message=f"byte {position + 1} is not {shown}")]
                )
            offset += len(line)
    return UsageError(f"{path} ends in the middle of a {shown} character")


def _other_encoding(path: Path, tried: str) -> str | None:
    for candidate in ("utf-8", "gb18030"):
        if candidate == tried or (candidate == "utf-8" and tried == "utf-8-sig"):
            continue
        try:
            decoder = codecs.getincrementaldecoder(candidate)()
            with path.open("rb") as handle:
                while chunk := handle.read(1 << 20):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return candidate
    return None


def _pointer(name: str) -> str:
    """``name`` as one RFC 6901 JSON pointer token."""
    return name.replace("~", "~0").replace("/", "~1")
