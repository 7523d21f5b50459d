"""What the tests of every instruct-LLM runtime check the same way: the bot serving a summary
(streamed, then the card) and `briefbot eval` files."""

from __future__ import annotations

import json
from html import unescape
from pathlib import Path

from briefbot.models import Summarizer
from tests.conftest import ARTICLE_TEXT, READER_ID, Talk, texts
from tests.test_streaming import edits_until_the_card


def eval_file(tmp_path: Path, count: int = 3, reference: str = "A footbridge opened.") -> Path:
    """A `briefbot eval` file of `count` copies of the test article."""
    data = tmp_path / "dev.jsonl"
    records = [
        {"id": str(n), "text": ARTICLE_TEXT, "summary": reference, "source": "test"}
        for n in range(count)
    ]
    data.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return data


def check_the_bot_serves(start_bot, api, model: Summarizer) -> None:
    """A reader's /summary is shown as it is written, then as the card on the same message,
    and what was shown is what was cached."""
    bot = start_bot(model=model, precompute=False)
    article = bot.services.library.add("Bridge", ARTICLE_TEXT).article
    mark = api.mark()
    [first] = Talk(api, api.private_chat(READER_ID), READER_ID).say("/summary")
    final = first if first.params.get("reply_markup") else edits_until_the_card(api, mark)[-1]
    assert "<b>Bridge</b>" in final.params["text"]
    shown = texts([final])[0].split("\n\n", 1)[1].strip()
    cached = bot.services.library.summary(article.content_hash, model.name, "standard")
    assert cached and cached[:40] in unescape(shown)
    assert api.failed_calls(mark) == []
