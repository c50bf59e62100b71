from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ulterior.executors._base import Executor, Resources
from ulterior.executors._local import LocalExecutor
from ulterior.executors._ray import RayExecutor


class ExecutorConfig(BaseModel):
    """Which executor runs a job's units, and with what per unit."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    executor: Literal["local", "ray"] = Field(
        default="local", description="local: in this process, in order; ray: tasks on a Ray "
        "cluster.")
    ray_address: str | None = Field(
        default=None, description="Address of a running Ray cluster (None: start a local "
        "one, or use the one this process already joined).")
    resources: Resources = Field(default_factory=Resources,
                                 description="Reserved per unit on Ray.")
    max_retries: int = Field(default=3, ge=0,
                             description="Times a unit whose worker died is run again.")

    def create(self) -> Executor:
        """The executor this config names (Ray is imported only when it is used)."""
        if self.executor == "local":
            if self.ray_address is not None:
                from ulterior.errors import UsageError

                raise UsageError("--ray-address needs --executor ray")
            return LocalExecutor()
        return RayExecutor(address=self.ray_address, resources=self.resources,
                           max_retries=self.max_retries)
