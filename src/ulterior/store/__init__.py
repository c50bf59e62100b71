"""Where results live: an SQLite store (WAL) with a content-hash cache, and artifacts."""

from ulterior.store._paths import default_cache_dir, default_organisms_dir, default_store_path
from ulterior.store._sqlite import RunStatus, Store

__all__ = ["RunStatus", "Store", "default_cache_dir", "default_organisms_dir",
           "default_store_path"]
