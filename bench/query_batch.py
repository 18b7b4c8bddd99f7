"""CPU per question embedding, alone and in shared runs of the offline model (MiniLM).

    PYTHONPATH=src python -m bench.query_batch [--questions 64] [--runs 3]

The baseline is a run per question (batch 1), measured in the same process; the figures
behind embeddings/minilm.py's QueryBatcher.
"""

from __future__ import annotations

import argparse
import statistics
import time

from porch.embeddings.minilm import _load


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--questions", type=int, default=64)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    model = _load()
    questions = [
        f"How much is the Pro plan for team {i} with extras?" for i in range(args.questions)
    ]
    model.run(questions[:4], 4)  # warm
    per: dict[int, float] = {}
    for size in (1, 4, 8, 16):
        samples = []
        for _ in range(args.runs):
            began = time.process_time()
            for i in range(0, len(questions), size):
                model.run(questions[i : i + size], size)
            samples.append((time.process_time() - began) / len(questions) * 1000)
        per[size] = statistics.median(samples)
    for size, ms in per.items():
        print(f"batch {size:2d}: {ms:.2f} ms CPU per question  ratio {ms / per[1]:.2f}x batch 1")


if __name__ == "__main__":
    main()
