"""The markdown summary of a run: one line per target of BENCHMARKS.md rows a-f (SQLite)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Line = tuple[str, str, str, str, str]  # row, target, figure, met, client CPU
TARGET_PARKED = 100_000


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _cpu(result: dict[str, Any]) -> str:
    share = result.get("client_cpu_share_of_one_core")
    if share is None:
        return "-"
    per_op = result.get("client_cpu_ms_per_op")
    text = f"{share * 100:.0f}% of a core"
    return text + (f" ({per_op:.3f} ms/op)" if per_op is not None else "")


def _noise(result: dict[str, Any]) -> str:
    steal = result.get("machine_steal_share")
    others = result.get("other_processes_busy_cores")
    if steal is None:
        return "-"
    text = f"steal {steal * 100:.0f}%"
    return text + (f", others {others:.2f} cores" if others is not None else "")


def _a(r: dict[str, Any]) -> list[Line]:
    lat = r["latency_ms"]
    figure = (
        f"p50 {lat['p50']:.2f} ms, p99 {lat['p99']:.2f} ms at {r['achieved_rate']:.0f} req/s "
        f"(asked {r['target_rate']:.0f}; {sum(r['errors'].values())} errors)"
    )
    met = lat["p50"] <= 3 and lat["p99"] <= 15 and not r["errors"]
    return [("a dispatch → 202", "p50 ≤ 3 ms, p99 ≤ 15 ms @ 200/s", figure, _yes(met), _cpu(r))]


def _b(r: dict[str, Any]) -> list[Line]:
    bureau = r["bureau"]
    lines: list[Line] = [
        (
            "b throughput",
            "≥ 500 tasks/s",
            f"{bureau['tasks_per_s']:.0f} tasks/s, median of "
            f"{'/'.join(f'{x:.0f}' for x in r.get('bureau_repeats_tasks_per_s', []))} "
            f"({bureau['completed']}/{bureau['tasks']} in {bureau['seconds']:.1f} s; 202s at "
            f"{bureau['dispatch_per_s']:.0f}/s)",
            _yes(bureau["tasks_per_s"] >= 500 and bureau["finished"]),
            _cpu(bureau),
        )
    ]
    ratio = r.get("ratio_bureau_over_dbos")
    dbos = ", ".join(
        f"{d['config']} {d['workflows_per_s']:.0f}/s"
        if "workflows_per_s" in d
        else f"{d['config']}: failed"
        for d in r.get("dbos", [])
    )
    lines.append(
        (
            "b vs DBOS",
            "≥ 10x DBOS (same run)",
            f"{ratio}x (DBOS {dbos})" if ratio else f"DBOS did not run ({dbos})",
            _yes(ratio is not None and ratio >= 10),
            "DBOS in-process, no HTTP",
        )
    )
    ceiling = r.get("fastapi_background", {})
    if "tasks_per_s" in ceiling:
        lines.append(
            (
                "b ceiling",
                "(reference: FastAPI BackgroundTasks, no durability)",
                f"{ceiling['tasks_per_s']:.0f} tasks/s; Bureau is "
                f"{r.get('ratio_bureau_over_ceiling', 0) * 100:.0f}% of it",
                "-",
                _cpu(ceiling),
            )
        )
    return lines


def _c(r: dict[str, Any]) -> list[Line]:
    s, c = r["server_side_ms"], r["client_observed_ms"]
    figure = (
        f"server-side p50 {s['p50']:.1f} ms, p99 {s['p99']:.1f} ms; client-observed p50 "
        f"{c['p50']:.1f} ms, p99 {c['p99']:.1f} ms (at {r['rate']:.0f}/s)"
    )
    met = s["p50"] <= 10 and s["p99"] <= 50
    return [("c pickup 202 → working", "p50 ≤ 10 ms, p99 ≤ 50 ms", figure, _yes(met), _cpu(r))]


def _d(r: dict[str, Any]) -> list[Line]:
    p50 = r["overhead_per_step_ms_p50"]
    figure = (
        f"p50 {p50:.3f} ms per step (bare call {r['bare_call_us']['p50']:.1f} µs); "
        f"duration method {r['duration_method']['overhead_per_step_ms']:.3f} ms; "
        f"16 tasks at once: p50 {r['concurrent']['overhead_us']['p50'] / 1000:.2f} ms"
    )
    return [("d step overhead", "p50 ≤ 1 ms", figure, _yes(p50 <= 1), _cpu(r))]


def _e(r: dict[str, Any]) -> list[Line]:
    p99 = r["reply_to_resumed_ms"]["p99"]
    figure = (
        f"{r['parked']:,} parked, RSS +{r['rss_growth_mb']:.1f} MB "
        f"({r['rss_growth_bytes_per_parked_task']} B/task); reply → resumed p50 "
        f"{r['reply_to_resumed_ms']['p50']:.1f} ms, p99 {p99:.1f} ms (n={r['reply_sample']})"
    )
    ok = r["rss_growth_mb"] < 50 and p99 is not None and p99 <= 100
    if r["parked"] < TARGET_PARKED:
        met = f"{'partial' if ok else '**no**'} (only {r['parked']:,} of 100,000 parked)"
    else:
        met = _yes(ok)
    return [("e parked tasks", "100k parked, RSS < +50 MB, p99 ≤ 100 ms", figure, met, _cpu(r))]


def _f(r: dict[str, Any]) -> list[Line]:
    p99 = r["delivery_ms"]["p99"]
    kb = r["memory_per_subscriber_kb"]
    figure = (
        f"{r['subscribers']} subscribers: delivery p50 {r['delivery_ms']['p50']:.1f} ms, "
        f"p99 {p99:.1f} ms; {kb:.1f} KB per subscriber "
        f"({r['subscribers_with_every_event']} got every event)"
    )
    met = p99 <= 50 and kb <= 20 and r["subscribers_with_every_event"] == r["subscribers"]
    return [("f SSE fan-out", "1,000 subs, p99 ≤ 50 ms, ≤ 20 KB each", figure, _yes(met), _cpu(r))]


RENDER: dict[str, Callable[[dict[str, Any]], list[Line]]] = {
    "a": _a,
    "b": _b,
    "c": _c,
    "d": _d,
    "e": _e,
    "f": _f,
}


def _machine(m: dict[str, Any]) -> str:
    packages = m.get("packages", {})
    return (
        f"nproc {m['nproc']} ({m.get('cpu')}), {m.get('memory_gib')} GiB, kernel "
        f"{m.get('kernel')}; Python {m['python']}, SQLite {m['sqlite']}, DBOS "
        f"{m.get('dbos') or 'not run'}; uvicorn {packages.get('uvicorn')}, fastapi "
        f"{packages.get('fastapi')}, SQLAlchemy {packages.get('sqlalchemy')}; load average at "
        f"start {', '.join(f'{x:.2f}' for x in m.get('loadavg_at_start', []))}; idle machine "
        f"jitter (1 ms sleep oversleep) p99 "
        f"{m.get('jitter', {}).get('sleep_1ms_oversleep_p99_ms', '?')} ms"
    )


def markdown(results: dict[str, Any]) -> str:
    out = [
        f"# Bureau benchmarks — {results['started_at']} ({results['mode']} run, "
        f"{results.get('total_seconds', '?')} s)",
        "",
        f"Machine: {_machine(results['machine'])}.",
        "",
        f"Client: {results['client']}. Embedded mode (SQLite, WAL). Targets are the SQLite "
        "targets of BENCHMARKS.md.",
        "",
        "| row | target | figure | met | client CPU | machine noise |",
        "|---|---|---|---|---|---|",
    ]
    for row, result in results["rows"].items():
        if "error" in result:
            out.append(f"| {row} | - | failed: {result['error']} | **no** | - | - |")
            continue
        noise_source = result.get("bureau", result)
        for name, target, figure, met, cpu in RENDER[row](result):
            out.append(f"| {name} | {target} | {figure} | {met} | {cpu} | {_noise(noise_source)} |")
    out += [
        "",
        "Not run here: PostgreSQL targets, Celery+Redis peer, rows g (recovery) and h "
        "(scale-out). Figures on a shared 2-core VM move between runs; `machine noise` is the "
        "hypervisor's steal and other processes' CPU during the measured window.",
        "",
    ]
    problems = {
        row: r.get("server_problems") or r.get("bureau", {}).get("server_problems")
        for row, r in results["rows"].items()
    }
    pauses = []
    for row, r in results["rows"].items():
        found = r.get("server_diagnostics") or r.get("bureau", {}).get("server_diagnostics")
        if found:
            gc, lag = found["gc_pauses"], found["lag_pauses"]
            pauses.append(
                f"- row {row}: {gc['count']} GC pauses ≥ 10 ms (max {gc['max_ms']:.0f} ms), "
                f"{lag['count']} loop stalls ≥ 20 ms (max {lag['max_ms']:.0f} ms)"
            )
    if pauses:
        out += ["Server pauses (`--diagnose`):", *pauses, ""]
    logged = {row: p for row, p in problems.items() if p}
    if logged:
        out.append("Server errors logged:")
        for row, lines in logged.items():
            out.append(f"- row {row}: " + "; ".join(lines[:3]))
        out.append("")
    return "\n".join(out)
