"""An OpenAI-compatible chat-completions server on 127.0.0.1, standing in for vLLM, llama.cpp's
server, Ollama or TGI: real HTTP, answers built from the prompt, faults on demand."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from briefbot.models.sentences import split_sentences

PREAMBLE = "Here is a summary of the article:\n\n"


@dataclass
class Fault:
    status: int = 0  # answer with this HTTP status
    delay: float = 0.0  # wait this long before answering


@dataclass
class ServedModel:
    name: str = "tiny-instruct"
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    answer_delay: float = 0.0
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: dict[str, Any]) -> str:
        """The first sentences of the article in the prompt, after a preamble a real model
        might add, as many as the prompt asks for."""
        prompt = request["messages"][-1]["content"]
        count = 1 if "one sentence" in prompt else 5 if "five sentences" in prompt else 3
        article = prompt.split("\n\n", 1)[1]
        return PREAMBLE + " ".join(split_sentences(article)[:count])


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        model = self.server.model
        if self.path.rstrip("/").endswith("/models"):
            self._send_json(
                200, {"object": "list", "data": [{"id": model.name, "object": "model"}]}
            )
        else:
            self._send_json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        model = self.server.model
        length = int(self.headers.get("Content-Length", "0"))
        request = json.loads(self.rfile.read(length) or b"{}")
        with model.lock:
            model.requests.append(request)
            fault = model.faults.popleft() if model.faults else Fault()
            model.in_flight += 1
            model.most_in_flight = max(model.most_in_flight, model.in_flight)
        try:
            # A streamed answer spreads the answer's time over its words instead.
            time.sleep(fault.delay or (0.0 if request.get("stream") else model.answer_delay))
            if fault.status:
                self._send_json(fault.status, {"error": {"message": f"injected {fault.status}"}})
                return
            text = model.answer(request)
            if request.get("stream"):
                self._stream(text)
            else:
                self._send_json(200, _completion(model.name, text))
        finally:
            with model.lock:
                model.in_flight -= 1

    def _stream(self, text: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        words = text.split(" ")
        for n, word in enumerate(words):
            piece = word if n == 0 else " " + word
            chunk = {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": self.server.model.name,
                "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
            time.sleep(self.server.model.answer_delay / max(1, len(words)))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


def _completion(name: str, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": name,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    model: ServedModel


class OpenAIServer:
    def __init__(self, model: ServedModel | None = None) -> None:
        self.model = model or ServedModel()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.model = self.model
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> OpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
