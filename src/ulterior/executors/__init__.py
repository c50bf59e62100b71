"""Where units of work run: in this process, in order, or as tasks on a Ray cluster.

Either way the driver alone writes the store: a Ray worker computes on a private store and
returns what it recorded, and the driver takes it in idempotently.
"""

from ulterior.executors._base import Executor, Resources, Work
from ulterior.executors._config import ExecutorConfig
from ulterior.executors._local import LocalExecutor
from ulterior.executors._ray import RayExecutor, run_isolated

__all__ = [
    "Executor",
    "ExecutorConfig",
    "LocalExecutor",
    "RayExecutor",
    "Resources",
    "Work",
    "run_isolated",
]
