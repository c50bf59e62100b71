from __future__ import annotations

import sqlite3

import pytest

from ulterior.errors import UsageError
from ulterior.records import Observation, Run, SubjectInfo
from ulterior.store import Store

INFO = SubjectInfo(spec="fake:aligned", backend="fake", fingerprint="f", prompt_format="plain")


def _run(run_id: str = "r1") -> Run:
    return Run(id=run_id, job="score", subject=INFO, settings={}, settings_hash="s",
               items_source="x", n_items=1, ulterior_version="0")


def _obs(key: str, item: str = "i1") -> Observation:
    return Observation(key=key, subject="f", item_id=item, item_source="src",
                       condition="order=original", prompt_format="plain", answers=("(A)", "(B)"),
                       matching=0, logprobs=(-0.1, -2.0), elapsed_s=0.01, settings_hash="s")


def test_store_uses_wal_and_is_migrated(store_path) -> None:
    with Store.open(store_path) as store:
        assert store.schema_version == 1
    mode = sqlite3.connect(store_path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_observations_round_trip_and_cache(store_path) -> None:
    with Store.open(store_path) as store:
        assert store.start_run(_run()) is None
        store.add_observations("r1", [_obs("k1"), _obs("k2", "i2")])
        store.finish_run("r1")
    with Store.open(store_path) as store:
        assert store.get_run("r1")[1] == "complete"
        assert set(store.cached(["k1", "k2", "k3"])) == {"k1", "k2"}
        assert [o.item_id for o in store.observations("r1")] == ["i1", "i2"]
        assert store.observations("r1")[0] == _obs("k1").model_copy(
            update={"created": store.observations("r1")[0].created})
        # a second run reuses a cached observation by linking it
        assert store.start_run(_run("r2")) is None
        store.link("r2", ["k2"])
        assert [o.key for o in store.observations("r2")] == ["k2"]
        assert store.start_run(_run("r1")) == "complete"


def test_cached_handles_more_keys_than_sqlite_parameters(store_path) -> None:
    with Store.open(store_path) as store:
        store.start_run(_run())
        store.add_observations("r1", [_obs(f"k{i}", f"i{i}") for i in range(1200)])
        assert len(store.cached([f"k{i}" for i in range(1500)])) == 1200


def test_documents(store_path) -> None:
    with Store.open(store_path) as store:
        store.put_document("sim", "a", INFO)
        store.put_document("sim", "a", INFO)
        assert store.get_documents("sim") == [INFO.model_dump(mode="json")]


def test_unopenable_store_is_a_usage_error(tmp_path) -> None:
    bad = tmp_path / "not-a-db.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UsageError, match="--store"):
        Store(bad)
