"""LoRA fine-tuning of a causal chat model on chat JSONL, and greedy answers to an evaluation set.

One self-contained file: the local trainer imports it, and the Databricks job runs it as a script
(`python lora_job.py --config <config.json>`), so it imports only the standard library, torch,
transformers and peft (mlflow only when a job is asked to log), never the workbench's packages.

Each JSONL line is `{"messages": [...]}` with the assistant's answer last. The loss is taken on
the answer's tokens only (the prompt is context, not something to learn to write). Images
travel as content parts; a text-only base model sees their text parts only.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

IGNORE_INDEX = -100  # label value the loss skips (prompt and padding positions)
# Validation loss on at most this many pairs: enough to see over-fitting, cheap on a laptop CPU.
VALIDATION_LOSS_PAIRS = 64
# A truncated prompt keeps its first quarter (system prompt, instructions) and its end (the
# item and the assistant header); the middle of a long document is what is lost.
PROMPT_HEAD_SHARE = 0.25
# When a pair is too long, its answer keeps at most this share of max_length, so the prompt keeps the rest.
MAX_ANSWER_SHARE = 0.5
# Answers are generated a few tokens past the longest expected answer, then stop.
ANSWER_TOKEN_MARGIN = 8
LORA_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class Hyperparameters:
    epochs: int = 1
    max_steps: int = 0  # 0: as many steps as the epochs take
    batch_size: int = 8
    learning_rate: float = 1e-3
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    max_length: int = 256
    seed: int = 42
    max_new_tokens: int = 64


@dataclass(frozen=True)
class JobFiles:
    base_model: str  # a model directory (or, on Databricks, a Hugging Face model id)
    train_jsonl: str
    output_dir: str
    validation_jsonl: str | None = None
    evaluation_jsonl: str | None = None


@dataclass(frozen=True)
class Progress:
    phase: str  # submitted (to Databricks), loading, training, evaluating, saving
    done: int = 0
    total: int = 0
    loss: float | None = None
    tokens: int = 0  # real (unpadded) tokens trained on so far
    elapsed_s: float = 0.0
    detail: str = ""  # e.g. the Databricks run id once submitted


@dataclass
class JobResult:
    steps: int = 0
    total_steps: int = 0
    losses: list[float] = field(default_factory=list)
    train_pairs: int = 0
    train_tokens: int = 0
    train_seconds: float = 0.0
    truncated_pairs: int = 0
    validation_loss: float | None = None
    base_answers: list[str] = field(default_factory=list)
    tuned_answers: list[str] = field(default_factory=list)
    adapter_dir: str = ""
    merged_dir: str = ""
    device: str = "cpu"
    model_uri: str | None = None  # set when the job logged the model to MLflow itself


class Cancelled(Exception):
    """Someone asked the job to stop; nothing after the last finished step was kept."""


# -- reading ---------------------------------------------------------------------------------
def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: text parts are read, image parts are not seen
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    raise ValueError(f"message content must be text or a list of parts, not {type(content).__name__}")


def read_conversations(path: str) -> list[list[dict[str, str]]]:
    """Every line's messages as plain role/content pairs; a bad line names its number."""
    conversations = []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                messages = json.loads(line)["messages"]
                conversation = [{"role": str(m["role"]), "content": _text(m["content"])} for m in messages]
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{path} line {number} is not a chat example: {error}") from error
            if not conversation or conversation[-1]["role"] != "assistant":
                raise ValueError(f"{path} line {number} does not end with the assistant's answer.")
            conversations.append(conversation)
    return conversations


# -- tokenizing ------------------------------------------------------------------------------
def _ids(tokenizer: Any, messages: list[dict[str, str]], add_generation_prompt: bool) -> list[int]:
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=add_generation_prompt, tokenize=True, return_dict=False)
    return list(ids)


def _fit_prompt(prompt: list[int], budget: int) -> list[int]:
    if len(prompt) <= budget:
        return prompt
    head = int(budget * PROMPT_HEAD_SHARE)
    return prompt[:head] + prompt[len(prompt) - (budget - head) :]


def encode(tokenizer: Any, messages: list[dict[str, str]], max_length: int) -> tuple[list[int], list[int], bool]:
    """input ids and labels (the answer's tokens, including its end-of-turn; the rest ignored), truncated?"""
    prompt = _ids(tokenizer, messages[:-1], add_generation_prompt=True)
    full = _ids(tokenizer, messages, add_generation_prompt=False)
    if full[: len(prompt)] != prompt:
        raise ValueError("The model's chat template does not render the prompt as a prefix of the conversation.")
    answer = full[len(prompt) :]
    truncated = len(full) > max_length
    if truncated:
        answer = answer[: int(max_length * MAX_ANSWER_SHARE)]
        prompt = _fit_prompt(prompt, max_length - len(answer))
    return prompt + answer, [IGNORE_INDEX] * len(prompt) + answer, truncated


def prompt_ids(tokenizer: Any, messages: list[dict[str, str]], budget: int) -> list[int]:
    """The tokens a model answers from: everything before the answer, fitted to `budget`."""
    return _fit_prompt(_ids(tokenizer, messages[:-1], add_generation_prompt=True), budget)


def _collate(torch: Any, batch: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, Any]:
    width = max(len(ids) for ids, _ in batch)  # padded to the batch's longest: most pairs are short
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (ids, target) in enumerate(batch):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        labels[row, : len(target)] = torch.tensor(target)
        attention[row, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}


# -- the run ---------------------------------------------------------------------------------
def total_steps(pairs: int, hp: Hyperparameters) -> int:
    steps = math.ceil(pairs / hp.batch_size) * hp.epochs
    return min(steps, hp.max_steps) if hp.max_steps > 0 else steps


def run(
    files: JobFiles,
    hp: Hyperparameters,
    on_progress: Callable[[Progress], None] = lambda _: None,
    should_stop: Callable[[], bool] = lambda: False,
    threads: int | None = None,
) -> JobResult:
    """Train, answer the evaluation set with the base and the tuned model, save adapter and merged model."""
    import torch
    import transformers
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    if threads:
        torch.set_num_threads(threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    started = time.perf_counter()
    on_progress(Progress("loading"))

    tokenizer = AutoTokenizer.from_pretrained(files.base_model)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    train = [encode(tokenizer, c, hp.max_length) for c in read_conversations(files.train_jsonl)]
    if not train:
        raise ValueError(f"{files.train_jsonl} holds no training pairs.")
    validation = read_conversations(files.validation_jsonl)[:VALIDATION_LOSS_PAIRS] if files.validation_jsonl else []
    evaluation = read_conversations(files.evaluation_jsonl) if files.evaluation_jsonl else []

    torch.manual_seed(hp.seed)
    model = AutoModelForCausalLM.from_pretrained(files.base_model, dtype=torch.float32).to(device)
    lora = LoraConfig(
        task_type="CAUSAL_LM", r=hp.lora_rank, lora_alpha=hp.lora_alpha, lora_dropout=hp.lora_dropout,
        target_modules=list(LORA_TARGET_MODULES),
    )
    model = get_peft_model(model, lora)
    result = JobResult(total_steps=total_steps(len(train), hp), train_pairs=len(train), device=device)
    result.truncated_pairs = sum(1 for *_, truncated in train if truncated)

    _train(torch, model, [(ids, labels) for ids, labels, _ in train], pad_id, hp, result, on_progress, should_stop, started, device)
    if validation:
        result.validation_loss = _validation_loss(torch, model, tokenizer, validation, pad_id, hp, device)
    if evaluation:
        result.base_answers, result.tuned_answers = _answer_both(torch, model, tokenizer, evaluation, pad_id, hp, on_progress, should_stop, device)
    on_progress(Progress("saving", result.steps, result.total_steps, tokens=result.train_tokens, elapsed_s=time.perf_counter() - started))
    result.adapter_dir, result.merged_dir = _save(model, tokenizer, Path(files.output_dir))
    return result


def _train(torch: Any, model: Any, train: list, pad_id: int, hp: Hyperparameters, result: JobResult,
           on_progress: Callable[[Progress], None], should_stop: Callable[[], bool], started: float, device: str) -> None:
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=hp.learning_rate, weight_decay=0.0)
    order_rng = torch.Generator().manual_seed(hp.seed)
    order: list[int] = []
    model.train()
    train_started = time.perf_counter()
    for step in range(1, result.total_steps + 1):
        if should_stop():
            raise Cancelled(f"Stopped after {step - 1} of {result.total_steps} steps.")
        if len(order) < hp.batch_size:  # the next epoch's shuffled order, seeded
            order += torch.randperm(len(train), generator=order_rng).tolist()
        picked, order = order[: hp.batch_size], order[hp.batch_size :]
        batch = {k: v.to(device) for k, v in _collate(torch, [train[i] for i in picked], pad_id).items()}
        loss = model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        result.steps = step
        result.losses.append(float(loss.item()))
        result.train_tokens += int(batch["attention_mask"].sum())
        result.train_seconds = time.perf_counter() - train_started
        on_progress(Progress("training", step, result.total_steps, result.losses[-1], result.train_tokens, time.perf_counter() - started))


def _validation_loss(torch: Any, model: Any, tokenizer: Any, conversations: list, pad_id: int, hp: Hyperparameters, device: str) -> float:
    encoded = [encode(tokenizer, c, hp.max_length)[:2] for c in conversations]
    model.eval()
    total, weight = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(encoded), hp.batch_size):
            batch = {k: v.to(device) for k, v in _collate(torch, encoded[start : start + hp.batch_size], pad_id).items()}
            tokens = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
            total += float(model(**batch).loss) * tokens
            weight += tokens
    return total / weight if weight else float("nan")


def _answer_both(torch: Any, model: Any, tokenizer: Any, conversations: list, pad_id: int, hp: Hyperparameters,
                 on_progress: Callable[[Progress], None], should_stop: Callable[[], bool], device: str) -> tuple[list[str], list[str]]:
    longest = max(len(_ids(tokenizer, c, False)) - len(_ids(tokenizer, c[:-1], True)) for c in conversations)
    max_new = max(1, min(hp.max_new_tokens, longest + ANSWER_TOKEN_MARGIN))
    prompts = [prompt_ids(tokenizer, c, hp.max_length) for c in conversations]
    done = [0]

    def counted(answers: list[str]) -> None:
        done[0] += len(answers)
        on_progress(Progress("evaluating", done[0], 2 * len(prompts)))

    model.eval()
    with model.disable_adapter():
        base = _generate(torch, model, tokenizer, prompts, pad_id, max_new, hp.batch_size, counted, should_stop, device)
    tuned = _generate(torch, model, tokenizer, prompts, pad_id, max_new, hp.batch_size, counted, should_stop, device)
    return base, tuned


def _generate(torch: Any, model: Any, tokenizer: Any, prompts: list[list[int]], pad_id: int, max_new: int, batch_size: int,
              on_batch: Callable[[list[str]], None], should_stop: Callable[[], bool], device: str) -> list[str]:
    answers: list[str] = []
    with torch.no_grad():
        for start in range(0, len(prompts), batch_size):
            if should_stop():
                raise Cancelled("Stopped while answering the evaluation set.")
            chunk = prompts[start : start + batch_size]
            width = max(len(p) for p in chunk)
            # Decoder-only batched generation pads on the left, so every answer starts at the same column.
            input_ids = torch.tensor([[pad_id] * (width - len(p)) + p for p in chunk], device=device)
            attention = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in chunk], device=device)
            out = model.generate(input_ids=input_ids, attention_mask=attention, max_new_tokens=max_new, do_sample=False, pad_token_id=pad_id)
            batch = [t.strip() for t in tokenizer.batch_decode(out[:, width:], skip_special_tokens=True)]
            answers += batch
            on_batch(batch)
    return answers


def _save(model: Any, tokenizer: Any, output_dir: Path) -> tuple[str, str]:
    adapter_dir, merged_dir = output_dir / "adapter", output_dir / "merged"
    model.save_pretrained(str(adapter_dir))  # the LoRA weights only (~10 MB)
    tokenizer.save_pretrained(str(adapter_dir))
    merged = model.merge_and_unload()  # a plain model: serving needs neither peft nor the base
    merged.save_pretrained(str(merged_dir))
    tokenizer.save_pretrained(str(merged_dir))
    return str(adapter_dir), str(merged_dir)


# -- as a Databricks job ---------------------------------------------------------------------
def _write_json(path: Path, payload: dict[str, Any]) -> None:
    # Volumes take whole-file writes (no appends), so progress is rewritten in full each step.
    path.write_text(json.dumps(payload), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="a JSON file with files, hyperparameters and mlflow settings")
    config = json.loads(Path(parser.parse_args(argv).config).read_text(encoding="utf-8"))
    files, hp = JobFiles(**config["files"]), Hyperparameters(**config["hyperparameters"])
    output = Path(files.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    tracking = config.get("mlflow") or {}
    logger = _MlflowLogger(tracking) if tracking.get("run_id") else None
    losses: list[dict[str, Any]] = []

    def report(progress: Progress) -> None:
        if progress.loss is not None:
            losses.append({"step": progress.done, "loss": progress.loss, "tokens": progress.tokens, "elapsed_s": progress.elapsed_s})
            if logger:
                logger.step(progress.done, progress.loss)
        _write_json(output / "progress.json", {"progress": asdict(progress), "losses": losses})

    try:
        result = run(files, hp, report)
        if logger:
            logger.files([files.train_jsonl, files.validation_jsonl])
            result.model_uri = logger.model(result.merged_dir, tracking.get("model_code", ""), hp.max_new_tokens)
        _write_json(output / "result.json", {"status": "succeeded", "result": asdict(result)})
    except Exception as error:
        _write_json(output / "result.json", {"status": "failed", "error": f"{type(error).__name__}: {error}"})
        raise
    return 0


class _MlflowLogger:
    """In a Databricks job MLflow tracks to the workspace by default; the app made the run and passes its id."""

    def __init__(self, tracking: dict[str, Any]) -> None:
        from mlflow import MlflowClient

        self._client = MlflowClient()
        self._run_id = tracking["run_id"]

    def step(self, step: int, loss: float) -> None:
        self._client.log_metric(self._run_id, "train_loss", loss, step=step)

    def files(self, paths: list[str | None]) -> None:
        for path in filter(None, paths):
            self._client.log_artifact(self._run_id, path, "datasets")

    def model(self, merged_dir: str, model_code: str, max_new_tokens: int) -> str:
        import mlflow
        from mlflow.models import infer_signature

        example = {"messages": [{"role": "user", "content": "Hello"}]}
        signature = infer_signature(example, ["Hello!"], params={"max_new_tokens": max_new_tokens})
        with mlflow.start_run(run_id=self._run_id):
            info = mlflow.pyfunc.log_model(
                name="model", python_model=model_code, artifacts={"model_dir": merged_dir}, signature=signature,
                model_config={"max_new_tokens": max_new_tokens},
            )
        return info.model_uri


if __name__ == "__main__":
    raise SystemExit(main())
