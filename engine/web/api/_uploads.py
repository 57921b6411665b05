"""Uploaded bundles and CSV files, written into a temporary directory and nowhere else.

A bundle comes as a zip file or as JSON ``{"files": {"path/name.json": {...document...}}}``.
Every path is checked before anything is written: relative, forward slashes, no ``..``, no
drive letters, no links; sizes and counts are limited (a zip's declared sizes are not
trusted: reading stops at the limit). ``extends`` entries that are paths must stay inside
the upload too, so a bundle cannot make the server read its own directories.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from tempfile import TemporaryDirectory
from typing import IO, Any

from flask import request
from werkzeug.datastructures import FileStorage

from engine.errors import Problem

from .._problems import PayloadTooLargeError, UnsupportedMediaTypeError, UploadError
from .._requests import is_json_mimetype, parse_json

MAX_FILES = 500
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_TOTAL_BYTES = 16 * 1024 * 1024
MAX_PATH_LENGTH = 255
MAX_DEPTH = 8
ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream")
MANIFEST = "bundle.json"
#: The name of the upload's root directory: problems in its files are reported without it.
_ROOT = "upload"
_CHUNK = 64 * 1024
_SEGMENT = re.compile(r"[^\x00-\x1f\\:*?\"<>|]+")


@dataclass(frozen=True)
class UploadedBundle:
    """A bundle unpacked on disk: ``path`` to load, ``root`` the directory of the upload."""

    path: Path
    root: Path

    def display_name(self, file: str | None) -> str | None:
        """A problem's file as the client named it (without the temporary root)."""
        if file is not None and file.startswith(_ROOT + "/"):
            return file[len(_ROOT) + 1 :]
        return file


def _unsafe(path: str, message: str) -> UploadError:
    return UploadError(f"{path!r}: {message}", [Problem(code="unsafe_path", file=path, message=message)])


def safe_path(name: str) -> PurePosixPath:
    """``name`` as a relative path inside the upload, or :class:`UploadError`."""
    if not name or len(name) > MAX_PATH_LENGTH:
        raise _unsafe(name, f"paths are 1 to {MAX_PATH_LENGTH} characters")
    if name.startswith("/") or "\\" in name:
        raise _unsafe(name, "use relative paths with forward slashes")
    parts = name.split("/")
    if len(parts) > MAX_DEPTH:
        raise _unsafe(name, f"nests deeper than {MAX_DEPTH} folders")
    for part in parts:
        if part in ("", ".", ".."):
            raise _unsafe(name, "empty, '.' and '..' path segments are not allowed")
        if not _SEGMENT.fullmatch(part):
            raise _unsafe(name, 'has a character paths may not hold (control characters, \\ : * ? " < > |)')
    return PurePosixPath(*parts)


def _wanted(path: PurePosixPath) -> bool:
    # only definition documents are written; editor and archiver leftovers are skipped
    return path.suffix == ".json" and not any(p.startswith(".") or p == "__MACOSX" for p in path.parts)


class _Writer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = 0
        self.total = 0
        self.seen: set[str] = set()

    def add(self, name: str, stream: IO[bytes]) -> None:
        path = safe_path(name)
        if not _wanted(path):
            return
        if path.as_posix().lower() in self.seen:
            raise _unsafe(name, "appears twice in the upload")
        self.seen.add(path.as_posix().lower())
        self.files += 1
        if self.files > MAX_FILES:
            raise PayloadTooLargeError(f"the upload holds more than {MAX_FILES} files")
        target = self.root.joinpath(*path.parts)
        if not os.path.abspath(target).startswith(os.path.abspath(self.root) + os.sep):
            raise _unsafe(name, "leaves the upload")
        target.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        with target.open("xb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                self.total += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise PayloadTooLargeError(f"{name} is larger than {MAX_FILE_BYTES // 1024 // 1024} MB")
                if self.total > MAX_TOTAL_BYTES:
                    raise PayloadTooLargeError(f"the upload is larger than {MAX_TOTAL_BYTES // 1024 // 1024} MB")
                out.write(chunk)


def _unzip(data: bytes, writer: _Writer) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UploadError(
            f"the upload is not a readable zip file ({exc})", [Problem(code="invalid_zip", message=str(exc))]
        ) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_FILES * 4:
            raise PayloadTooLargeError(f"the zip holds more than {MAX_FILES * 4} entries")
        for info in entries:
            # before the directory test: a link stored under a folder's name is a link too
            if stat.S_ISLNK(info.external_attr >> 16):
                raise _unsafe(info.filename, "links are not allowed in an upload")
            if info.is_dir():
                safe_path(info.filename.rstrip("/"))
                continue
            if info.flag_bits & 0x1:
                raise _unsafe(info.filename, "is encrypted")
            try:
                with archive.open(info) as stream:
                    writer.add(info.filename, stream)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError) as exc:
                if isinstance(exc, FileExistsError):
                    raise _unsafe(info.filename, "appears twice in the upload") from None
                raise UploadError(
                    f"{info.filename}: cannot be unpacked ({exc})",
                    [Problem(code="invalid_zip", file=info.filename, message=str(exc))],
                ) from None


def _from_json(body: Any, writer: _Writer) -> None:
    files = body.get("files") if isinstance(body, dict) else None
    if not isinstance(files, dict) or not files:
        raise UploadError(
            'send {"files": {"bundle.json": {...}, "account.json": {...}}}',
            [Problem(code="type", pointer="/files", message="expected an object of path → document")],
        )
    for name, document in files.items():
        if not str(name).endswith(".json"):
            raise _unsafe(str(name), "definition files end in .json")
        writer.add(str(name), io.BytesIO(json.dumps(document, ensure_ascii=False).encode("utf-8")))


def _bundle_dir(root: Path) -> Path:
    if (root / MANIFEST).is_file():
        return root
    tops = [p for p in root.iterdir() if p.is_dir() and (p / MANIFEST).is_file()]
    if len(tops) == 1:
        return tops[0]
    raise UploadError(
        f"the upload needs a {MANIFEST} at its top, or in its only folder",
        [Problem(code="no_bundle", file=MANIFEST, message=f"no {MANIFEST} found at the top of the upload")],
    )


def _check_extends(root: Path) -> None:
    """Refuse ``extends`` paths that leave the upload (preset names are fine)."""
    for manifest in root.rglob(MANIFEST):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            continue  # the loader reports it, with its file and position
        extends = data.get("extends") if isinstance(data, dict) else None
        for index, entry in enumerate(extends if isinstance(extends, list) else ()):
            # the loader reads entries starting with "." or "/" as paths, anything else as a preset name
            if not isinstance(entry, str) or not entry.startswith((".", "/")):
                continue
            target = os.path.abspath(manifest.parent / entry)
            inside = target == str(root) or target.startswith(str(root) + os.sep)
            if entry.startswith("/") or not inside:
                file = manifest.relative_to(root).as_posix()
                raise UploadError(
                    f"{file}: extends {entry!r}, which is outside the upload; extend a preset by name "
                    "or a bundle inside the upload",
                    [
                        Problem(
                            code="unsafe_path",
                            file=file,
                            pointer=f"/extends/{index}",
                            message="extends a path outside the upload",
                        )
                    ],
                )


@contextmanager
def bundle_on_disk(*, archive: bytes | None = None, body: Any = None) -> Iterator[UploadedBundle]:
    """A bundle sent as zip bytes (``archive``) or in the JSON form (``body``:
    ``{"files": {path: document}}``), unpacked into a temporary directory for the duration
    of the ``with`` block, after every check an upload gets (safe paths, sizes, at least one
    definition file, ``extends`` naming presets or folders inside it)."""
    with TemporaryDirectory(prefix="crm-upload-") as folder:
        root = Path(folder) / _ROOT
        root.mkdir()
        writer = _Writer(root)
        if archive is not None:
            _unzip(archive, writer)
        else:
            _from_json(body, writer)
        if writer.files == 0:
            raise UploadError(
                "the upload holds no .json definition files",
                [Problem(code="no_bundle", message="no .json files in the upload")],
            )
        _check_extends(root)
        yield UploadedBundle(_bundle_dir(root), root)


def _form_file(name: str, what: str) -> FileStorage:
    """The file sent as the multipart form field ``name``; ``what`` names it in the error."""
    upload = request.files.get(name)
    if upload is None:
        raise UploadError(
            f'send {what} as the form field "{name}"',
            [Problem(code="required", field=name, message=f"no file named {name}")],
        )
    return upload


@contextmanager
def uploaded_bundle() -> Iterator[UploadedBundle]:
    """The bundle in the request body (zip, multipart ``bundle`` file, or JSON), on disk
    for the duration of the ``with`` block."""
    mimetype = request.mimetype
    if is_json_mimetype(mimetype):
        source = bundle_on_disk(body=parse_json(request.get_data(), what="the request body"))
    elif mimetype in ZIP_TYPES:
        source = bundle_on_disk(archive=request.get_data())
    elif mimetype == "multipart/form-data":
        upload = _form_file("bundle", "the zip file")
        source = bundle_on_disk(archive=upload.read(MAX_TOTAL_BYTES + 1))
    else:
        raise UnsupportedMediaTypeError(
            f"send the bundle as application/zip, multipart/form-data or application/json "
            f"(the request says {mimetype or 'none'})"
        )
    with source as bundle:
        yield bundle


@contextmanager
def uploaded_csv() -> Iterator[Path]:
    """The CSV in the request body (``text/csv``, or multipart field ``file``) in a temporary file."""
    with TemporaryDirectory(prefix="crm-import-") as folder:
        path = Path(folder) / "upload.csv"
        mimetype = request.mimetype
        if mimetype in ("text/csv", "text/plain", "application/csv"):
            stream: IO[bytes] = request.stream
        elif mimetype == "multipart/form-data":
            upload = _form_file("file", "the CSV")
            stream = upload.stream
            name = _file_name(upload.filename)
            if name is not None:  # the import list shows the file's own name
                path = Path(folder) / name
        else:
            raise UnsupportedMediaTypeError(
                f"send the CSV as text/csv or multipart/form-data (the request says {mimetype or 'none'})"
            )
        with path.open("wb") as out:
            while chunk := stream.read(_CHUNK):
                out.write(chunk)
        yield path


def _file_name(sent: str | None) -> str | None:
    """The last part of an uploaded file's name when it is a plain, printable file name."""
    name = (sent or "").replace("\\", "/").rsplit("/", 1)[-1]
    if name in ("", ".", "..") or not name.isprintable():
        return None
    try:
        return name if len(name.encode("utf-8")) <= 200 else None
    except UnicodeEncodeError:  # a lone surrogate
        return None


def problems_in_upload(problems: tuple[Problem, ...], bundle: UploadedBundle) -> list[Problem]:
    """Problems naming files as the client did."""
    return [replace(p, file=bundle.display_name(p.file)) for p in problems]
