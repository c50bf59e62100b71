from __future__ import annotations

from pathlib import Path

from ulterior.sims import GradientConfig, simulate_gradient
from ulterior.sims._storage import SIMULATION_KIND, save_simulation
from ulterior.store import Store


def test_save_and_read_back(tmp_path: Path) -> None:
    record = simulate_gradient(GradientConfig(seeds=2, steps=20, train_steps=5)).to_record()
    with Store.open(tmp_path / "s.sqlite") as store:
        key = save_simulation(store, record)
        save_simulation(store, record)  # same run: replaced, not duplicated
        docs = store.get_documents(SIMULATION_KIND)
    assert key.startswith("gradient-R4-")
    assert len(docs) == 1 and docs[0]["final"] == record.final
