"""Nothing ulterior loads can run code: no pickles, no model code, trust_remote_code=False."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

import ulterior
from ulterior.errors import ModelLoadError, UsageError

SRC = Path(ulterior.__file__).parent


def _sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_nothing_in_ulterior_loads_a_pickle() -> None:
    loads = re.compile(r"torch\.load\(|pickle\.loads?\(|import pickle|joblib|dill|"
                       r"allow_pickle=True|weights_only=False")
    found = [f"{p.relative_to(SRC)}:{n}" for p in _sources()
             for n, line in enumerate(p.read_text().splitlines(), 1) if loads.search(line)]
    assert found == []


def test_every_from_pretrained_call_pins_trust_remote_code_false() -> None:
    calls = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "from_pretrained"):
                pinned = [k for k in node.keywords if k.arg == "trust_remote_code"
                          and isinstance(k.value, ast.Constant) and k.value.value is False]
                calls.append((f"{path.relative_to(SRC)}:{node.lineno}", bool(pinned)))
    assert calls and all(pinned for _, pinned in calls), calls


def test_a_model_folder_that_needs_its_own_code_is_refused(tmp_path: Path) -> None:
    from ulterior.models._hf_load import check_model_dir

    (tmp_path / "config.json").write_text(json.dumps(
        {"model_type": "mine", "auto_map": {"AutoModelForCausalLM": "modeling_mine.Mine"}}))
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(ModelLoadError, match="trust_remote_code=False") as caught:
        check_model_dir(tmp_path)
    assert "\n" not in str(caught.value) and "config.json" in str(caught.value)


def _training(tmp: Path) -> tuple[object, object, object]:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min((s + 1) / 3, 1.0))
    return model, optimizer, scheduler


def test_checkpoints_keep_optimizer_and_schedule_as_safetensors_and_json(
        tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from ulterior.organisms._train import TrainState, _load_checkpoint, _save_checkpoint

    model, optimizer, scheduler = _training(tmp_path)
    for _ in range(3):
        model(torch.randn(2, 4)).sum().backward()  # type: ignore[operator]
        optimizer.step()  # type: ignore[attr-defined]
        scheduler.step()  # type: ignore[attr-defined]
        optimizer.zero_grad()  # type: ignore[attr-defined]
    folder = tmp_path / "step-000003"
    _save_checkpoint(folder, model, optimizer, scheduler, TrainState(step=3, losses=[1.0]))
    assert sorted(p.name for p in folder.iterdir()) == [
        "optimizer.json", "optimizer.safetensors", "state.json", "weights.safetensors"]
    fresh, fresh_optimizer, fresh_scheduler = _training(tmp_path)
    state = _load_checkpoint(folder, fresh, fresh_optimizer, fresh_scheduler)
    assert state.step == 3 and state.losses == [1.0]
    saved, loaded = optimizer.state_dict(), fresh_optimizer.state_dict()  # type: ignore
    assert saved["param_groups"] == loaded["param_groups"]
    for index, values in saved["state"].items():
        for name, value in values.items():
            assert torch.equal(value, loaded["state"][index][name])
    assert scheduler.state_dict() == fresh_scheduler.state_dict()  # type: ignore
    for a, b in zip(model.parameters(), fresh.parameters(), strict=True):  # type: ignore
        assert torch.equal(a, b)


def test_a_checkpoint_with_a_pickled_optimizer_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from ulterior.organisms._train import TrainState, _load_checkpoint, _save_checkpoint

    model, optimizer, scheduler = _training(tmp_path)
    folder = tmp_path / "step-000001"
    _save_checkpoint(folder, model, optimizer, scheduler, TrainState(step=1))
    (folder / "optimizer.json").unlink()
    (folder / "optimizer.safetensors").rename(folder / "optimizer.pt")
    with pytest.raises(UsageError, match="never loaded"):
        _load_checkpoint(folder, model, optimizer, scheduler)
    folder = tmp_path / "step-000002"
    _save_checkpoint(folder, model, optimizer, scheduler, TrainState(step=2))
    (folder / "optimizer.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(UsageError, match="unreadable optimizer state"):
        _load_checkpoint(folder, model, optimizer, scheduler)
