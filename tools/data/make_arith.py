#!/usr/bin/env python3
"""Writes tools/data/arith.jsonl: 300 arithmetic problems in the verl/slime row format.

Deterministic (fixed seed), written for heapa's tests and README. Every third row has a
plain-string prompt, the others a chat-message list; difficulty grows with the operand sizes.
Usage: python3 tools/data/make_arith.py > tools/data/arith.jsonl
"""
import json
import random

rng = random.Random(20261126)
seen = set()
rows = []
ops = [("+", lambda a, b: a + b), ("-", lambda a, b: a - b), ("*", lambda a, b: a * b)]
while len(rows) < 300:
    i = len(rows)
    level = 1 + i // 100  # 1, 2, 3
    hi = 10 ** level
    a, b = rng.randrange(1, hi), rng.randrange(1, hi)
    sym, fn = rng.choice(ops)
    question = f"What is {a} {sym} {b}?"
    if question in seen:
        continue
    seen.add(question)
    text = question + " Give only the number."
    prompt = text if i % 3 == 2 else [
        {"role": "system", "content": "You are a careful calculator."},
        {"role": "user", "content": text},
    ]
    rows.append({
        "data_source": "heapa/arith",
        "prompt": prompt,
        "ability": "math",
        "reward_model": {"style": "rule", "ground_truth": str(fn(a, b))},
        "extra_info": {"split": "train", "index": i, "level": level},
    })
for row in rows:
    print(json.dumps(row, separators=(",", ":")))
