"""Output files written so that a reader never sees half of one, or half of a set."""

from __future__ import annotations

from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so that ``path`` is either the old file or the whole new one."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be shared
    os.replace(tmp, path)


def write_outputs(out: Path, files: dict[str, str]) -> None:
    """Write several files into ``out`` so that they appear together or not at all.

    Each is written to a temporary file first; only when all are written are they renamed
    into place. Call it after the store commit, so a failure never leaves files whose
    records are missing (and the store holds nothing the files contradict).
    """
    import os
    import tempfile

    out.mkdir(parents=True, exist_ok=True)
    written: list[tuple[str, Path]] = []
    try:
        for name, text in files.items():
            fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{name}.")
            written.append((tmp, out / name))
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be shared
    except BaseException:
        for tmp, _ in written:
            Path(tmp).unlink(missing_ok=True)
        raise
    for tmp, final in written:
        os.replace(tmp, final)
