"""Help pages: each command's summary in its group's list is its docstring's whole first
sentence (click would cut it at about 45 columns and end it with "...")."""

from __future__ import annotations

import click


def first_sentence(text: str | None) -> str:
    """The first sentence of the first paragraph of ``text``, on one line."""
    if not text:
        return ""
    paragraph = text.strip().split("\n\n", 1)[0]
    words: list[str] = []
    for word in paragraph.split():
        words.append(word)
        if word.endswith("."):
            break
    return " ".join(words)


def set_summaries(command: click.Command) -> None:
    """Give ``command`` and every command under it a summary (``short_help``) that is the
    first sentence of its help, unless it has one already."""
    if command.short_help is None and command.help:
        command.short_help = first_sentence(command.help)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            set_summaries(sub)
