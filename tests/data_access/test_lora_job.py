"""The trainer's reading and tokenizing, with the real SmolLM2 tokenizer from the model cache."""

from __future__ import annotations

import json

import pytest

from data_access.settings import load_settings
from data_access.training.base_model import prepared_base_model
from data_access.training.lora_job import IGNORE_INDEX, Hyperparameters, encode, read_conversations, total_steps

SYSTEM = {"role": "system", "content": "You triage medical invoices. Answer with JSON only."}
ANSWER = '{"urgency": "urgent"}'


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(prepared_base_model(load_settings({}).model_cache)))


@pytest.mark.slow  # imports transformers
def test_the_loss_is_taken_on_the_answer_and_its_end_of_turn_only(tokenizer):
    messages = [SYSTEM, {"role": "user", "content": "Invoice INV-0042, 720.00 USD, 75 days outstanding."}, {"role": "assistant", "content": ANSWER}]
    ids, labels, truncated = encode(tokenizer, messages, max_length=256)
    assert not truncated and len(ids) == len(labels)
    learned = [token for token in labels if token != IGNORE_INDEX]
    assert tokenizer.decode(learned) == f"{ANSWER}<|im_end|>\n"
    first = labels.index(learned[0])
    assert all(label == IGNORE_INDEX for label in labels[:first])  # the prompt is context, never a target
    assert ids[first:] == learned


@pytest.mark.slow  # imports transformers
def test_a_long_pair_keeps_its_instructions_its_end_and_its_whole_answer(tokenizer):
    long_text = " ".join(f"line item {i}: CPT 99213, 120.00 USD" for i in range(200))
    messages = [SYSTEM, {"role": "user", "content": f"{long_text} TOTAL DUE"}, {"role": "assistant", "content": ANSWER}]
    ids, labels, truncated = encode(tokenizer, messages, max_length=96)
    assert truncated and len(ids) == 96
    text = tokenizer.decode(ids)
    assert "You triage medical invoices" in text and "TOTAL DUE" in text and text.endswith(f"{ANSWER}<|im_end|>\n")
    assert tokenizer.decode([t for t in labels if t != IGNORE_INDEX]) == f"{ANSWER}<|im_end|>\n"


def test_chat_jsonl_is_read_with_text_parts_and_a_bad_line_names_itself(tmp_path):
    good = {"messages": [{"role": "user", "content": [{"type": "text", "text": "Inspect this crystal."},
                                                       {"type": "image_url", "image_url": {"url": "/Volumes/c/s/v/x.png"}}]},
                         {"role": "assistant", "content": '{"defect_type": "crack"}'}]}
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps({"messages": [{"role": "user", "content": "no answer"}]}) + "\n")
    with pytest.raises(ValueError, match="line 3 does not end with the assistant's answer"):
        read_conversations(str(path))
    path.write_text(json.dumps(good) + "\n")
    (conversation,) = read_conversations(str(path))
    assert conversation[0] == {"role": "user", "content": "Inspect this crystal."}


def test_steps_follow_epochs_and_a_step_limit():
    assert total_steps(200, Hyperparameters(batch_size=8)) == 25
    assert total_steps(201, Hyperparameters(batch_size=8, epochs=2)) == 52
    assert total_steps(200, Hyperparameters(batch_size=8, epochs=3, max_steps=30)) == 30
