"""Benchmark the compiler cache: a cold compile, then cached compiles of unchanged sources.

Prints the figures and writes build/bench/compile.json.
"""

import json
import statistics
import time

from rwaledger import paths
from rwaledger.compiler import compile_project


def main() -> None:
    cold = compile_project(force=True)
    warm = []
    for _ in range(20):
        t = time.perf_counter()
        r = compile_project()
        warm.append(time.perf_counter() - t)
        assert r.cached
    result = {
        "compiler": cold.compiler.describe(),
        "contracts": len(cold.artifacts),
        "cold_compile_s": round(cold.seconds, 3),
        "cached_compile_median_s": round(statistics.median(warm), 4),
        "cached_compile_max_s": round(max(warm), 4),
        "cached_target_s": 0.2,
    }
    out = paths.BUILD_DIR / "bench" / "compile.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    for k, v in result.items():
        print(f"{k:26} {v}")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
