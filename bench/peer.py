"""porch against a real peer (Spur) on the same work, through the shared side-by-side harness.

    make bench-peer                     # or: python -m bench.peer --runs 3
    python -m bench.peer --runs 3 --repeat 0.2

The harness (`PEER_HARNESS`, by default ../shared/perf/spur-vs-porch) runs porch and Spur
alternately on the same PostgreSQL, fake model and load generator, and prints each
system's figures and porch's ratio to Spur within each round (see its README). Spur's built
source must be in `SPUR_DIR` (its setup_spur.sh makes it); without it this says how to get
it and exits with status 2.

`--repeat F` makes the questions a support inbox's mix: a fraction F of them is drawn from
a short list of common questions that recur ("how do I return an item?"), the rest stay
unique. Repeats are what a question cache is for; unique ones are its worst case, which is
what the harness alone measures. Spur answers every question the same way, so its figures
do not depend on the mix.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_HARNESS = ROOT.parent / "shared" / "perf" / "spur-vs-porch"
COMMON = (
    "How much is the Pro plan?",
    "How do I return an item?",
    "When will my order arrive?",
    "Can I change my delivery address?",
    "Do you ship internationally?",
    "How do I reset my password?",
    "What payment methods do you accept?",
    "How do I cancel my subscription?",
    "Is there a free trial?",
    "How can I contact support?",
)


def _load(harness: Path) -> ModuleType:
    # The harness imports its load generator by its bare name, as a script does.
    sys.path.insert(0, str(harness))
    spec = importlib.util.spec_from_file_location("peer_bench", harness / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mix_questions(loadgen: ModuleType, fraction: float, seed: int = 7) -> None:
    """Every message the load generator sends passes here: a `fraction` of them asks one of
    the common questions instead of its unique one."""
    send = loadgen._send
    rng = random.Random(seed)

    async def mixed(http: Any, url: str, body: dict[str, Any], *rest: Any) -> Any:
        if rng.random() < fraction:
            key = "content" if "content" in body else "message"
            body = {**body, key: rng.choice(COMMON)}
        return await send(http, url, body, *rest)

    loadgen._send = mixed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=float, default=0.0, help="share of recurring questions")
    args, rest = p.parse_known_args()
    harness = Path(os.environ.get("PEER_HARNESS", DEFAULT_HARNESS))
    spur = os.environ.get("SPUR_DIR")
    if not (harness / "bench.py").is_file():
        print(f"bench-peer: no side-by-side harness at {harness} (set PEER_HARNESS)")
        return 2
    if not spur or not (Path(spur) / "backend" / "dist").is_dir():
        print(
            "bench-peer: Spur's built source is not there. Get it and build it with\n"
            f"  SPUR_GIT=<git dir of YahyaMd03/spur-ai-live-chat> SPUR_DIR=<dir> "
            f"{harness}/setup_spur.sh\n"
            "then run again with SPUR_DIR=<dir>."
        )
        return 2
    os.environ.setdefault("PORCH_DIR", str(ROOT))
    bench = _load(harness)
    if args.repeat > 0:
        _mix_questions(bench.loadgen, args.repeat)
        print(f"questions: {args.repeat:.0%} drawn from {len(COMMON)} common ones", flush=True)
    if not any(a == "--out" or a.startswith("--out=") for a in rest):
        rest += ["--out", str(ROOT / "bench" / "results" / "peer")]
    sys.argv = [str(harness / "bench.py"), *rest]
    bench.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
