"""The one place where simulations touch the store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ulterior.records import SimulationRecord, SweepRecord, content_hash

if TYPE_CHECKING:
    from ulterior.store import Store

SIMULATION_KIND = "simulation"
SWEEP_KIND = "simulation_sweep"


def simulation_key(model: str, regime: str, config: dict[str, Any]) -> str:
    """Store key of a simulation run: model, regime and a hash of the full configuration."""
    return f"{model}-{regime}-{content_hash(config)[:16]}"


def save_simulation(store: Store, record: SimulationRecord | SweepRecord) -> str:
    """Write a simulation or sweep record to the store and return its key.

    Args:
        store: An open store.
        record: The record to write; a record with the same key is replaced.

    Returns:
        The key under which it was stored.
    """
    if isinstance(record, SimulationRecord):
        key = simulation_key(record.model, record.regime, record.config)
        store.put_document(SIMULATION_KIND, key, record)
    else:
        key = (
            f"{record.model}-{record.parameter}-"
            + content_hash(
                {"base": record.base_config, "values": record.values, "regimes": record.regimes}
            )[:16]
        )
        store.put_document(SWEEP_KIND, key, record)
    return key
