"""The markdown summary of a run: one line per target of BENCHMARKS.md, per backend and
topology (embedded SQLite: rows a-f; PostgreSQL + Redis: rows a-d in two topologies, the
row b peers, g and h)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TARGET_PARKED = 100_000


@dataclass(frozen=True)
class Targets:
    """The thresholds of BENCHMARKS.md that differ between the backends."""

    a_p50: float
    a_p99: float
    b_rate: float
    d_p50: float


TARGETS = {
    "sqlite": Targets(a_p50=3, a_p99=15, b_rate=500, d_p50=1),
    "postgres": Targets(a_p50=5, a_p99=20, b_rate=400, d_p50=2),
}
C_P50, C_P99 = 10, 50
G_RESUME_S = 5.0
H_RATIO = 1.7
B_OVER_DBOS, B_OVER_CELERY = 10, 1


@dataclass
class Line:
    row: str
    target: str
    figure: str
    met: str
    cpu: str
    source: dict[str, Any]  # the result its CPU and machine-noise columns come from


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _cpu(result: dict[str, Any]) -> str:
    """Client CPU, and the server's (per process when there are several)."""
    share = result.get("client_cpu_share_of_one_core")
    if share is None:
        return "-"
    per_op = result.get("client_cpu_ms_per_op")
    text = f"client {share * 100:.0f}%" + (f" ({per_op:.3f} ms/op)" if per_op is not None else "")
    server = result.get("server_cpu_share_of_one_core")
    if server is not None:
        text += f"; server {server * 100:.0f}%"
        by_process = result.get("server_cpu_share_by_process")
        if by_process:
            text += " (" + ", ".join(f"{n} {s * 100:.0f}%" for n, s in by_process.items()) + ")"
    return text + " of a core"


def _services(result: dict[str, Any]) -> str:
    found = result.get("service_cpu_share_of_one_core") or {}
    return ", ".join(f"{name} {share * 100:.0f}%" for name, share in found.items())


def _noise(result: dict[str, Any]) -> str:
    steal = result.get("machine_steal_share")
    others = result.get("other_processes_busy_cores")
    if steal is None:
        return "-"
    text = f"steal {steal * 100:.0f}%"
    busy = result.get("machine_busy_cores")
    text += f", busy {busy:.2f} cores" if busy is not None else ""
    text += f" ({services})" if (services := _services(result)) else ""
    return text + (f", others {others:.2f}" if others is not None else "")


def _a(r: dict[str, Any], t: Targets) -> list[Line]:
    lat = r["latency_ms"]
    figure = (
        f"p50 {lat['p50']:.2f} ms, p99 {lat['p99']:.2f} ms at {r['achieved_rate']:.0f} req/s "
        f"(asked {r['target_rate']:.0f}; {sum(r['errors'].values())} errors)"
    )
    met = lat["p50"] <= t.a_p50 and lat["p99"] <= t.a_p99 and not r["errors"]
    target = f"p50 ≤ {t.a_p50:g} ms, p99 ≤ {t.a_p99:g} ms @ 200/s"
    return [Line("a dispatch → 202", target, figure, _yes(met), _cpu(r), r)]


def _b(r: dict[str, Any], t: Targets) -> list[Line]:
    bureau = r["bureau"]
    lines = [
        Line(
            "b throughput",
            f"≥ {t.b_rate:g} tasks/s",
            f"{bureau['tasks_per_s']:.0f} tasks/s, median of "
            f"{'/'.join(f'{x:.0f}' for x in r.get('bureau_repeats_tasks_per_s', []))} "
            f"({bureau['completed']}/{bureau['tasks']} in {bureau['seconds']:.1f} s; 202s at "
            f"{bureau['dispatch_per_s']:.0f}/s)",
            _yes(bureau["tasks_per_s"] >= t.b_rate and bureau["finished"]),
            _cpu(bureau),
            bureau,
        )
    ]
    if "dbos" in r:  # SQLite: the peers ran inside the row
        ratio = r.get("ratio_bureau_over_dbos")
        dbos = _dbos(r["dbos"])
        lines.append(
            Line(
                "b vs DBOS (SQLite)",
                f"≥ {B_OVER_DBOS}x DBOS (same run)",
                f"{ratio}x (DBOS {dbos})" if ratio else f"DBOS did not run ({dbos})",
                _yes(ratio is not None and ratio >= B_OVER_DBOS),
                "DBOS: a producer process enqueues, no HTTP",
                {},
            )
        )
    ceiling = r.get("fastapi_background", {})
    if "tasks_per_s" in ceiling:
        lines.append(
            Line(
                "b ceiling",
                "(reference: FastAPI BackgroundTasks, no durability)",
                f"{ceiling['tasks_per_s']:.0f} tasks/s; Bureau is "
                f"{r.get('ratio_bureau_over_ceiling', 0) * 100:.0f}% of it",
                "-",
                _cpu(ceiling),
                ceiling,
            )
        )
    return lines


def _dbos(runs: list[dict[str, Any]]) -> str:
    return ", ".join(
        f"{d.get('as', '')} ({d['config']}) {d['workflows_per_s']:.0f}/s"
        + ("" if d.get("finished") else " unfinished")
        if "workflows_per_s" in d
        else f"{d.get('as', '')} ({d['config']}): failed ({d.get('error', '?')[:120]})"
        for d in runs
    )


def _peers(r: dict[str, Any], _: Targets) -> list[Line]:
    """Row b's PostgreSQL peers, with the ratio of every topology of the same run."""
    ratios: dict[str, dict[str, Any]] = r.get("ratios", {})
    dbos = _dbos(r.get("dbos", []))
    celery = r.get("celery", {})
    if "tasks_per_s" in celery:
        peer = f"Celery {celery.get('celery_version', '?')} {celery['tasks_per_s']:.0f} tasks/s"
        config = celery.get("config") or {}
        variants = ", ".join(
            f"{v['variant']} {v['tasks_per_s']:.0f}/s"
            for v in celery.get("variants", [])
            if "tasks_per_s" in v
        )
        peer += f" (best of {variants})" if variants else ""
        if isinstance(config, dict) and config.get("pool"):
            peer += (
                f"; {config['pool']} -c {config.get('concurrency')}, prefetch "
                f"{config.get('prefetch_multiplier')}, no result backend"
            )
    else:
        peer = f"Celery failed: {str(celery.get('error', 'not run'))[:160]}"
    return [
        _ratio_line(
            ratios,
            "over_dbos",
            B_OVER_DBOS,
            "DBOS (PostgreSQL)",
            f"DBOS {dbos}",
            "DBOS: a producer process enqueues, no HTTP",
        ),
        _ratio_line(
            ratios,
            "over_celery",
            B_OVER_CELERY,
            "Celery + Redis",
            peer,
            "Celery worker and client beside Bureau's on the same cores",
        ),
    ]


def _ratio_line(
    ratios: dict[str, dict[str, Any]],
    key: str,
    target: float,
    peer_name: str,
    peer: str,
    cpu: str,
) -> Line:
    """Bureau over a peer, for every topology of the run that has the ratio `key`."""
    over = {k: v[key] for k, v in ratios.items() if v.get(key)}
    return Line(
        f"b vs {peer_name}",
        f"≥ {target}x {peer_name.split()[0]} (same run)",
        "; ".join(f"{k} {x}x" for k, x in over.items()) + f" ({peer})"
        if over
        else f"no ratio ({peer}; Bureau runs: {', '.join(ratios) or 'none'})",
        "; ".join(f"{k} {_yes(x >= target)}" for k, x in over.items()) or "**no**",
        cpu,
        {},
    )


def _c(r: dict[str, Any], _: Targets) -> list[Line]:
    s, c = r["server_side_ms"], r["client_observed_ms"]
    figure = (
        f"server-side p50 {s['p50']:.1f} ms, p99 {s['p99']:.1f} ms; client-observed p50 "
        f"{c['p50']:.1f} ms, p99 {c['p99']:.1f} ms (at {r['rate']:.0f}/s; "
        f"{sum(r['errors'].values())} errors)"
    )
    met = s["p50"] <= C_P50 and s["p99"] <= C_P99 and not r["errors"]
    target = f"p50 ≤ {C_P50} ms, p99 ≤ {C_P99} ms"
    return [Line("c pickup 202 → working", target, figure, _yes(met), _cpu(r), r)]


def _d(r: dict[str, Any], t: Targets) -> list[Line]:
    p50 = r["overhead_per_step_ms_p50"]
    figure = (
        f"p50 {p50:.3f} ms per step (bare call {r['bare_call_us']['p50']:.1f} µs); "
        f"duration method {r['duration_method']['overhead_per_step_ms']:.3f} ms; "
        f"16 tasks at once: p50 {r['concurrent']['overhead_us']['p50'] / 1000:.2f} ms"
    )
    target = f"p50 ≤ {t.d_p50:g} ms"
    return [Line("d step overhead", target, figure, _yes(p50 <= t.d_p50), _cpu(r), r)]


def _e(r: dict[str, Any], _: Targets) -> list[Line]:
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
    target = "100k parked, RSS < +50 MB, p99 ≤ 100 ms"
    return [Line("e parked tasks", target, figure, met, _cpu(r), r)]


def _f(r: dict[str, Any], _: Targets) -> list[Line]:
    p99 = r["delivery_ms"]["p99"]
    kb = r["memory_per_subscriber_kb"]
    figure = (
        f"{r['subscribers']} subscribers: delivery p50 {r['delivery_ms']['p50']:.1f} ms, "
        f"p99 {p99:.1f} ms; {kb:.1f} KB per subscriber "
        f"({r['subscribers_with_every_event']} got every event)"
    )
    met = p99 <= 50 and kb <= 20 and r["subscribers_with_every_event"] == r["subscribers"]
    target = "1,000 subs, p99 ≤ 50 ms, ≤ 20 KB each"
    return [Line("f SSE fan-out", target, figure, _yes(met), _cpu(r), r)]


def _g(r: dict[str, Any], _: Targets) -> list[Line]:
    kill, expiry = r["resume_after_kill_s"], r["resume_after_lease_expiry_s"]
    lease, detected = r["lease_expiry_after_kill_s"], r["detected_after_lease_expiry_s"]

    def s(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    figure = (
        f"kill -9 of {r['killed']} holding {r['tasks_on_killed_worker']} of {r['tasks']} tasks "
        f"(lease {r['lease_seconds']:g} s, ran out {s(lease['p50'])} s after the kill): "
        f"{r['resumed']} resumed on the other worker, p50 {s(kill['p50'])} s / max "
        f"{s(kill['max'])} s after the kill = p50 {s(expiry['p50'])} s / max "
        f"{s(expiry['max'])} s after lease expiry (reaper saw it p50 {s(detected['p50'])} s "
        f"after expiry); {r['completed_steps_rerun']} completed steps re-run "
        f"({r['first_step_completed_events_extra']} extra step events); "
        f"{r['completed']}/{r['tasks']} completed"
    )
    met = (
        r["all_resumed"]
        and expiry["max"] is not None
        and expiry["max"] <= G_RESUME_S
        and r["completed_steps_rerun"] == 0
        and r["first_step_completed_events_extra"] == 0
        and r["completed"] == r["tasks"]
    )
    target = f"resumed ≤ {G_RESUME_S:g} s after lease expiry; 0 completed steps re-run"
    return [Line("g recovery after kill -9", target, figure, _yes(met), "-", {})]


def _h(r: dict[str, Any], _: Targets) -> list[Line]:
    def cpu(runs: list[dict[str, Any]]) -> str:
        last = runs[len(runs) // 2]
        by = last.get("server_cpu_share_by_process") or {}
        parts = [f"{n} {v * 100:.0f}%" for n, v in by.items()]
        if services := _services(last):
            parts.append(services)
        parts.append(f"client {last['client_cpu_share_of_one_core'] * 100:.0f}%")
        busy = last.get("machine_busy_cores", 0.0)
        nproc = r.get("nproc") or 0
        saturated = " (saturated)" if nproc and busy >= 0.9 * nproc else ""
        of = f" of {nproc}" if nproc else ""
        return ", ".join(parts) + f"; machine busy {busy:.2f}{of} cores{saturated}"

    def rates(runs: list[dict[str, Any]]) -> str:
        return "/".join(f"{x['tasks_per_s']:.0f}" for x in runs)

    ratio = r["ratio_2_over_1"]
    one, two = r["runs_1_worker"], r["runs_2_workers"]
    figure = (
        f"api + 1 worker {r['tasks_per_s_1_worker']:.0f} tasks/s ({rates(one)}); api + 2 "
        f"workers {r['tasks_per_s_2_workers']:.0f} tasks/s ({rates(two)}); ratio {ratio}x. "
        f"CPU of a core, 1 worker: {cpu(one)}; 2 workers: {cpu(two)}"
    )
    met = ratio is not None and ratio >= H_RATIO
    target = f"2 worker processes ≥ {H_RATIO:g}x one"
    source = r["runs_2_workers"][len(r["runs_2_workers"]) // 2]
    return [Line("h scale-out", target, figure, _yes(met), "(in the figure)", source)]


RENDER: dict[str, Callable[[dict[str, Any], Targets], list[Line]]] = {
    "a": _a,
    "b": _b,
    "c": _c,
    "d": _d,
    "e": _e,
    "f": _f,
    "g": _g,
    "h": _h,
}


def _machine(m: dict[str, Any]) -> str:
    packages = m.get("packages", {})
    services = ""
    if m.get("postgresql") or m.get("redis"):
        services = f", PostgreSQL {m.get('postgresql')}, Redis {m.get('redis')}"
    peers = f"DBOS {m.get('dbos') or 'not run'}"
    if m.get("celery"):
        peers += f", Celery {m['celery']}"
    return (
        f"nproc {m['nproc']} ({m.get('cpu')}), {m.get('memory_gib')} GiB, kernel "
        f"{m.get('kernel')}; Python {m['python']}, SQLite {m['sqlite']}{services}; {peers}; "
        f"uvicorn {packages.get('uvicorn')}, fastapi {packages.get('fastapi')}, SQLAlchemy "
        f"{packages.get('sqlalchemy')}; load average at start "
        f"{', '.join(f'{x:.2f}' for x in m.get('loadavg_at_start', []))}; idle machine "
        f"jitter (1 ms sleep oversleep) p99 "
        f"{m.get('jitter', {}).get('sleep_1ms_oversleep_p99_ms', '?')} ms"
    )


SECTIONS = {
    "sqlite": "Embedded SQLite (WAL), one `bureau serve` process; SQLite targets",
    "postgres": "PostgreSQL + Redis; PostgreSQL targets. `pg-serve`: one `bureau serve` "
    "process (API + worker); `pg-api+2w`: one `bureau api` and two `bureau worker` processes",
}


def _table(results: dict[str, Any], backend: str) -> list[str]:
    out = [
        f"## {SECTIONS[backend]}",
        "",
        "| row | where | target | figure | met | CPU | machine noise |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, result in results["rows"].items():
        if result.get("backend") != backend:
            continue
        row, where = key.split("/", 1)
        if "error" in result:
            error = str(result["error"]).replace("|", "/").replace("\n", " ")[:300]
            out.append(f"| {row} | {where} | - | failed: {error} | **no** | - | - |")
            continue
        render = _peers if where == "pg-peers" else RENDER[row]
        for line in render(result, TARGETS[backend]):
            out.append(
                f"| {line.row} | {where} | {line.target} | {line.figure} | {line.met} | "
                f"{line.cpu} | {_noise(line.source)} |"
            )
    return [*out, ""]


def _problems(results: dict[str, Any]) -> list[str]:
    out: list[str] = []
    pauses = []
    for key, r in results["rows"].items():
        found = r.get("server_diagnostics") or r.get("bureau", {}).get("server_diagnostics")
        if not found:
            continue
        by_process = {"": found} if "gc_pauses" in found else found  # a fleet: per process
        for name, one in by_process.items():
            gc, lag = one["gc_pauses"], one["lag_pauses"]
            pauses.append(
                f"- {key}{' ' + name if name else ''}: {gc['count']} GC pauses ≥ 10 ms (max "
                f"{gc['max_ms']:.0f} ms), {lag['count']} loop stalls ≥ 20 ms (max "
                f"{lag['max_ms']:.0f} ms)"
            )
    if pauses:
        out += ["Server pauses (`--diagnose`):", *pauses, ""]
    logged = {
        key: p
        for key, r in results["rows"].items()
        if (p := r.get("server_problems") or r.get("bureau", {}).get("server_problems"))
    }
    if logged:
        out.append("Server errors logged:")
        for key, lines in logged.items():
            out.append(f"- {key}: " + "; ".join(lines[:3]))
        out.append("")
    slow = {key: r["slow_stops"] for key, r in results["rows"].items() if r.get("slow_stops")}
    if slow:
        out.append("Servers that did not exit on SIGTERM (killed; not counted in any figure):")
        out += [f"- {key}: " + "; ".join(lines) for key, lines in slow.items()]
        out.append("")
    return out


def markdown(results: dict[str, Any]) -> str:
    out = [
        f"# Bureau benchmarks — {results['started_at']} ({results['mode']} run, "
        f"{results.get('total_seconds', '?')} s)",
        "",
        f"Machine: {_machine(results['machine'])}.",
        "",
        f"Client: {results['client']}. `CPU` is the share of one core used by the load "
        "generator and by the server processes during the measured window; `machine noise` "
        "is the hypervisor's steal, the machine's busy cores and other processes' CPU (on "
        "PostgreSQL, the database and Redis are among the others).",
        "",
    ]
    backends = [b for b in ("sqlite", "postgres") if b in results.get("backends", ["sqlite"])]
    for backend in backends:
        out += _table(results, backend)
    not_run = []
    if "sqlite" not in backends:
        not_run.append("SQLite rows a-f")
    if "postgres" not in backends:
        not_run.append("PostgreSQL rows a-d, b peers (DBOS-PG, Celery), g, h")
    out += [
        ("Not run here: " + "; ".join(not_run) + ". " if not_run else "")
        + "Figures on a shared 2-core VM move between runs; PostgreSQL, Redis, the load "
        "generator and the server processes share its cores.",
        "",
    ]
    return "\n".join(out + _problems(results))
