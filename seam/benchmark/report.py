"""The benchmark's results as files: the issue's targets, the Markdown tables and the JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

TARGETS = {"generation_speed_ratio": 0.95, "write_fraction": 0.10}


def targets(results: dict) -> dict:
    """The issue's targets, each with the measured value and whether it is met."""
    out = {}
    ratio = results["generation"]["seam_read_speed_ratio"]
    out["generation_seam_read_speed"] = {"target": f">= {TARGETS['generation_speed_ratio']} of base", "value": ratio,
                                         "met": ratio >= TARGETS["generation_speed_ratio"]}
    for turn in results["write"]["turns"]:
        n = turn["message_tokens"]
        for key, what in (("remember_fraction_of_reply", "remember"), ("update_marginal_fraction", "update_marginal")):
            value = turn[key]
            out[f"write_{what}_{n}_tokens"] = {"target": f"< {TARGETS['write_fraction']:.0%} of a reply", "value": value,
                                                "met": value < TARGETS["write_fraction"]}
    return out


def _ms(seconds: float) -> str:
    return f"{1000 * seconds:,.0f} ms" if seconds >= 0.01 else f"{1000 * seconds:.2f} ms"


def _mark(met: bool) -> str:
    return "met" if met else "NOT met"


def markdown_report(results: dict) -> str:
    """The Markdown tables of bench/results/benchmark.md."""
    env, gen, write, hist = results["environment"], results["generation"], results["write"], results["history"]
    mem, scaling, train, prof = results["footprint"], results["read_scaling"], results["training"], results["profile"]
    t = results["targets"]
    lines = [
        "# SEAM performance benchmark",
        "",
        f"{env['model']} ({env['base_layers']} layers, hidden {env['hidden_size']}), memory layers at "
        f"{env['memory_layer_positions']}, checkpoint: {env['checkpoint']}; {env['device']}, {env['dtype']}, "
        f"{env['torch_threads']} torch threads ({env['cpu_count']} CPUs); torch {env['torch']}, transformers "
        f"{env['transformers']}; {env['date_utc']}. Arms interleaved in one process; medians of n rounds; ratios are "
        f"medians of per-round paired ratios. Memories full: {mem['buffer_slots']} buffer + {mem['store_slots']} store "
        f"slots per layer. Total {results['seconds']['total']:.0f} s. CPU share used by other processes during each "
        "section (0% = the benchmark ran alone): "
        + ", ".join(f"{k} {v:.0%}" for k, v in results["other_processes_cpu_share"].items()) + ".",
        "",
        "## Summary",
        "",
        "| measurement | SEAM | alternative | ratio | target | n |",
        "|---|---|---|---|---|---|",
        f"| generation, {gen['new_tokens']} greedy tokens | {gen['seam_read']['tokens_per_s']:.1f} tok/s (reads) | "
        f"{gen['base']['tokens_per_s']:.1f} tok/s (base) | {gen['seam_read_speed_ratio']:.3f}x | >= 0.95x: "
        f"{_mark(t['generation_seam_read_speed']['met'])} | {gen['base']['repeats']} |",
        f"| generation, reads + write of the turn | {gen['seam_read_write']['tokens_per_s']:.1f} tok/s | "
        f"{gen['base']['tokens_per_s']:.1f} tok/s (base) | {gen['seam_read_write_speed_ratio']:.3f}x | - | "
        f"{gen['seam_read_write']['repeats']} |",
    ]
    for turn in write["turns"]:
        n = turn["message_tokens"]
        lines.append(
            f"| write a {n}-token turn (remember) | {_ms(turn['remember']['median_s'])} | "
            f"{_ms(turn['reply']['median_s'])} ({write['reply_tokens']}-token reply) | "
            f"{turn['remember_fraction_of_reply']:.1%} | < 10%: {_mark(t[f'write_remember_{n}_tokens']['met'])} | "
            f"{turn['remember']['repeats']} |"
        )
        lines.append(
            f"| write inside generate, {n}-token message | {turn['update_marginal_ms']:+.0f} ms "
            f"({_ms(turn['reply_with_update']['median_s'])}) | {_ms(turn['reply']['median_s'])} (update_memory=False) | "
            f"{turn['update_marginal_fraction']:+.1%} | < 10%: {_mark(t[f'write_update_marginal_{n}_tokens']['met'])} | "
            f"{turn['reply']['repeats']} |"
        )
    for row in hist["sizes"]:
        size = f"{row['history_tokens']:,}" + (" (context limit)" if row["at_context_limit"] else "")
        if row["in_context_possible"]:
            lines.append(
                f"| query after {size} earlier tokens | {_ms(row['seam']['median_s'])} | "
                f"{_ms(row['in_context']['median_s'])} (in-context) | in-context {row['in_context_over_seam']:.2f}x SEAM's time | - | "
                f"{row['seam']['repeats']} |"
            )
        else:
            lines.append(
                f"| query after {size} earlier tokens | {_ms(row['seam']['median_s'])} | not possible in-context "
                f"(context {hist['max_context']:,}) | - | - | {row['seam']['repeats']} |"
            )
    lines += [
        f"| memory per user | {mem['state_bytes'] / 2**20:.2f} MiB ({mem['file_bytes'] / 2**20:.2f} MiB file) | "
        f"KV cache {mem['kv_cache_bytes_per_token'] / 1024:.0f} KiB/token | = {mem['in_context_tokens_of_same_size']:.0f} "
        f"tokens of context | - | - |",
        f"| training, batch {train['batch_size']} | {train['examples_per_s']:.2f} examples/s | "
        f"{_ms(train['step']['median_s'])}/step | - | - | {train['step']['repeats']} |",
        "",
        "## Read cost by memory size (one DualMemoryLayer.read of a (1, 1, C) query over prepared slots, repeated: in cache; "
        "a decode step past the reply's first tokens, so no abstain floor)",
        "",
        f"| slots | state bytes / layer | us / read | us / token ({mem['memory_layers']} layers) | share of base token time | n |",
        "|---|---|---|---|---|---|",
    ]
    for row in scaling:
        share = f"{row['fraction_of_base_token_time']:.2%}" if "fraction_of_base_token_time" in row else "-"
        lines.append(
            f"| {row['slots']:,} | {row['state_bytes_per_layer'] / 2**20:.2f} MiB | {row['us_per_read']:.0f} | "
            f"{row['us_per_token']:.0f} | {share} | {row['repeats']} x {row['reads_per_sample']} |"
        )
    if "read_us_per_token_and_layer" in gen:
        lines += ["", f"Inside generation (the generation arms: SEAM's time less the base model's, per generated token and memory "
                      f"layer, the prefill's reads included): {gen['read_us_per_token_and_layer']:.0f} us, where each decode step "
                      "has streamed the base model's weights through the cache before the read."]
    lines += ["", "## History: time per query (prompt + answer)", "",
              "| earlier tokens | SEAM | in-context | in-context / SEAM | KV cache of the history | n |", "|---|---|---|---|---|---|"]
    for row in hist["sizes"]:
        kv = row["history_tokens"] * hist["kv_cache_bytes_per_token"] / 2**20
        ic = _ms(row["in_context"]["median_s"]) if row["in_context_possible"] else "over the context limit"
        ratio = f"{row['in_context_over_seam']:.1f}x" if row["in_context_possible"] else "-"
        lines.append(f"| {row['history_tokens']:,} | {_ms(row['seam']['median_s'])} | {ic} | {ratio} | {kv:,.0f} MiB | "
                     f"{row['seam']['repeats']} |")
    lines += ["", "## Profile (self CPU time per generate call)", "",
              "| run | total | in memory reads | in memory writes | reads / token | cat calls |", "|---|---|---|---|---|---|"]
    for name, p in prof.items():
        shares = []
        for op in ("read", "write"):
            timed = p["ops"].get(f"seam.memory_{op}")
            shares.append(f"{timed['cpu_total_ms']:.0f} ms ({p[f'memory_{op}_share_of_cpu']:.1%})" if timed else "-")
        per_token = f"{p['memory_read_calls_per_token']:.2f}" if "memory_read_calls_per_token" in p else "-"
        cats = p["ops"].get("aten::cat", {}).get("calls", 0)
        lines.append(f"| {name} | {p['self_cpu_total_ms']:.0f} ms | {shares[0]} | {shares[1]} | {per_token} | {cats} |")
    lines.append("")
    return "\n".join(lines)


def write_results(results: dict, output_dir: str | Path) -> dict[str, Path]:
    """benchmark.json, benchmark.md and profile_generate.txt in output_dir; returns their paths."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "benchmark.json", "markdown": out / "benchmark.md", "profile": out / "profile_generate.txt"}
    data = {k: v for k, v in results.items() if k != "profile_text"}
    paths["json"].write_text(json.dumps(data, indent=2, default=_jsonable) + "\n")
    paths["markdown"].write_text(markdown_report(results))
    paths["profile"].write_text(results.get("profile_text", ""))
    return paths


def _jsonable(value: object) -> object:
    """json.dumps' fallback for what JSON has no type for: tuples and sets as lists, anything else as its string."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (tuple, set)):
        return list(value)
    return str(value)
