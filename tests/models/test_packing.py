from __future__ import annotations

import pytest
import torch

from ulterior.models._packing import TokenizedRequest, pack, plan_batches, shared_prefix_length


def test_plan_batches_covers_every_index_once_and_respects_budget() -> None:
    lengths = [5, 50, 7, 49, 20, 3, 48]
    batches = plan_batches(lengths, token_budget=100, max_batch=3)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 3
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= 100


def test_shared_prefix_leaves_each_prompt_one_token() -> None:
    assert shared_prefix_length([(1, 2, 3, 4), (1, 2, 3, 9)]) == 3
    assert shared_prefix_length([(1, 2, 3), (1, 2, 3)]) == 2
    assert shared_prefix_length([(5, 1), (6, 1)]) == 0
    assert shared_prefix_length([]) == 0


def test_pack_masks_answers_from_each_other() -> None:
    request = TokenizedRequest(prompt=(10, 11, 12), answers=((20, 21), (30,)))
    packed = pack([request], pad_id=0)
    mask = packed.attention_mask[0, 0]
    # answer 2 (position 5) sees the prompt and itself, not answer 1 (positions 3-4)
    assert mask[5].tolist() == [True, True, True, False, False, True]
    assert packed.position_ids[0].tolist() == [0, 1, 2, 3, 4, 3]
    # reads: answer-1 token 20 from prompt end, token 21 from its own first token
    assert list(zip(packed.cols.tolist(), packed.targets.tolist(), strict=True)) == [
        (2, 20), (3, 21), (2, 30)]
    assert packed.segments == [[(0, 2), (2, 3)]]


@pytest.mark.parametrize("offset", [0, 4])
def test_packed_logprobs_equal_separate_forward_passes(tiny_llama_dir, offset: int) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, attn_implementation="sdpa")
    model.eval()
    gen = torch.Generator().manual_seed(1)
    prefix = torch.randint(3, 100, (offset,), generator=gen).tolist()
    requests = [
        TokenizedRequest(
            prompt=tuple(torch.randint(3, 100, (n,), generator=gen).tolist()),
            answers=tuple(tuple(torch.randint(3, 100, (k,), generator=gen).tolist())
                          for k in ks),
        )
        for n, ks in [(7, (1, 3)), (12, (2, 2, 4)), (3, (5, 1))]
    ]
    cache = None
    if offset:
        from transformers import DynamicCache

        with torch.no_grad():
            out = model.get_decoder()(input_ids=torch.tensor([prefix]), use_cache=True)
        layers = [(la.keys.expand(3, -1, -1, -1), la.values.expand(3, -1, -1, -1))
                  for la in out.past_key_values.layers]
        cache = DynamicCache(ddp_cache_data=layers)
    packed = pack(requests, pad_id=0, offset=offset)
    with torch.no_grad():
        hidden = model.get_decoder()(
            input_ids=packed.input_ids, position_ids=packed.position_ids,
            attention_mask=packed.attention_mask, past_key_values=cache,
            use_cache=cache is not None,
        ).last_hidden_state
        logp = torch.log_softmax(model.lm_head(hidden[packed.rows, packed.cols]), -1)
    picked = logp.gather(1, packed.targets[:, None])[:, 0]
    for request, spans in zip(requests, packed.segments, strict=True):
        for answer, (a, b) in zip(request.answers, spans, strict=True):
            ids = torch.tensor([prefix + list(request.prompt) + list(answer)])
            with torch.no_grad():
                ref = torch.log_softmax(model(ids).logits[0], -1)
            start = offset + len(request.prompt)
            expected = sum(ref[start - 1 + t, tok].item() for t, tok in enumerate(answer))
            assert picked[a:b].sum().item() == pytest.approx(expected, abs=1e-4)
