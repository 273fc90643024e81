"""SEAM's accuracy in saved benchmark runs (eval.py's JSON) by where the value's message says it: first ("Thimphu, not
Salzburg.") or after its frame. For runs saved before the report broke rows down by it (session 37); a row is listed
when it holds value-first items.

    .venv/bin/python results/design/message_key/said_in_saved_runs.py RUN.json [RUN.json ...]
"""

import json
import sys


def main(paths: list[str]) -> None:
    for path in paths:
        with open(path) as f:
            records = json.load(f)["records"].get("seam", {})
        out = []
        for row, items in records.items():
            groups: dict[str, list[bool]] = {}
            for item in items:
                said = [p for p in item["past"] if isinstance(p, str) and item.get("expected") and item["expected"].lower() in p.lower()]
                if item.get("expect") == "value" and said:
                    groups.setdefault("first" if said[-1].lower().startswith(item["expected"].lower()) else "frame", []).append(item["hit"])
            if "first" in groups:
                first, frame = groups["first"], groups.get("frame", [])
                out.append(f"{row}: value first {sum(first)}/{len(first)}, after its frame {sum(frame)}/{len(frame)}")
        print(path, "|", "; ".join(out))


if __name__ == "__main__":
    main(sys.argv[1:])
