from __future__ import annotations

import os
from pathlib import Path

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
