"""Notes on a record: anyone who may read the record may add one; notes are kept as written
(no edit, no delete: a timeline is a record of what was said)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.clock import utcnow
from engine.errors import Problem, RecordValidationError
from engine.storage import notes
from engine.users import Actor

if TYPE_CHECKING:
    from engine.runtime import CrmEngine

#: The longest note, in characters.
MAX_NOTE = 5000


class NoteService:
    def __init__(self, engine: CrmEngine) -> None:
        self._engine = engine

    def add(self, entity: str, record_id: int, body: str, *, actor: Actor) -> int:
        """Add a note to the record (which ``actor`` must be able to read); its id."""
        self._engine.records.get(entity, record_id, actor=actor)  # NotFoundError when not theirs to read
        text = body.strip()
        if not text or len(text) > MAX_NOTE:
            message = "write the note" if not text else f"a note has at most {MAX_NOTE} characters"
            code = "required" if not text else "max_length"
            raise RecordValidationError([Problem(code=code, field="body", message=message)])
        row = {"entity": entity, "record_id": record_id, "body": text, "author": actor.name, "at": utcnow()}
        with self._engine.db.write() as conn:
            inserted = conn.execute(notes.insert().values(row)).inserted_primary_key
        return int(inserted[0]) if inserted else 0
