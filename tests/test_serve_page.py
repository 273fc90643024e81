"""The chat page in a real headless browser: Debian's Chromium driven by Playwright.

Skipped, with the reason printed, where Playwright or Chromium is missing (CI installs both: .ci/run).
The fast test runs the page against the tiny Llama (its replies are noise, so it checks that a reply is
shown and that the memory panel shows the tokens written); the slow one runs the real SmolLM2 model and
checks that the name comes back in a new conversation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from conftest import open_gates

from seam.lm import ExperimentConfig, MemoryAugmentedModel
from seam.memory import MemoryConfig
from seam.serve import ServerConfig, ThreadedServer, create_app

CHROMIUM = Path("/usr/bin/chromium")
KEY = "page-key"
INTRO = "Hello! My name is Alice. Please remember my name."
QUESTION = "What is my name?"


@pytest.fixture
def browser_page() -> Iterator[object]:
    """A Playwright page in headless Chromium (skipped, saying why, when either is missing)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed (pip install playwright); the browser test needs it.")
    if not CHROMIUM.is_file():
        pytest.skip(f"No Chromium at {CHROMIUM} (apt-get install -y chromium, as root); the browser test needs it.")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def say(page, text: str) -> tuple[str, list[dict]]:
    """Send a message from the page; the reply shown and the messages the page sent."""
    done = page.locator(".msg.assistant.done")
    before = done.count()
    page.fill("#message", text)
    with page.expect_request("**/v1/chat/completions") as request:
        page.click("#send")
    done.nth(before).wait_for()
    return done.nth(before).inner_text(), json.loads(request.value.post_data)["messages"]


def open_page(page, url: str, user: str) -> None:
    page.goto(url)
    page.fill("#api-key", KEY)
    page.dispatch_event("#api-key", "change")
    page.fill("#user", user)
    page.dispatch_event("#user", "change")
    page.wait_for_function("document.querySelectorAll('#model option').length === 2")


def introduce_then_ask(page, url: str) -> str:
    """The page's whole flow: introduce a name, start a new conversation, ask; returns the answer shown."""
    from playwright.sync_api import expect

    open_page(page, url, "alice")
    reply, sent = say(page, INTRO)
    assert len(sent) == 1 and reply is not None
    expect(page.locator("#memory-items")).to_contain_text("Alice")  # the panel shows the tokens written
    expect(page.locator("#memory-stats")).to_contain_text("1 turns written")
    page.click("#new-conversation")
    assert page.locator(".msg.user").count() == 0  # the context is cleared ...
    answer, sent = say(page, QUESTION)
    assert sent == [{"role": "user", "content": QUESTION}]  # ... so the question goes alone
    expect(page.locator("#memory-stats")).to_contain_text("2 turns written")  # and memory stayed
    expect(page.locator("#memory-items")).to_contain_text("Alice")
    return answer


def test_the_page_chats_starts_a_new_conversation_and_shows_decays_and_forgets_memory(browser_page, tiny_llama, tmp_path):
    from playwright.sync_api import expect

    torch.set_num_threads(1)
    # Room for both turns in the buffer, and no merging of near-duplicate keys: the random model's keys are so
    # alike that the question's tokens would otherwise overwrite the name's slot.
    memory = MemoryConfig(buffer_slots=64, store_slots=16, num_heads=2, match_similarity=1.0)
    model = tiny_llama.seam(memory_dir=str(tmp_path / "memory"), memory=memory)
    open_gates(model)
    with ThreadedServer(create_app(model, ServerConfig(api_key=KEY, default_max_tokens=6))) as server:
        page = browser_page
        introduce_then_ask(page, server.url)
        page.fill("#decay-cycles", "3")
        page.click("#decay")
        rate = model.config.memory.decay_rate
        expect(page.locator("#memory-items tr.buffer").first).to_contain_text(f"{rate**3:.3f}")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#forget")
        expect(page.locator("#memory-empty")).to_be_visible()
        expect(page.locator("#memory-stats")).to_contain_text("0 turns written")
        assert page.locator("#status").inner_text() == ""


@pytest.mark.slow
def test_the_page_on_the_real_model_gets_the_name_back_in_a_new_conversation(browser_page, tmp_path):
    model = MemoryAugmentedModel.from_pretrained(ExperimentConfig(memory_dir=str(tmp_path / "memory")))
    with ThreadedServer(create_app(model, ServerConfig(api_key=KEY, default_max_tokens=24))) as server:
        answer = introduce_then_ask(browser_page, server.url)
    assert "Alice" in answer
