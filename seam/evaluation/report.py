"""Results of the harness as a Markdown table and PNG plots."""

from __future__ import annotations

import math
from pathlib import Path

from ..tasks.suite import GENERAL_ROWS
from .systems import SYSTEM_LABELS


def _pct(summary: dict) -> str:
    low, high = summary["ci95"]
    return f"{100 * summary['accuracy']:.0f}% [{100 * low:.0f}-{100 * high:.0f}]"


def _bytes(n: float | None) -> str:
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def markdown_table(results: dict) -> str:
    """Accuracy per task and system (with 95% Wilson intervals), then the costs per system."""
    systems = list(results["costs"])
    head = "| task | n | " + " | ".join(SYSTEM_LABELS.get(s, s) for s in systems) + " |"
    lines = [head, "|" + "---|" * (len(systems) + 2)]
    for row in results["rows"]:
        cells = ["-" if s not in row["systems"] else
                 _pct(row["systems"][s]) + (f" (n={row['systems'][s]['n']})" if row["systems"][s]["n"] != row["n"] else "")
                 for s in systems]
        lines.append(f"| {row['label']} | {row['n']} | " + " | ".join(cells) + " |")
    framed = [
        f"{row['key'].removeprefix('facts ')} {100 * row['systems']['seam']['name_frame_share']:.0f}%"
        for row in results["rows"] if row["key"].startswith("facts") and "seam" in row["systems"]
    ]
    leaked = [f"{SYSTEM_LABELS.get(s, s)} {100 * v['leak_share']:.0f}%" for row in results["rows"] if row["key"] == "unrelated"
              for s, v in row["systems"].items()]
    lines += [
        "",
        *([f"Unrelated replies that mention the user's name anyway, mid-sentence (not a miss of that row): {', '.join(leaked)}.", ""]
          if leaked else []),
        *([f"SEAM was trained on names only: its replies to the fact questions are in the name frame (\"Your name is "
           f"purple.\") in {', '.join(framed)} of cases; a hit counts the value, whatever the sentence.", ""] if framed else []),
        "Accuracy with 95% Wilson interval. Retention k=0 and 0 decay cycles are the recall row. The baselines answer "
        "an identical prompt once (no memory after k distractors or n decay cycles asks the recall prompt again).",
        "",
    ]
    return "\n".join(lines + costs_table(results)) + "\n"


def _cost_label(key: str) -> str:
    if key in ("recall", "fact: name"):
        return "just introduced" if key == "recall" else "just told"
    return key.replace("retention k=", "") + " conversations later"


def costs_table(results: dict) -> list[str]:
    """Markdown lines: prompt tokens, latency, write time and memory per user, per system."""
    rows = list(next(iter(results["costs"].values()))["rows"])
    span = " / ".join(_cost_label(k) for k in rows)
    lines = [
        f"| system | prompt tokens / query ({span}) | latency ms / query ({span}) | write ms / message | memory / user ({span}) |",
        "|---|---|---|---|---|",
    ]
    systems = list(results["costs"])
    for s in systems:
        c = results["costs"][s]
        per = [c["rows"].get(k, {}) for k in rows]
        tokens = " / ".join(f"{p.get('prompt_tokens_per_query', float('nan')):.0f}" for p in per)
        latency = " / ".join(f"{p.get('latency_ms_per_query', float('nan')):.0f}" for p in per)
        memory = " / ".join(_bytes(p.get("memory_bytes_per_user")) + (f" ({_bytes(p['memory_bytes_used_per_user'])} in use)"
                                                                        if "memory_bytes_used_per_user" in p else "") for p in per)
        lines.append(f"| {SYSTEM_LABELS.get(s, s)} | {tokens} | {latency} | {c['write_ms_per_message']:.0f} | {memory} |")
    lines += [
        "",
        f"Latency: {results['latency_definition']}; {results['torch_threads']} torch threads. Write: SEAM's remember() (a "
        "forward pass over the message; inside generate(update_memory=True) it shares the reply's prefill), retrieval's "
        "MiniLM embedding. SEAM's state is preallocated (fixed size per user). "
        f"Whole run: {results['runtime_seconds'] / 60:.1f} min.",
    ]
    return lines


def memory_markdown(results: dict) -> str:
    """The memory benchmark's tables: accuracy by row and system, the no-harm and error measures, costs,
    breakdowns by kind / style / pair, and the worst misses."""
    systems = list(results["costs"])
    lines = ["| row | n | " + " | ".join(SYSTEM_LABELS.get(s, s) for s in systems) + " |", "|" + "---|" * (len(systems) + 2)]
    for row in results["rows"]:
        cells = ["-" if s not in row["systems"] else
                 _pct(row["systems"][s]) + (f" (n={row['systems'][s]['n']})" if row["systems"][s]["n"] != row["n"] else "")
                 for s in systems]
        lines.append(f"| {row['label']} | {row['n']} | " + " | ".join(cells) + " |")
    lines.append("")
    label = lambda s: SYSTEM_LABELS.get(s, s)  # noqa: E731
    notes = []
    for _, key, where, _ in GENERAL_ROWS:
        where = f", asked {where}" if where else ""
        if results.get(key, {}).get("filtered"):
            lost = results[key]["lost"]
            notes.append(f"General answers lost to memory{where} (of those the bare model gets right): "
                         + ", ".join(f"{label(s)} {v['lost']}/{v['n']} ({100 * v['share']:.1f}%)" for s, v in lost.items()) + ".")
    if "kl_to_bare" in results:
        kl = results["kl_to_bare"]
        notes.append(f"SEAM vs the bare model on {kl['prompts']} general prompts ({kl['tokens']} reply tokens, realistic memory "
                     f"loaded): mean KL {kl['mean_kl_per_token']:.4f} nats/token (median {kl['median_kl_per_token']:.4f}, "
                     f"{100 * kl['share_of_tokens_over_0.1']:.1f}% of tokens over 0.1).")
    if results.get("told_answered_not_told"):
        notes.append("Told facts answered \"not told\" (single-fact rows): " + ", ".join(
            f"{label(s)} {100 * v['share']:.1f}% (n={v['n']})" for s, v in results["told_answered_not_told"].items()) + ".")
    if results.get("confusions"):
        notes.append("Confusable facts answered with the other one: " + ", ".join(
            f"{label(s)} {100 * v['share']:.1f}% (n={v['n']})" for s, v in results["confusions"].items()) + ".")
    lines += [f"- {n}" for n in notes] + [""] if notes else []
    lines += ["Accuracy with 95% Wilson interval; n per row (a baseline asked on fewer episodes shows its own n). Test values, "
              "test phrasings and three kinds of facts never seen in training.", ""]
    lines += costs_table(results) + [""]
    lines += ["**The retraining targets (#14)**", "", targets_markdown(results), ""]
    for row, by_key in results.get("breakdowns", {}).items():
        for key, table in by_key.items():
            lines += [f"**{row}, by {key}**", "", f"| {key} | " + " | ".join(label(s) for s in systems) + " |",
                      "|---|" + "---|" * len(systems)]
            for value, per in table.items():
                lines.append(f"| {value} | " + " | ".join(
                    f"{100 * per[s]['accuracy']:.0f}% (n={per[s]['n']})" if s in per else "-" for s in systems) + " |")
            lines.append("")
    misses = results.get("worst_misses", {})
    if misses.get("rows"):
        lines += [f"**Misses ({label(misses['system'])}), the first of each row**", ""]
        for row, items in misses["rows"].items():
            lines.append(f"- {row}: " + "; ".join(
                f"{m['question']!r} (expected {m['expected']!r}) -> {m['reply']!r}" for m in items[:3]))
        lines.append("")
    return "\n".join(lines)


def _combined(results: dict, keys: tuple[str, ...], system: str, misses: bool = False) -> tuple[float, int] | None:
    """Accuracy over several rows together (hits / n) for one system, or None if it ran none of them; with
    misses, the share missed, counted ((n - hits) / n: 1 - 0.99 is not <= 0.01 in floating point)."""
    rows = [r["systems"][system] for r in results["rows"] if r["key"] in keys and system in r["systems"]]
    n, hits = sum(r["n"] for r in rows), sum(r["hits"] for r in rows)
    return ((n - hits if misses else hits) / n, n) if n else None


def _worst(results: dict, row: str, by: str, system: str) -> tuple[float, int, str] | None:
    """The lowest accuracy of a row's breakdown (e.g. by kind) for one system: (accuracy, n, which)."""
    table = results.get("breakdowns", {}).get(row, {}).get(by, {})
    cells = [(per[system]["accuracy"], per[system]["n"], value) for value, per in table.items() if system in per and per[system]["n"]]
    return min(cells) if cells else None


TARGETS = (
    # (label, how it is measured, target text, goal: ("min", x) accuracy at least x, ("max", x) share at most x)
    ("names, every style", "fact: name", ">= 95%", ("min", 0.95)),
    ("names, worst style", "fact: name/style", ">= 95%", ("min", 0.95)),
    ("trained kinds, worst kind", "fact: trained kinds/kind", ">= 90% each", ("min", 0.90)),
    ("trained kinds, all", "fact: trained kinds", "(>= 90% each)", ("min", 0.90)),
    ("kinds never trained", "fact: kinds never trained", "report; aim >= 70%", ("min", 0.70)),
    ("binding: three facts in one turn", "binding", ">= 90%", ("min", 0.90)),
    ("confusable facts answered with the other one", "confusions", "<= 2%", ("max", 0.02)),
    ("knowledge updates (corrections after 1 and 3, changes)", "updates", ">= 90%", ("min", 0.90)),
    ("abstention: never told, says so", "abstention", ">= 90%", ("min", 0.90)),
    ("told facts answered \"not told\"", "told_answered_not_told", "<= 3%", ("max", 0.03)),
    ("general answers lost with memory loaded", "no_harm", "<= 1%", ("max", 0.01)),
    ("... asked right after a fact, in the same conversation", "no_harm_after_fact", "<= 1%", ("max", 0.01)),
    ("... asked with an empty memory (a new user; row added in session 18)", "no_harm_empty_memory", "<= 1%", ("max", 0.01)),
    ("leaks of told facts into 48-token replies", "leaks", "<= 1%", ("max", 0.01)),
    ("retention after 20 conversations", "retention k=20", ">= 90%", ("min", 0.90)),
    ("retention after 50 conversations", "retention k=50", "report", None),
)
"""The retraining issue's targets (#14), each measured from a memory benchmark run."""


def target_values(results: dict, measure: str, system: str) -> tuple[float, int, str] | None:
    """(value, n, note) of one target measure for one system, or None where it was not measured."""
    if measure.endswith(("/style", "/kind")):
        row, by = measure.split("/")
        return _worst(results, row, by, system)
    if measure in ("confusions", "told_answered_not_told"):
        v = results.get(measure, {}).get(system)
        return (v["share"], v["n"], "") if v else None
    if measure in {row[1] for row in GENERAL_ROWS}:
        v = results.get(measure, {}).get("lost", {}).get(system)
        return (v["share"], v["n"], "") if v else None
    if measure == "leaks":
        got = _combined(results, ("no harm: leaks",), system, misses=True)
        return (got[0], got[1], "") if got else None
    keys = {"updates": ("update: correction after 1", "update: correction after 3", "update: change"),
            "abstention": ("abstention: empty memory", "abstention: other facts told")}.get(measure, (measure,))
    got = _combined(results, keys, system)
    return (got[0], got[1], "") if got else None


def targets_markdown(results: dict) -> str:
    """The retraining issue's targets, each with every system's measured figure, and whether SEAM meets it."""
    systems = list(results["costs"])
    label = lambda s: SYSTEM_LABELS.get(s, s)  # noqa: E731
    lines = ["| target | goal | " + " | ".join(label(s) for s in systems) + " | SEAM meets it |", "|---|---|" + "---|" * (len(systems) + 1)]
    for name, measure, goal_text, goal in TARGETS:
        cells, seam = [], None
        for s in systems:
            got = target_values(results, measure, s)
            if got is None:
                cells.append("-")
                continue
            value, n, which = got
            cells.append(f"{100 * value:.0f}% (n={n}{', ' + which if which else ''})")
            if s == "seam":
                seam = value
        meets = "-" if goal is None or seam is None else (
            "yes" if (seam >= goal[1] if goal[0] == "min" else seam <= goal[1]) else "no")
        lines.append(f"| {name} | {goal_text} | " + " | ".join(cells) + f" | {meets} |")
    return "\n".join(lines)


def plot_results(results: dict, output_dir: str | Path, prefix: str = "") -> list[Path]:
    """{prefix}accuracy.png (every row), {prefix}retention_decay.png (accuracy against distractors and decay),
    {prefix}costs.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output_dir = Path(output_dir)
    systems = list(results["costs"])
    rows = results["rows"]
    paths = []

    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(rows)), 4.5))
    width = 0.8 / len(systems)
    for j, s in enumerate(systems):
        nan = {"accuracy": float("nan"), "ci95": [float("nan"), float("nan")]}  # a system that did not play the row
        got = [r["systems"].get(s, nan) for r in rows]
        acc = [g["accuracy"] for g in got]
        # Wilson bounds may sit a rounding error inside an accuracy of exactly 0 or 1: clamp at 0.
        err = [[0.0 if math.isnan(a) else max(0.0, a - g["ci95"][0]) for a, g in zip(acc, got)],
               [0.0 if math.isnan(a) else max(0.0, g["ci95"][1] - a) for a, g in zip(acc, got)]]
        ax.bar([i + (j - (len(systems) - 1) / 2) * width for i in range(len(rows))], acc, width, yerr=err, capsize=2,
               label=SYSTEM_LABELS.get(s, s))
    ax.set_xticks(range(len(rows)), [r["key"] for r in rows], rotation=35, ha="right")
    ax.set_ylim(0, 1.05), ax.set_ylabel("accuracy (95% CI)")
    memory_suite = results.get("suite") == "memory"
    ax.set_title("Memory benchmark: accuracy by row and system" if memory_suite else "Held-out recall by system")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    paths.append(output_dir / f"{prefix}accuracy.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key_prefix, xlabel in ((axes[0], "retention k=", "unrelated conversations in between"),
                               (axes[1], "decay ", "decay cycles in between")):
        chosen = [r for r in rows if r["key"].startswith(key_prefix)]
        if not chosen:
            ax.set_visible(False)
            continue
        xs = [int(r["key"][len(key_prefix):]) for r in chosen]
        for s in systems:
            ax.plot(xs, [r["systems"][s]["accuracy"] for r in chosen], "o-", label=SYSTEM_LABELS.get(s, s))
        ax.set_xscale("symlog", linthresh=1), ax.set_xticks(xs, [str(x) for x in xs])
        ax.set_ylim(0, 1.05), ax.set_xlabel(xlabel), ax.set_ylabel("accuracy"), ax.legend(fontsize=8)
    axes[0].set_title("Retention"), axes[1].set_title("Decay")
    fig.tight_layout()
    paths.append(output_dir / f"{prefix}retention_decay.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    labels = [SYSTEM_LABELS.get(s, s) for s in systems]
    cost_rows = list(results["costs"][systems[0]]["rows"])
    width = 0.8 / max(1, len(cost_rows))
    for ax, key, title in ((axes[0], "prompt_tokens_per_query", "prompt tokens / query"),
                           (axes[1], "latency_ms_per_query", "latency ms / query (batched)"),
                           (axes[2], "memory_bytes_per_user", "memory bytes / user")):
        for j, row in enumerate(cost_rows):
            values = [results["costs"][s]["rows"].get(row, {}).get(key, float("nan")) for s in systems]
            ax.bar([i + (j - (len(cost_rows) - 1) / 2) * width for i in range(len(systems))], values, width,
                   label=_cost_label(row))
        ax.set_xticks(range(len(systems)), labels, rotation=20, ha="right", fontsize=8)
        ax.set_title(title)
    axes[2].set_yscale("symlog"), axes[0].legend(fontsize=8)
    fig.tight_layout()
    paths.append(output_dir / f"{prefix}costs.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def mcnemar_p(gained: int, lost: int) -> float:
    """Exact two-sided McNemar p-value of `gained` against `lost` discordant items (1.0 when there are none): how
    likely a split at least this uneven is when the two runs are equally good on the row."""
    n = gained + lost
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(gained, lost) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_comparison(before: dict, after: dict, system: str = "seam") -> list[dict]:
    """Item by item, the rows two benchmark runs on the same items share (the same split, seed and sizes): per row
    n, hits before and after, the items gained and lost (with their replies) and told facts answered "not told" before
    and after. Items are paired by user, question and expected value, so runs whose rows differ in size are refused
    rather than misread."""
    def item(r: dict) -> tuple:
        return r["user"], r["question"], str(r["expected"])

    rows = []
    old, new = before["records"][system], after["records"][system]
    for row, recs in old.items():
        if row not in new or not (recs or new[row]):  # a row neither run asked (the selection's decay rows: 0 items)
            continue
        keyed = {item(r): r for r in new[row]}
        if len(keyed) != len(recs) or any(item(r) not in keyed for r in recs):
            raise ValueError(f"Row {row!r} holds other items in the two runs ({len(recs)} and {len(new[row])}): compare runs "
                             "of the same split, seed and sizes.")
        pairs = [(r, keyed[item(r)]) for r in recs]
        gained = [(a, b) for a, b in pairs if b["hit"] and not a["hit"]]
        lost = [(a, b) for a, b in pairs if a["hit"] and not b["hit"]]
        asked = [(a["question"], _refused(a), _refused(b)) for a, b in pairs if a.get("expect") == "value"]
        rows.append({"row": row, "n": len(pairs), "before": sum(a["hit"] for a, _ in pairs), "after": sum(b["hit"] for _, b in pairs),
                     "gained": gained, "lost": lost, "p": mcnemar_p(len(gained), len(lost)),
                     "refused_before": sum(before for _, before, _ in asked), "refused_after": sum(after for _, _, after in asked),
                     "asked": asked})
    return rows


def _refused(record: dict) -> bool:
    """A told fact (a value expected) answered "not told"."""
    return bool(record.get("expect") == "value" and record.get("abstained", False))


def refusals_by_question(rows: list[dict], top: int = 8) -> list[tuple[str, int, int, int]]:
    """Told facts answered "not told", by the question asked, over every row of a paired comparison: (question, told
    items asked so, refused before, refused after), the `top` whose count moved most first. One wording that turned
    into a refusal (a training kind asked alike) shows here before it shows in any row."""
    counts: dict[str, list[int]] = {}
    for r in rows:
        for question, before, after in r.get("asked", ()):
            c = counts.setdefault(question, [0, 0, 0])
            c[0] += 1
            c[1] += before
            c[2] += after
    moved = sorted(counts.items(), key=lambda kv: (-abs(kv[1][2] - kv[1][1]), -kv[1][2], kv[0]))
    return [(q, n, b, a) for q, (n, b, a) in moved[:top] if b or a]


NOISE_P = 0.05
"""A paired row's change counts as beyond noise below this exact McNemar p (`beyond_noise`)."""


def beyond_noise(rows: list[dict], p: float = NOISE_P) -> dict[str, list[str]]:
    """The rows of paired_comparison that moved beyond noise (exact McNemar p below `p`): "worse" (more items lost
    than gained) and "better". The guard a choice between checkpoints needs: a mean over many rows can let small
    gains pay for one row falling (session 34: abstention after other facts 48 -> 32 % under a higher mean)."""
    moved = [r for r in rows if r["p"] < p]
    return {"worse": [r["row"] for r in moved if len(r["lost"]) > len(r["gained"])],
            "better": [r["row"] for r in moved if len(r["gained"]) > len(r["lost"])]}


def paired_markdown(rows: list[dict], labels: tuple[str, str] = ("before", "after"), examples: int = 3) -> str:
    """paired_comparison's rows as a Markdown table (first, the rows beyond noise), then up to `examples` items gained
    and lost per row."""
    a, b = labels
    moved = beyond_noise(rows)
    lines = [f"Rows beyond noise (exact McNemar p < {NOISE_P:g}), {b} against {a}: worse: {', '.join(moved['worse']) or 'none'}; "
             f"better: {', '.join(moved['better']) or 'none'}.", "",
             f"| row | n | {a} | {b} | gained | lost | p (exact McNemar) | told answered \"not told\": {a} / {b} |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        refused = f"{r['refused_before']} / {r['refused_after']}" if r["refused_before"] or r["refused_after"] else ""
        lines.append(f"| {r['row']} | {r['n']} | {r['before'] / r['n']:.0%} | {r['after'] / r['n']:.0%} | {len(r['gained'])} | "
                     f"{len(r['lost'])} | {r['p']:.2g} | {refused} |")
    by_question = refusals_by_question(rows)
    if by_question:
        lines += ["", f"Told facts answered \"not told\", by question (the {len(by_question)} that moved most):", "",
                  f"| question | told items asked so | refused: {a} | {b} |", "|---|---|---|---|"]
        lines += [f"| {q} | {n} | {before} | {after} |" for q, n, before, after in by_question]
    if examples:
        lines += ["", f"Items that changed ({a} -> {b}; + gained, - lost):", ""]
        for r in rows:
            changed = [("+", x, y) for x, y in r["gained"][:examples]] + [("-", x, y) for x, y in r["lost"][:examples]]
            if changed:
                lines.append(f"- {r['row']}: " + "; ".join(
                    f"{sign} {x['question']!r} (expected {x['expected']!r}): {x['reply']!r} -> {y['reply']!r}" for sign, x, y in changed))
    return "\n".join(lines) + "\n"
