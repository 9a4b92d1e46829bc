"""`python -m bench` (`make bench`): every benchmark in turn, each beside its own floor.

The reminder benchmark's size comes from TEND_BENCH_REMINDERS (default 100000;
it takes about ten minutes at that size on a 2-core machine), the digest
benchmark's from TEND_BENCH_DIGESTS (default 100000 people).
"""

import os
import subprocess
import sys

BENCHMARKS = [
    ["bench.clock_tick"],
    ["bench.streaks"],
    ["bench.feeds"],
    ["bench.checkins"],
    ["bench.setup"],
    ["bench.pages"],
    ["bench.reminders", "--count", os.environ.get("TEND_BENCH_REMINDERS", "100000")],
    ["bench.digests", "--people", os.environ.get("TEND_BENCH_DIGESTS", "100000")],
]


def main() -> int:
    failed = 0
    for command in BENCHMARKS:
        print(f"== python -m {' '.join(command)}", flush=True)
        failed += subprocess.run([sys.executable, "-m", *command]).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
