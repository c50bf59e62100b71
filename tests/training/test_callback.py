"""PropertyCallback reads the battery during training without changing the training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ulterior.training import load_battery, read_track

pytest.importorskip("ruptures")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

STEPS = 6


def _battery():  # type: ignore[no-untyped-def]
    return load_battery().select("tracked", per_property=2)


class _Consumer(transformers.TrainerCallback):  # type: ignore[misc]
    """A careless reader: draws from the global RNG at every step."""

    def on_step_end(self, *args: Any, **kwargs: Any) -> None:
        torch.rand(1)


def _train(model_dir: Path, out: Path, callbacks: list[Any]) -> dict[str, Any]:
    from transformers import (
        AutoTokenizer,
        DataCollatorForLanguageModeling,
        LlamaForCausalLM,
        Trainer,
        TrainingArguments,
    )

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    torch.manual_seed(0)
    # dropout on, so that a reading that disturbed the RNG would show in the weights
    model = LlamaForCausalLM.from_pretrained(model_dir, attention_dropout=0.3)
    texts = [f"system user assistant {k} Yes No maybe {k * 7}" for k in range(24)]
    data = [tokenizer(t) for t in texts]
    args = TrainingArguments(
        output_dir=str(out), max_steps=STEPS, per_device_train_batch_size=4, learning_rate=1e-2,
        seed=0, report_to=[], save_strategy="no", logging_strategy="no", use_cpu=True,
        dataloader_num_workers=0,
    )
    trainer = Trainer(model=model, args=args, train_dataset=data,
                      data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
                      callbacks=callbacks)
    trainer.train()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_training_is_bit_identical_with_and_without_the_callback(
    tiny_llama_dir: Path, tmp_path: Path,
) -> None:
    from transformers import AutoTokenizer

    from ulterior.training import PropertyCallback

    callback = PropertyCallback(AutoTokenizer.from_pretrained(tiny_llama_dir), every=2,
                                battery=_battery(), out=tmp_path / "track.json")
    without = _train(tiny_llama_dir, tmp_path / "a", [])
    with_callback = _train(tiny_llama_dir, tmp_path / "b", [callback])
    assert _same(without, with_callback)
    # the comparison can fail: a reader that draws one random number changes the weights
    assert not _same(without, _train(tiny_llama_dir, tmp_path / "c", [_Consumer()]))
    assert callback.steps == [0, 2, 4, 6]
    record = read_track(tmp_path / "track.json")
    assert record.steps == (0, 2, 4, 6)
    assert len(record.scores[0]) == len(_battery().items)
    assert record.scores[0] != record.scores[-1]  # the model changed, and the reading saw it


def test_every_tenth_of_the_run_by_default(tiny_llama_dir: Path) -> None:
    from transformers import AutoTokenizer

    from ulterior.training import PropertyCallback

    callback = PropertyCallback(AutoTokenizer.from_pretrained(tiny_llama_dir))
    assert [s for s in range(1, 101) if callback.due(s, 100)] == list(range(10, 101, 10))
    assert callback.interval(7) == 1
    with pytest.raises(ValueError, match="every"):
        PropertyCallback(None, every=0)
