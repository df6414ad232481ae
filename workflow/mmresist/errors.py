"""Typed errors that carry the file, line and field an input failed on."""

from __future__ import annotations


class MmresistError(Exception):
    """Base class of every error mmresist raises on purpose."""


class InputError(MmresistError):
    """An input file is malformed or inconsistent.

    The message names the file, the line (or row), the field and what was expected,
    so that a user can fix the input without reading a traceback.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | str | None = None,
        field: str | None = None,
        expected: str | None = None,
        got: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.expected = expected
        self.got = got
        self.detail = message
        super().__init__(self.format())

    def format(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field '{self.field}'")
        text = ", ".join(where)
        text = f"{text}: {self.detail}" if text else self.detail
        if self.expected:
            text += f" (expected {self.expected}"
            text += f"; got {self.got!r})" if self.got is not None else ")"
        return text


class AnnotationMissingError(InputError):
    """A VCF carries no consequence annotation mmresist can read."""


class KnowledgeError(MmresistError):
    """A curated knowledge table violates its schema or references."""
