"""The edge bundle's offline server: copied into every bundle as `serve.py`, run where there is
no network and no workbench.

It imports only the standard library until the bundle checks out, then torch and transformers
(pinned in the bundle's requirements.txt). Before loading anything it hashes every file the
manifest lists and refuses to start, naming the file, if one is missing, differs in size or
sha256, or if the model folder holds a file the manifest does not list (transformers would read
it). It answers:
- POST /invocations: Databricks Model Serving's request shapes for this model: a chat body
  (`{"messages": [...], "max_tokens": n}`) answered as a chat completion, or
  `{"dataframe_records": [{"messages": [...]}], "params": {"max_new_tokens": n}}` (how the
  registered MLflow model is queried on Databricks) answered as `{"predictions": [...]}`;
- POST /v1/chat/completions: the OpenAI chat-completions shape, for any OpenAI client;
- GET /health: the model this bundle serves, once loaded.
One generation runs at a time (a CPU model gains nothing from more); others wait their turn.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
MODEL_DIR = "model"
HASH_CHUNK = 1024 * 1024
MAX_BODY_BYTES = 1_000_000  # a chat request is a few KB; more is a mistake or an attack
DRAIN_LIMIT_BYTES = 64_000_000  # past this a sender is hostile, and a reset is the right answer
MAX_TOKENS_CEILING = 2048  # beyond this a CPU generation would hold the lock for minutes
MAX_MESSAGES = 64
ROLES = ("system", "user", "assistant")
EXIT_TAMPERED = 2


class BundleRefused(Exception):
    """The bundle does not match its manifest; the message names the file."""


class BadRequest(Exception):
    status, code = 400, "BAD_REQUEST"


class TooLarge(BadRequest):
    status, code = 413, "REQUEST_TOO_LARGE"


class LengthRequired(BadRequest):
    status, code = 411, "LENGTH_REQUIRED"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_bundle(root: Path) -> dict[str, Any]:
    """The manifest, once every file it lists is present and unchanged; else BundleRefused."""
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise BundleRefused(f"{MANIFEST} is missing from {root}.") from error
    except ValueError as error:
        raise BundleRefused(f"{MANIFEST} is not valid JSON: {error}.") from error
    listed = {entry["path"]: entry for entry in manifest.get("files", [])}
    for relative, entry in listed.items():
        path = root / relative
        if Path(relative).is_absolute() or ".." in Path(relative).parts or not path.is_file():
            raise BundleRefused(f"{relative} is listed in the manifest but missing.")
        if path.stat().st_size != entry["size"]:
            raise BundleRefused(f"{relative} has been changed: {path.stat().st_size} bytes, the manifest says {entry['size']}.")
        if sha256_of(path) != entry["sha256"]:
            raise BundleRefused(f"{relative} has been changed: its sha256 differs from the manifest's.")
    for path in sorted((root / MODEL_DIR).rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and relative not in listed:
            raise BundleRefused(f"{relative} is not in the manifest; the model folder must hold only the files it lists.")
    return manifest


class ChatEngine:
    def __init__(self, model_dir: Path, default_max_tokens: int) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True, dtype=torch.float32).eval()
        self.default_max_tokens = default_max_tokens
        self._lock = threading.Lock()

    def answer(self, messages: list[dict[str, str]], max_tokens: int | None) -> tuple[str, int, int]:
        """The greedy answer, its prompt tokens and completion tokens (as the registered model answers)."""
        prompt = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        encoded = self.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        with self._lock, self._torch.no_grad():
            out = self.model.generate(**encoded, max_new_tokens=max_tokens or self.default_max_tokens, do_sample=False, pad_token_id=pad)
        width = encoded["input_ids"].shape[1]
        completion = out[0, width:]
        return self.tokenizer.decode(completion, skip_special_tokens=True).strip(), int(width), int(completion.shape[0])


def parse_messages(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value or len(value) > MAX_MESSAGES:
        raise BadRequest(f"'messages' must be a list of 1 to {MAX_MESSAGES} messages.")
    messages = []
    for message in value:
        if not isinstance(message, dict) or message.get("role") not in ROLES or not isinstance(message.get("content"), str):
            raise BadRequest(f"Each message needs a role ({', '.join(ROLES)}) and a string content.")
        messages.append({"role": message["role"], "content": message["content"]})
    return messages


def parse_max_tokens(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_TOKENS_CEILING:
        raise BadRequest(f"max_tokens must be a whole number from 1 to {MAX_TOKENS_CEILING}.")
    return value


def chat_completion(engine: ChatEngine, body: dict[str, Any], model_name: str) -> dict[str, Any]:
    text, prompt_tokens, completion_tokens = engine.answer(parse_messages(body.get("messages")), parse_max_tokens(body.get("max_tokens")))
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()), "model": model_name,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
    }


def predictions(engine: ChatEngine, body: dict[str, Any]) -> dict[str, Any]:
    records = body.get("dataframe_records")
    if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
        raise BadRequest("'dataframe_records' must be a list of rows, each with 'messages'.")
    max_tokens = parse_max_tokens((body.get("params") or {}).get("max_new_tokens"))
    return {"predictions": [engine.answer(parse_messages(r.get("messages")), max_tokens)[0] for r in records]}


def handler_for(engine: ChatEngine, model_name: str, manifest: dict[str, Any]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/health":
                self._reply(200, {"status": "ready", "model": manifest["model"]})
            else:
                self._reply(404, {"error": {"code": "NOT_FOUND", "message": f"No route {self.path}."}})

        def do_POST(self) -> None:
            try:
                body = self._body()
                if self.path == "/invocations":
                    self._reply(200, predictions(engine, body) if "dataframe_records" in body else chat_completion(engine, body, model_name))
                elif self.path in ("/v1/chat/completions", "/chat/completions"):
                    self._reply(200, chat_completion(engine, body, model_name))
                else:
                    self._reply(404, {"error": {"code": "NOT_FOUND", "message": f"No route {self.path}."}})
            except BadRequest as error:
                self._reply(error.status, {"error": {"code": error.code, "message": str(error)}})

        def _body(self) -> dict[str, Any]:
            length = self._declared_length()
            if length > MAX_BODY_BYTES:
                self._drop_body(length)
                raise TooLarge(f"The request is over {MAX_BODY_BYTES} bytes.")
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError as error:
                raise BadRequest(f"The body is not JSON: {error}.") from error
            if not isinstance(body, dict):
                raise BadRequest("The body must be a JSON object.")
            return body

        def _declared_length(self) -> int:
            if self.headers.get("Transfer-Encoding"):
                # http.server cannot read a chunked body: close, so its bytes are not read as a request
                self.close_connection = True
                raise LengthRequired("Send the body with a Content-Length (chunked transfer is not accepted).")
            declared = (self.headers.get("Content-Length") or "0").strip()
            if not (declared.isascii() and declared.isdigit()):  # int() refuses other digits, like "²"
                self.close_connection = True
                raise BadRequest(f"Content-Length {declared!r} is not a number of bytes.")
            return int(declared)

        def _drop_body(self, length: int) -> None:
            """Read what the client sends before answering: closing on unread bytes resets the
            connection and the client sees a broken pipe, not the refusal."""
            remaining = min(length, DRAIN_LIMIT_BYTES)
            while remaining > 0 and (chunk := self.rfile.read(min(remaining, HASH_CHUNK))):
                remaining -= len(chunk)

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve this bundle's model offline.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on; 0 picks a free one")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent
    try:
        manifest = verify_bundle(root)
    except BundleRefused as error:
        print(f"Refusing to start: {error}", file=sys.stderr, flush=True)
        return EXIT_TAMPERED
    # Nothing may reach for the network: the model is in the bundle.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    model = manifest["model"]
    engine = ChatEngine(root / MODEL_DIR, int(model.get("max_new_tokens") or 256))
    server = ThreadingHTTPServer((args.host, args.port), handler_for(engine, f"{model['name']}/{model['version']}", manifest))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    print(f"Serving {model['name']} version {model['version']} on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
