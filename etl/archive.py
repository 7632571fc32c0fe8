"""Nothing lost: every run keeps a copy of its raw input files, their checksums and its issues.

`<archive_dir>/<run_id>/` holds the files exactly as received, `SHA256SUMS` (the format `sha256sum -c`
checks) and `issues.parquet` (the run's rejected rows and warnings), for failed runs too. The loader
reads the archived copy, not the source, so what was checked is exactly what was kept.
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
SUMS_FILE = "SHA256SUMS"
ISSUES_FILE = "issues.parquet"


class ArchiveError(Exception):
    """The archive copy cannot be written (a problem of this machine, not of the extract)."""


@dataclass(frozen=True)
class ArchivedFile:
    """An input file copied into the archive, with what one pass over its bytes found out."""

    name: str
    path: Path  # the archived copy
    sha256: str
    size: int
    newlines: int  # count of "\n" bytes
    crlf: int  # how many of them end a "\r\n"
    ends_with_newline: bool
    problem: str | None  # why the file cannot be read as UTF-8 CSV text, if it cannot

    @property
    def physical_lines(self) -> int:
        """Lines as a text editor numbers them (a final line without "\\n" still counts)."""
        if self.size == 0:
            return 0
        return self.newlines + (0 if self.ends_with_newline else 1)


def archive_file(source: Path, dest: Path) -> ArchivedFile:
    """Copy source to dest, hashing it and checking it is UTF-8 text, in one pass over its bytes.

    Raises OSError when the source cannot be read and ArchiveError when the copy cannot be written;
    a file that is not UTF-8 text is still archived (its problem reported) so the run keeps it.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines = crlf = size = 0
    last = b""
    problem: str | None = None
    with source.open("rb") as fin, _writable(dest) as fout:
        while chunk := fin.read(CHUNK):
            digest.update(chunk)
            try:
                fout.write(chunk)
            except OSError as err:
                raise ArchiveError(f"{dest} cannot be written ({err.strerror or err})") from None
            if problem is None:
                problem = _text_problem(chunk, decoder, newlines)
            newlines += chunk.count(b"\n")
            crlf += chunk.count(b"\r\n") + (last == b"\r" and chunk.startswith(b"\n"))
            size += len(chunk)
            last = chunk[-1:]
    if problem is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            problem = f"is not UTF-8 text (it ends part-way through a character on line {newlines + 1})"
    return ArchivedFile(source.name, dest, digest.hexdigest(), size, newlines, crlf, last == b"\n", problem)


def _writable(dest: Path):  # noqa: ANN202  (a binary file object)
    try:
        return dest.open("wb")
    except OSError as err:
        raise ArchiveError(f"{dest} cannot be written ({err.strerror or err})") from None


def _text_problem(chunk: bytes, decoder: codecs.IncrementalDecoder, newlines_before: int) -> str | None:
    nul = chunk.find(b"\x00")
    if nul >= 0:
        line = newlines_before + chunk.count(b"\n", 0, nul) + 1
        return f"is not a text file (line {line} holds binary data: a NUL byte); export it again as CSV"
    try:
        decoder.decode(chunk)
    except UnicodeDecodeError as err:
        at = max(0, min(err.start, len(chunk)))
        line = newlines_before + chunk.count(b"\n", 0, at) + 1
        bad = err.object[err.start : err.start + 1].hex().upper()
        return (
            f"is not UTF-8 text (line {line} has the byte 0x{bad}, e.g. an accented letter saved in another "
            f"encoding); save it as CSV UTF-8"
        )
    return None


def write_checksums(run_dir: Path, files: list[ArchivedFile]) -> None:
    """SHA256SUMS in the format `sha256sum -c SHA256SUMS` verifies."""
    lines = "".join(f"{f.sha256}  {f.name}\n" for f in sorted(files, key=lambda f: f.name))
    (run_dir / SUMS_FILE).write_text(lines, encoding="utf-8")
