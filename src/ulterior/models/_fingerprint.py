from __future__ import annotations

import hashlib
import json
from pathlib import Path

_BLOCK = 1 << 20


def sha256_file(path: Path) -> str:
    """Return the SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def cached_sha256(path: Path, cache_dir: Path) -> str:
    """SHA-256 of ``path``, remembered per (path, size, mtime) so large files hash once."""
    stat = path.stat()
    stamp = hashlib.sha256(
        f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()
    ).hexdigest()[:24]
    memo = cache_dir / "hashes" / f"{stamp}.json"
    if memo.exists():
        return str(json.loads(memo.read_text())["sha256"])
    value = sha256_file(path)
    memo.parent.mkdir(parents=True, exist_ok=True)
    tmp = memo.with_suffix(".tmp")
    tmp.write_text(json.dumps({"path": str(path), "sha256": value}))
    tmp.replace(memo)
    return value


def directory_fingerprint(directory: Path, cache_dir: Path) -> str:
    """Hash of a model directory: its config and the bytes of every weight file."""
    digest = hashlib.sha256()
    for name in ("config.json",):
        if (directory / name).exists():
            digest.update((directory / name).read_bytes())
    for weights in sorted(directory.glob("*.safetensors")):
        digest.update(weights.name.encode())
        digest.update(cached_sha256(weights, cache_dir).encode())
    return digest.hexdigest()
