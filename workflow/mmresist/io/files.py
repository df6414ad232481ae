"""Small file helpers: atomic writes with private permissions, and content hashes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mmresist.errors import InputError


@dataclass(frozen=True)
class OutputPermissions:
    """Modes of the folders and files mmresist writes. Reports name patients, so by default
    nobody but the owner and the owner's group may read them, whatever the umask
    (config ``output_permissions``)."""

    dirs: int = 0o750
    files: int = 0o640

    @property
    def umask(self) -> int:
        """The umask that gives files and folders made by other programs (logs, bcftools
        output, Snakemake's folders) no access beyond these modes."""
        return 0o777 & ~(self.dirs & (self.files | 0o111))

    def arguments(self) -> str:
        """The CLI options that carry these modes to a job."""
        return f"--dir-mode {self.dirs:04o} --file-mode {self.files:04o}"


def parse_mode(text: str | int, *, field: str) -> int:
    """An octal mode such as ``"0750"`` or ``"640"``; no set-id or sticky bits."""
    value = str(text).strip()
    if not value or len(value) > 4 or any(char not in "01234567" for char in value):
        raise InputError("expected an octal mode such as 0750", field=field, got=str(text))
    mode = int(value, 8)
    if mode > 0o777:
        raise InputError("expected permission bits only (at most 0777)", field=field, got=value)
    return mode


def output_permissions(setting: dict[str, str] | None) -> OutputPermissions:
    """The modes of config ``output_permissions`` ({dirs, files}); defaults fill the rest."""
    setting = setting or {}
    default = OutputPermissions()
    return OutputPermissions(
        dirs=parse_mode(
            setting.get("dirs", f"{default.dirs:04o}"), field="output_permissions.dirs"
        ),
        files=parse_mode(
            setting.get("files", f"{default.files:04o}"), field="output_permissions.files"
        ),
    )


_PERMISSIONS = OutputPermissions()


def set_output_permissions(permissions: OutputPermissions) -> None:
    """Modes for the rest of this process (the CLI sets them from its options)."""
    global _PERMISSIONS
    _PERMISSIONS = permissions


def current_permissions() -> OutputPermissions:
    return _PERMISSIONS


def make_dirs(path: str | os.PathLike) -> None:
    """Create ``path`` and its missing parents with the folder mode; folders that already
    exist are left as they are (they may not be ours)."""
    folder = Path(path)
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:  # made meanwhile by a parallel job
            continue
        os.chmod(folder, _PERMISSIONS.dirs)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename.

    A killed job then leaves either the old file or none, never a truncated one that
    looks complete.
    """
    target = Path(path)
    make_dirs(target.parent)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, _PERMISSIONS.files)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
