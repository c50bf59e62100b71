"""Packing choice-scoring requests so each prompt is computed once.

An item with prompt ``p`` and answers ``c1 .. ck`` becomes one sequence ``p c1 .. ck``. A
custom attention mask lets each answer see the whole prompt and its own earlier tokens but not
the other answers, and position ids restart after the prompt, so every answer is scored
exactly as if it followed the prompt alone. Sequences of similar length share a batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class TokenizedRequest:
    """Token ids of one prompt and its answers."""

    prompt: tuple[int, ...]
    answers: tuple[tuple[int, ...], ...]

    @property
    def length(self) -> int:
        """Tokens in the packed sequence."""
        return len(self.prompt) + sum(len(a) for a in self.answers)

    @property
    def longest(self) -> int:
        """Tokens in the prompt plus its longest answer: what must fit in the context."""
        return len(self.prompt) + max((len(a) for a in self.answers), default=0)


@dataclass
class PackedBatch:
    """Model inputs for one batch, plus where to read each answer's log-probabilities."""

    input_ids: Any  # (B, L) long
    position_ids: Any  # (B, L) long
    attention_mask: Any  # (B, 1, L, offset + L) bool, True = may attend
    rows: Any  # (N,) batch index of each hidden state to read
    cols: Any  # (N,) sequence index of each hidden state to read
    targets: Any  # (N,) token whose log-probability is read there
    segments: list[list[tuple[int, int]]]  # per request, per answer: slice into the N reads

    def to(self, device: Any) -> PackedBatch:
        """The batch with its tensors on ``device`` (itself when they are there already)."""
        if self.input_ids.device == device:
            return self
        return replace(self, **{name: getattr(self, name).to(device) for name in (
            "input_ids", "position_ids", "attention_mask", "rows", "cols", "targets")})


def plan_batches(lengths: Sequence[int], token_budget: int, max_batch: int) -> list[list[int]]:
    """Group request indices into batches of similar length.

    Sorting by length keeps padding small; a batch closes when its padded size
    (size x longest) would pass ``token_budget`` or it holds ``max_batch`` requests.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        longest = lengths[current[0]] if current else lengths[index]
        if current and ((len(current) + 1) * longest > token_budget or len(current) >= max_batch):
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def shared_prefix_length(prompts: Sequence[Sequence[int]]) -> int:
    """Length of the token prefix every prompt shares, leaving each at least one own token.

    Chat templates start every prompt with the same system turn; computing it once for the
    whole call, instead of once per item, is the cheapest speed-up there is.
    """
    if not prompts:
        return 0
    first = prompts[0]
    limit = min(len(p) for p in prompts) - 1
    n = 0
    while n < limit and all(p[n] == first[n] for p in prompts):
        n += 1
    return n


def pack(requests: Sequence[TokenizedRequest], pad_id: int, offset: int = 0) -> PackedBatch:
    """Build the packed inputs for ``requests`` (see the module docstring).

    ``offset`` tokens of shared prefix have already been computed (their keys and values
    come from a cache): every request here has had them stripped, positions start after
    them, and every query may attend to them.
    """
    import torch

    width = max(r.length for r in requests)
    batch = len(requests)
    input_ids = torch.full((batch, width), pad_id, dtype=torch.long)
    position_ids = torch.zeros((batch, width), dtype=torch.long)
    # Padding queries attend to themselves only, so no softmax row is empty (no NaNs).
    own = torch.eye(width, dtype=torch.bool).repeat(batch, 1, 1, 1)
    mask = torch.cat([torch.ones(batch, 1, width, offset, dtype=torch.bool), own], dim=-1)
    rows: list[int] = []
    cols: list[int] = []
    targets: list[int] = []
    segments: list[list[tuple[int, int]]] = []
    for b, request in enumerate(requests):
        n_prompt = len(request.prompt)
        input_ids[b, :n_prompt] = torch.tensor(request.prompt)
        position_ids[b, :n_prompt] = torch.arange(offset, offset + n_prompt)
        mask[b, 0, :n_prompt, offset : offset + n_prompt] = torch.tril(
            torch.ones(n_prompt, n_prompt, dtype=torch.bool)
        )
        start = n_prompt
        spans: list[tuple[int, int]] = []
        for answer in request.answers:
            n_answer = len(answer)
            stop = start + n_answer
            input_ids[b, start:stop] = torch.tensor(answer)
            first_position = offset + n_prompt
            position_ids[b, start:stop] = torch.arange(first_position, first_position + n_answer)
            mask[b, 0, start:stop, offset : offset + n_prompt] = True
            mask[b, 0, start:stop, offset + start : offset + stop] = torch.tril(
                torch.ones(n_answer, n_answer, dtype=torch.bool)
            )
            # Token t of the answer is predicted by the state just before it: the last prompt
            # token for t = 0, the answer's own previous token after that.
            first = len(rows)
            for t, token in enumerate(answer):
                rows.append(b)
                cols.append(n_prompt - 1 if t == 0 else start + t - 1)
                targets.append(token)
            spans.append((first, len(rows)))
            start = stop
        segments.append(spans)
    return PackedBatch(
        input_ids=input_ids,
        position_ids=position_ids,
        attention_mask=mask,
        rows=torch.tensor(rows, dtype=torch.long),
        cols=torch.tensor(cols, dtype=torch.long),
        targets=torch.tensor(targets, dtype=torch.long),
        segments=segments,
    )
