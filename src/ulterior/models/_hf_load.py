"""Finding, converting and loading local transformers models (safetensors or GGUF)."""

from __future__ import annotations

import importlib
import importlib.util
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ulterior.errors import MissingDependencyError, ModelLoadError
from ulterior.models._device import Placement
from ulterior.models._fingerprint import cached_sha256, directory_fingerprint

HF_INSTALL_HINT = (
    "install the white-box backend: pip install torch==2.13.0 && pip install 'ulterior[hf]' "
    "(torch first, or pip pulls CUDA wheels)"
)
_SOURCE_FILE = "ulterior-source.json"


def import_torch() -> Any:
    """Import torch and transformers, or say which `pip install` provides them."""
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(f"{exc.name} is missing; {HF_INSTALL_HINT}") from exc
    return torch


def convert_gguf(gguf_path: Path, cache_dir: Path) -> Path:
    """Convert a GGUF file to a safetensors directory once; return the cached directory.

    Parsing and de-quantizing a GGUF takes tens of seconds; loading the converted directory
    takes under one. The cache is keyed by the GGUF's SHA-256 and written to a temporary
    directory first, so an interrupted conversion leaves nothing half-written behind.
    """
    if not gguf_path.is_file():
        raise ModelLoadError(f"GGUF file not found: {gguf_path}; check the path")
    digest = cached_sha256(gguf_path, cache_dir)
    target = cache_dir / "models" / f"{gguf_path.stem}-{digest[:16]}"
    if (target / _SOURCE_FILE).exists():
        return target
    torch = import_torch()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(
            gguf_path.parent, gguf_file=gguf_path.name, trust_remote_code=False
        )
        model = AutoModelForCausalLM.from_pretrained(
            gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32,
            trust_remote_code=False,
        )
    except Exception as exc:  # transformers and gguf raise many types for a bad file
        raise ModelLoadError(
            f"{gguf_path} is not a GGUF file transformers can load ({type(exc).__name__}: "
            f"{str(exc)[:160]}); check the file or use another model"
        ) from exc
    # transformers refuses to save a GGUF-loaded model while it carries the GGUF config.
    quantizer: Any = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / _SOURCE_FILE).write_text(
            json.dumps({"gguf": str(gguf_path), "sha256": digest}, indent=2)
        )
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def source_fingerprint(directory: Path, cache_dir: Path) -> str:
    """Identify a model directory: the GGUF hash it came from, or its own weights' hash."""
    source = directory / _SOURCE_FILE
    if source.exists():
        return "gguf-sha256:" + str(json.loads(source.read_text())["sha256"])
    return "dir-sha256:" + directory_fingerprint(directory, cache_dir)


def _refuse_custom_code(directory: Path) -> None:
    """A model folder whose configs name their own Python classes (``auto_map``) is refused.

    transformers would need ``trust_remote_code=True`` to run that code; ulterior never
    passes it, so say so plainly instead of failing inside transformers.
    """
    for name in ("config.json", "tokenizer_config.json", "generation_config.json"):
        path = directory / name
        if not path.exists():
            continue
        try:
            settings = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            detail = " ".join(str(exc).split())[:120]
            raise ModelLoadError(f"{path} is not readable JSON ({detail}); check the model "
                                 "folder") from None
        if isinstance(settings, dict) and settings.get("auto_map"):
            raise ModelLoadError(
                f"{path} asks for the model folder's own Python code (auto_map); ulterior "
                "never runs code from a model (trust_remote_code=False): use a model that "
                "transformers supports natively"
            )


def check_model_dir(directory: Path) -> None:
    """Fail early, with a useful message, on directories transformers would choke on."""
    if not directory.is_dir():
        raise ModelLoadError(f"model directory not found: {directory}; check the path")
    if not (directory / "config.json").exists():
        raise ModelLoadError(f"{directory} has no config.json; point to a transformers model")
    _refuse_custom_code(directory)
    if not any(directory.glob("*.safetensors")):
        pickles = [p.name for p in directory.glob("*.bin")]
        hint = " (it has pickle weights, which ulterior never loads)" if pickles else ""
        raise ModelLoadError(f"{directory} has no .safetensors weights{hint}; convert them")


QUANTIZED_INSTALL_HINT = "install bitsandbytes: pip install 'ulterior[quantized]'"


def quantization_config(load_in: str) -> Any:
    """Transformers' bitsandbytes settings for ``8bit`` (LLM.int8) or ``4bit`` (NF4) weights.

    4-bit keeps the matrix products in bf16 and quantizes the quantization constants too
    (double quantization, about 0.4 bits a weight saved); the output layer is never
    quantized (transformers keeps it in full precision), so log-probabilities are read
    from full-precision logits.
    """
    if importlib.util.find_spec("bitsandbytes") is None:
        raise MissingDependencyError(f"--load-in {load_in} needs bitsandbytes; "
                                     f"{QUANTIZED_INSTALL_HINT}")
    torch = import_torch()
    config: Any = importlib.import_module("transformers").BitsAndBytesConfig
    if load_in == "8bit":
        return config(load_in_8bit=True)
    return config(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                  bnb_4bit_compute_dtype=torch.bfloat16, bnb_4bit_use_double_quant=True)


def load_model_dir(directory: Path, dtype: Any, *, device: str = "cpu",
                   placement: Placement | None = None) -> tuple[Any, Any]:
    """Load model and tokenizer from a safetensors directory, with SDPA attention.

    The weights go straight to ``device`` (``cpu`` or ``cuda:N``), or, with
    ``placement.device_map``, are spread by accelerate within ``placement.max_memory``:
    layers past the GPUs' and the CPU's limits stay on disk and are read from the
    safetensors files as each forward reaches them.
    """
    check_model_dir(directory)
    placing: dict[str, Any] = {}
    if placement is not None and placement.device_map is not None:
        placing = {"device_map": placement.device_map,
                   "max_memory": placement.accelerate_max_memory()}
    elif device != "cpu" or (placement is not None and placement.load_in):
        placing = {"device_map": device}
    if placement is not None and placement.load_in:
        placing["quantization_config"] = quantization_config(placement.load_in)
    from transformers import AutoModelForCausalLM, AutoTokenizer
    hf_logging: Any = importlib.import_module("transformers.utils.logging")

    model: Any
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a sub-second load needs no bar
    try:
        tokenizer = AutoTokenizer.from_pretrained(directory, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(
            directory, dtype=dtype, use_safetensors=True, attn_implementation="sdpa",
            trust_remote_code=False, **placing,
        )
    except Exception as exc:  # corrupt headers raise SafetensorError, OSError, ValueError...
        raise ModelLoadError(
            f"cannot load the model in {directory} ({type(exc).__name__}: {str(exc)[:160]}); "
            "the weights may be corrupt or truncated"
        ) from exc
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    model.eval()
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer
