"""The serving load benchmark's measurement on a tiny server: both arms at each level, ratios, the Markdown table."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import torch
from conftest import first_greedy_tokens, open_gates

from seam.serve import ServerConfig, ThreadedServer, create_app
from seam.serve.load import MESSAGES, NAMES, ServeLoadConfig, markdown, measure, percentile, targets


def test_percentile_is_nearest_rank():
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 0), percentile([7.0], 95)) == (3.0, 5.0, 1.0, 7.0)


def test_the_load_measurement_runs_both_arms_at_each_level_and_only_the_seam_arm_writes(tiny_llama, tmp_path):
    torch.set_num_threads(1)
    model = tiny_llama.seam(memory_dir=str(tmp_path / "memory"))
    open_gates(model)
    config = ServeLoadConfig(concurrency=(1, 3), requests_per_user=2, rounds=2, max_tokens=4)
    with ThreadedServer(create_app(model, ServerConfig())) as server:
        results = asyncio.run(measure(server.url, config, "seam-tiny-llama", "tiny-llama"))
    rows = {(r["concurrency"], r["arm"]): r for r in results["rows"]}
    assert set(rows) == {(c, arm) for c in (1, 3) for arm in ("seam", "memory_off")}
    assert rows[(3, "seam")]["requests"] == 3 * 2 * 2
    assert all(r["p50_ms"] <= r["p95_ms"] and r["tokens_per_s"] > 0 and r["mean_batch"] >= 1 for r in rows.values())
    # the worker's time in generate per batch: every request waits for its batch's, so no batch takes longer than the
    # slowest request (p95 of 4 or 12 requests is the slowest)
    assert all(0 < r["model_ms_per_batch"] <= r["p95_ms"] for r in rows.values())
    # Only the SEAM arm wrote: the warm-up's user and each user of each level, once per request.
    assert sorted(p.stem for p in (tmp_path / "memory").glob("*.safetensors")) == ["load-1-0", "load-3-0", "load-3-1", "load-3-2"]
    assert model.memory_stats("load-3-1")["layer1"]["turns_written"] == 2 * 2
    assert set(results["ratios"]["seam_vs_off"]) == {"1", "3"}
    results.update(seconds=1.0, other_processes_cpu_share=0.0, config=vars(config),
                   environment={"model": "tiny", "checkpoint": "none", "cpu_count": 2, "date_utc": "now", "load_before": 0.0,
                                "load_after": 0.0})
    results["targets"] = targets(results)
    table = markdown(results)
    assert "| 3 | SEAM | 12 |" in table and "memory off" in table and "target" in table and "model time per batch" in table


def test_equal_length_makes_every_reply_of_both_arms_exactly_max_tokens_even_where_the_model_would_stop(tiny_llama, tmp_path):
    torch.set_num_threads(1)
    model = tiny_llama.seam(memory_dir=str(tmp_path / "memory"))
    firsts = first_greedy_tokens(model, [m.format(name=n) for m in MESSAGES for n in NAMES[:2]])
    model.base.generation_config.eos_token_id = sorted(set(firsts))  # every reply of the bare model would end at once
    config = ServeLoadConfig(concurrency=(2,), requests_per_user=1, rounds=1, max_tokens=4)
    with ThreadedServer(create_app(model, ServerConfig())) as server:
        natural = asyncio.run(measure(server.url, config, "seam-tiny-llama", "tiny-llama"))
        equal = asyncio.run(measure(server.url, replace(config, equal_length=True), "seam-tiny-llama", "tiny-llama"))
    assert min(r["mean_completion_tokens"] for r in natural["rows"]) < 4
    assert all(r["mean_completion_tokens"] == 4 for r in equal["rows"])
