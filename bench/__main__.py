"""python -m bench [--quick] [--out DIR] [--only SECTION ...] [--rounds N] [--first-answer-rounds N]"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from .harness import RESULTS_DIR
from .runner import FULL, QUICK, SECTIONS, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Measure the image service.")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the bench works, not the figures")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where the JSON and report.md go")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--rounds", type=int, help="interleaved rounds against make sam-api (local section)")
    parser.add_argument("--first-answer-rounds", type=int, help="fresh starts of make serve (local section)")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    if args.rounds:
        config = dataclasses.replace(config, local_rounds=args.rounds)
    if args.first_answer_rounds:
        config = dataclasses.replace(config, local_first_rounds=args.first_answer_rounds)
    run(config, args.out, tuple(name for name in SECTIONS if name in args.only))
    return 0


if __name__ == "__main__":
    sys.exit(main())
