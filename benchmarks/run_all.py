"""`make bench`: run every benchmark in this folder, one after another, and list their result files.

Benchmarks measure; they are not tests. Each script prints its own table (with the peer it
is compared against, measured in the same run) and writes JSON under benchmarks/results/.
Run one alone with `.venv/bin/python benchmarks/<name>.py --help`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = ["bench_sim.py", "bench_transport.py", "bench_realtime.py", "bench_student.py", "bench_eval.py"]


def main() -> int:
    scripts = [HERE / name for name in ORDER if (HERE / name).exists()]
    scripts += sorted(p for p in HERE.glob("bench_*.py") if p.name not in ORDER)
    failed = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"--- {script.name}: exit {code} in {time.perf_counter() - started:.0f} s", flush=True)
        if code != 0:
            failed.append(script.name)
    print("\nresults:", *sorted(str(p.relative_to(HERE.parent)) for p in (HERE / "results").glob("*.json")), sep="\n  ")
    if failed:
        print(f"failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
