"""The audit's default defection probe: layer choice, fit on the subject, cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from probe_testing import planted

from ulterior.errors import UsageError
from ulterior.probes import LogisticProbe, candidate_layers, default_probe, select_layer
from ulterior.probes._default import grouped_folds
from ulterior.runner import RunContext
from ulterior.store import Store


def test_candidate_layers_are_fractions_of_the_depth() -> None:
    assert candidate_layers(30) == (7, 11, 15, 18, 22)  # smollm2-135m
    assert candidate_layers(18) == (4, 6, 9, 11, 13)  # gemma3-270m
    assert candidate_layers(2) == (0, 1)
    assert candidate_layers(1) == (0,)
    with pytest.raises(UsageError):
        candidate_layers(0)


def test_grouped_folds_keep_groups_together() -> None:
    groups = [f"pair-{i // 2}" for i in range(48)]
    folds = grouped_folds(groups, 4, np.random.default_rng(0))
    assert len(folds) == 4 and sorted(np.concatenate(folds).tolist()) == list(range(48))
    for fold in folds:
        assert len(fold) == 12
        assert {groups[i] for i in fold}.isdisjoint(
            {groups[i] for other in folds if other is not fold for i in other})


def _pairs(n: int, d: int, seed: int, strength: float) -> tuple[np.ndarray, np.ndarray,
                                                                  list[str]]:
    X, y, _ = planted(n, d, seed, strength)
    return X, y, [f"g{i // 2}" for i in range(n)]


def test_select_layer_finds_the_informative_layer() -> None:
    X, y, groups = _pairs(64, 8, 0, strength=2.0)
    noise = np.random.default_rng(1).normal(size=X.shape)
    features = {0: noise, 1: noise[:, ::-1].copy(), 3: X}  # only layer 3 carries the label
    choice = select_layer(features, y, groups, n_layers=4, rng=np.random.default_rng(0),
                          kind="diff-mean")
    assert choice.layer == 3
    assert choice.cv_auroc[3] > 0.9 > max(choice.cv_auroc[0], choice.cv_auroc[1])
    assert set(choice.cv_se) == {0, 1, 3}


def test_select_layer_breaks_ties_toward_the_middle() -> None:
    X, y, groups = _pairs(64, 8, 0, strength=2.0)
    features = {layer: X for layer in (1, 2, 3)}  # the same evidence at every layer
    choice = select_layer(features, y, groups, n_layers=4, rng=np.random.default_rng(0),
                          kind="diff-mean")
    assert choice.layer == 2  # int(0.5 * 4)
    assert len(set(choice.cv_auroc.values())) == 1


def _fits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count every logistic fit (cross-validation folds and the final probe)."""
    calls: list[int] = []
    original = LogisticProbe._fit

    def counting(self: LogisticProbe, X: np.ndarray, y: np.ndarray) -> None:
        calls.append(len(y))
        original(self, X, y)

    monkeypatch.setattr(LogisticProbe, "_fit", counting)
    return calls


def test_default_probe_is_fitted_once_then_reused(tiny_subject: Any, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    fits = _fits(monkeypatch)
    with Store.open(tmp_path / "s.sqlite") as store:
        context = RunContext(store=store, seed=0, show_progress=False)
        first = default_probe(tiny_subject, context)
        assert not first.reused and len(fits) == 2 * 4 + 1  # 2 layers x 4 folds + final
        assert first.directory.parent == store.artifact_dir / "probes"
        info = first.saved.info
        assert info.train_datasets == ("defection",) and info.kind == "logistic"
        assert info.layer == first.choice.layer and info.layer in candidate_layers(2)
        assert info.subject.fingerprint == tiny_subject.info.fingerprint
        assert info.n_train == 192 and info.test_metrics[0].n_positive == 32  # 96/32 pairs
        assert "default defection probe" in first.describe()
        weights = first.directory / "probe.safetensors"
        stamp = weights.stat().st_mtime_ns

        second = default_probe(tiny_subject, context)
        assert second.reused and len(fits) == 9  # nothing fitted again
        assert weights.stat().st_mtime_ns == stamp
        assert second.directory == first.directory and second.choice == first.choice
        np.testing.assert_array_equal(second.saved.probe.direction_,
                                      first.saved.probe.direction_)
        assert any("reused" in note for note in second.notes())
        assert [d["layer"] for d in store.get_documents("probe")] == [info.layer]

        selection = json.loads((first.directory / "selection.json").read_text())
        assert selection["layer"] == info.layer
        assert selection["key"].startswith(first.directory.name.removeprefix("defection-"))

        # a broken cache entry is fitted again
        weights.unlink()
        again = default_probe(tiny_subject, context)
        assert not again.reused and len(fits) == 18 and weights.is_file()
        assert again.layer == first.layer and again.directory == first.directory


def test_the_cache_key_covers_settings_data_and_format(tiny_subject: Any, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from ulterior.models import PromptFormat
    from ulterior.probes import ProbeJob
    from ulterior.probes._default import cache_key
    from ulterior.probes._session import ProbeSession

    with Store.open(tmp_path / "s.sqlite") as store:
        def key(seed: int = 0, **settings: Any) -> str:
            context = RunContext(store=store, seed=seed, show_progress=False)
            return cache_key(ProbeSession(ProbeJob(seed=seed, **settings), tiny_subject,
                                          context))

        base = key()
        assert key() == base
        assert len({base, key(seed=1), key(fpr=0.05), key(position="last")}) == 4
        # capture computes in the subject's own mode, which the key names
        monkeypatch.setattr(tiny_subject, "dtype", "mixed")
        assert key() != base
        monkeypatch.setattr(tiny_subject, "dtype", "float32")
        assert key() == base
        monkeypatch.setattr(tiny_subject, "format", PromptFormat("plain"))  # other texts
        assert key() != base
