"""Graphyard benchmarks: one command, a markdown table with the machine it ran on.

    python -m benchmarks.run            # full sizes (a few minutes)
    python -m benchmarks.run --quick    # tiny sizes: checks the benchmark still works

Every figure comes from this machine in this run; ratios compare with raw LangGraph running
the same graph in-process, measured here too, twice: on Graphyard's own SQLite connection
(the server's saver) and on LangGraph's stock AsyncSqliteSaver over aiosqlite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import tempfile
from pathlib import Path

from benchmarks.engine_overhead import measure as engine_measure
from benchmarks.raw_and_seed import raw_throughput, seed_history
from benchmarks.server_bench import Bench, pct
from benchmarks.serverproc import ServerProcess

FULL = {
    "latency": 200,
    "throughput": 400,
    "events": 50,
    "cancel": 100,
    "gate": 100,
    "completed": 1000,
    "waiting": 1000,
    "scale_runs": 100_000,
    "scale_events": 10,
    "engine_runs": 150,
    "reads": 30,
}
PAGE = 50  # the run list's default page size
QUICK = {
    "latency": 5,
    "throughput": 16,
    "events": 3,
    "cancel": 3,
    "gate": 3,
    "completed": 20,
    "waiting": 10,
    "scale_runs": 200,
    "scale_events": 10,
    "engine_runs": 10,
    "reads": 3,
}


def machine() -> str:
    cpu = "unknown cpu"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


async def server_figures(sizes: dict[str, int], folder: Path) -> list[tuple[str, str, str]]:
    server = ServerProcess(folder / "data")
    bench = Bench(server)
    rows: list[tuple[str, str, str]] = []
    try:
        await bench.setup()
        lat = await bench.latency(sizes["latency"])
        rows.append(
            (
                "create + execute + wait, 3 nodes, p50 / p95",
                f"{pct(lat, 0.5):.1f} / {pct(lat, 0.95):.1f} ms",
                "p50 <= 25 ms",
            )
        )
        cpu = []
        for c in (1, 8, 32):
            rate, cpu_ms = await bench.throughput(sizes["throughput"], c)
            cpu.append(cpu_ms)
            rows.append(
                (
                    f"throughput at concurrency {c}",
                    f"{rate:.1f} runs/s",
                    ">= 100 runs/s at 32" if c == 32 else "",
                )
            )
        raw = await raw_throughput(folder, sizes["throughput"], 32)
        stock = await raw_throughput(folder, sizes["throughput"], 32, stock=True)
        rows += [
            (
                "raw LangGraph, same graph, Graphyard's saver, concurrency 32",
                f"{raw:.1f} runs/s",
                "",
            ),
            (
                "raw LangGraph, same graph, stock AsyncSqliteSaver, concurrency 32",
                f"{stock:.1f} runs/s",
                "",
            ),
            ("server / raw (Graphyard's saver) at concurrency 32", f"{rate / raw:.2f}", ">= 0.8"),
            ("server / raw (stock saver) at concurrency 32", f"{rate / stock:.2f}", ">= 0.8"),
        ]
        rows.append(("server CPU per run", f"{statistics.median(cpu):.1f} ms", ""))
        first = await bench.first_event(sizes["events"])
        rows.append(("execute -> first SSE event, p50", f"{pct(first, 0.5):.1f} ms", "<= 15 ms"))
        cancel = await bench.cancel(sizes["cancel"])
        rows.append(
            (
                "cancel latency p50 / p99",
                f"{pct(cancel, 0.5):.1f} / {pct(cancel, 0.99):.1f} ms",
                "p99 <= 100 ms",
            )
        )
        gate = await bench.gate_round_trip(sizes["gate"])
        rows.append(("gate decision -> COMPLETED, p50", f"{pct(gate, 0.5):.1f} ms", "<= 25 ms"))
        done, waiting = await bench.memory(sizes["completed"], sizes["waiting"])
        rows.append(
            (
                f"RSS growth per completed run ({sizes['completed']} runs)",
                f"{done:.2f} KiB",
                "<= 5 KiB",
            )
        )
        rows.append(
            (
                f"RSS per run WAITING at a gate ({sizes['waiting']} runs)",
                f"{waiting:.2f} KiB",
                "<= 20 KiB",
            )
        )
        rows += await scale_rows(bench, server, sizes)
    finally:
        await bench.close()
        server.stop()
    return rows


async def scale_rows(
    bench: Bench, server: ServerProcess, sizes: dict[str, int]
) -> list[tuple[str, str, str]]:
    probe = await bench.run("three")
    # The baseline holds one full page of runs, so both lists return 50 items: what is
    # compared is the cost of a big history, not of rendering 50 runs instead of one.
    await asyncio.to_thread(
        seed_history, server.data_dir / "graphyard.db", PAGE - 1, sizes["scale_events"]
    )
    before = await bench.read_latencies(probe["run_id"], sizes["reads"])
    await asyncio.to_thread(
        seed_history, server.data_dir / "graphyard.db", sizes["scale_runs"], sizes["scale_events"]
    )
    after = await bench.read_latencies(probe["run_id"], sizes["reads"])
    label = f"{sizes['scale_runs']:,} runs, {sizes['scale_runs'] * sizes['scale_events']:,} events"
    return [
        (
            f"{name} at {label} / before",
            f"{after[name]:.1f} / {before[name]:.1f} ms ({after[name] / before[name]:.2f}x)",
            "<= 2x",
        )
        for name in ("status", "list", "replay")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check it runs")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    engine = asyncio.run(engine_measure(sizes["engine_runs"], 10))
    with tempfile.TemporaryDirectory() as tmp:
        rows = asyncio.run(server_figures(sizes, Path(tmp)))
    print(f"Machine: {machine()}\n")
    print("| measure | value | target |\n|---|---:|---|")
    print(
        f"| engine: 10-node chain, Graphyard / hand-written StateGraph (same tool calls) | "
        f"{engine['graphyard'] / engine['raw_same_tool']:.2f}x | <= 1.3x |"
    )
    print(
        f"| engine: Graphyard / hand-written StateGraph of empty nodes | "
        f"{engine['graphyard'] / engine['raw_trivial']:.2f}x | |"
    )
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")


if __name__ == "__main__":
    main()
