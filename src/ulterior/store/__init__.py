"""Where results live: an SQLite store (WAL) with a content-hash cache, and artifacts.

Output files beside them are checked before any work and written whole after the commit.
"""

from ulterior.store._files import write_atomic, write_outputs
from ulterior.store._paths import (
    check_output_dir,
    check_output_file,
    check_store_path,
    default_cache_dir,
    default_organisms_dir,
    default_store_path,
)
from ulterior.store._sqlite import RunStatus, Store, StoreRecords

__all__ = [
    "RunStatus",
    "Store",
    "StoreRecords",
    "check_output_dir",
    "check_output_file",
    "check_store_path",
    "default_cache_dir",
    "default_organisms_dir",
    "default_store_path",
    "write_atomic",
    "write_outputs",
]
