from __future__ import annotations

import os
from pathlib import Path

from ulterior.errors import UsageError

STORE_ENV = "ULTERIOR_STORE"
CACHE_ENV = "ULTERIOR_CACHE"


def default_store_path() -> Path:
    """Return the store used when none is given: `$ULTERIOR_STORE`, else the user data dir."""
    if env := os.environ.get(STORE_ENV):
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("ulterior")) / "ulterior.sqlite"


def default_cache_dir() -> Path:
    """Return where converted models are cached: `$ULTERIOR_CACHE`, else the user cache dir."""
    if env := os.environ.get(CACHE_ENV):
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("ulterior"))


ORGANISMS_ENV = "ULTERIOR_ORGANISMS"


def default_organisms_dir() -> Path:
    """Return where trained organisms live: `$ULTERIOR_ORGANISMS`, else the user data dir."""
    if env := os.environ.get(ORGANISMS_ENV):
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("ulterior")) / "organisms"


def _can_write_in(folder: Path) -> bool:
    """Whether a file can be made in ``folder`` (tried, not guessed: root ignores modes)."""
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".ulterior-check-"):
            return True
    except OSError:
        return False


def _writable_folder(folder: Path, option: str, what: Path) -> None:
    """``folder`` must exist, be a folder, and be writable, for ``option``'s ``what``."""
    if not folder.exists():
        raise UsageError(f"{option} {what}: folder {folder} does not exist; create it first "
                         f"or choose another {option}")
    if not folder.is_dir():
        raise UsageError(f"{option} {what}: {folder} is a file, not a folder; choose another "
                         f"{option}")
    if not _can_write_in(folder):
        raise UsageError(f"{option} {what}: folder {folder} is not writable; choose another "
                         f"{option}")


def check_output_dir(path: Path, option: str = "--out") -> Path:
    """Check, before any work, that ``path`` can become an output folder; return it.

    The folder may exist (and is then written into) or not (and is then made), but its
    parent must exist: a typo in a parent is reported rather than made into folders.

    Raises:
        UsageError: ``path`` is a file, its parent is missing, or either is not writable.
    """
    path = Path(path).expanduser()
    if path.exists():
        if not path.is_dir():
            raise UsageError(f"{option} {path} is a file; give a folder (it is made if "
                             "missing)")
        _writable_folder(path, option, path)
    else:
        _writable_folder(path.absolute().parent, option, path)
    return path


def check_output_file(path: Path, option: str) -> Path:
    """Check, before any work, that the file ``path`` can be written; return it.

    Raises:
        UsageError: ``path`` is a folder, its folder is missing, or it is not writable.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give the path of a file")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{option} {path} is not writable; choose another {option}")
    _writable_folder(path.absolute().parent, option, path)
    return path


def check_store_path(path: Path, option: str = "--store") -> Path:
    """Check, before any work, that a store can live at ``path``; return it.

    Unlike an output, a store's missing folders are made (the default one lives in the
    user data dir), so the nearest existing folder above it must be writable.

    Raises:
        UsageError: ``path`` is a folder or cannot be written.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give the path of a file in it, e.g. "
                         f"{path / 'ulterior.sqlite'}")
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            raise UsageError(f"{option} {path} is not writable; choose another {option}")
        _writable_folder(path.absolute().parent, option, path)  # WAL files go beside it
        return path
    above = path.absolute().parent
    while not above.exists():
        above = above.parent
    _writable_folder(above, option, path)
    return path
