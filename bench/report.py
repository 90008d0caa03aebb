"""The benchmark's markdown report, from what bench/run.py measured."""

import json
import os


def _kind(results, run, kind):
    return results["runs"].get(run, {}).get("kinds", {}).get(kind)


def _fmt(v, digits=0):
    if v is None:
        return "—"
    return f"{v:,.{digits}f}"


def _ratio(a, b):
    return f"{a / b:.2f}×" if a and b else "—"


def memory_growth(rss):
    """Growth is a trend, not the spread of samples: page caches and malloc's arenas make RSS
    move a few MB up and down under load. The mean of the last third of the samples against
    the mean of the second (the first third is the warm-up, caches filling), and the spread of
    the last two thirds, in KB."""
    n = len(rss) // 3
    if n == 0:
        return 0, 0
    second, last = rss[n:2 * n], rss[2 * n:]
    return (sum(last) / len(last) - sum(second) / len(second),
            max(rss[n:]) - min(rss[n:]))


def write_report(r, path):
    m, s = r["machine"], r["settings"]
    lines = [f"# Patron benchmark — {m['date']}", ""]
    lines += ["## Machine and settings", "",
              f"- CPU: {m['cpu']} ({m['cores']} cores), {m['memory_mb']:,} MB, "
              f"Linux {m['kernel']}, SQLite {m['sqlite']}, commit `{m['commit']}`",
              f"- Dataset: {s['members']:,} members, {s['products']:,} products, "
              f"{s['stores']} stores, {s['coupons']:,} coupons issued",
              f"- Load: {s['connections']} keep-alive connections, closed loop, "
              f"{s['seconds_per_run']} s per run after warm-up; mix {s['mix']} "
              "(checkouts: a member and 3 lines, 20% with a coupon, 10% redeeming points)",
              f"- Server: `patron serve --workers {s['serve_workers']}`; {s['sqlite']}",
              ""]
    if s["smoke"]:
        lines += ["**Smoke run** (tiny dataset, seconds-long runs): the figures only show the "
                  "pieces work, not what the machine can do.", ""]

    lines += ["## Throughput and latency", "",
              "| run | kind | ok | errors | per second | p50 ms | p95 ms | p99 ms | max ms |",
              "|---|---|---:|---|---:|---:|---:|---:|---:|"]
    for run, res in r["runs"].items():
        if run == "soak_step":
            continue
        for kind, k in res["kinds"].items():
            errs = ", ".join(f"{c}: {n}" for c, n in k.get("errors", {}).items()) or "0"
            lines.append(f"| {run} | {kind} | {k['ok']:,} | {errs} | {_fmt(k['per_second'])} | "
                         f"{_fmt(k['p50_ms'], 2)} | {_fmt(k['p95_ms'], 2)} | "
                         f"{_fmt(k['p99_ms'], 2)} | {_fmt(k['max_ms'], 1)} |")
    lines.append("")

    b = r["baselines"]
    lines += ["## Baselines (same run, same machine)", "",
              "| baseline | per second |", "|---|---:|"]
    fixed = _kind(r, "fixed", "get")
    if fixed:
        lines.append(f"| libmicrohttpd answering a fixed body (patron-fixed-server) | "
                     f"{_fmt(fixed['per_second'])} |")
    for key, label in (("sqlite_inproc_1", "checkout in process, SQLite, 1 per commit"),
                       ("sqlite_inproc_100", "checkout in process, SQLite, 100 per commit"),
                       ("pgbench_checkout", "checkout as raw SQL, PostgreSQL, pgbench")):
        if key in b:
            lines.append(f"| {label} | {_fmt(b[key]['per_second'])} |")
    lines.append("")

    co = _kind(r, "sqlite_mix", "checkout")
    lk = _kind(r, "sqlite_lookup", "lookup")
    small = _kind(r, "small_lookup", "lookup")
    pg = _kind(r, "postgres_checkout", "checkout")
    mem = r["memory"]
    lines += ["## Against the targets", "", "| target | measured | ratio | met |",
              "|---|---|---|---|"]

    def row(target, measured, ratio, ok):
        lines.append(f"| {target} | {measured} | {ratio} | {'yes' if ok else 'no'} |")

    if co:
        row("checkouts over HTTP ≥ 10,000/s, p99 ≤ 20 ms",
            f"{_fmt(co['per_second'])}/s, p99 {_fmt(co['p99_ms'], 1)} ms",
            "vs in-process 1/commit " + _ratio(co["per_second"],
                                              b.get("sqlite_inproc_1", {}).get("per_second"))
            + ", 100/commit " + _ratio(co["per_second"],
                                       b.get("sqlite_inproc_100", {}).get("per_second")),
            co["per_second"] >= 10000 and co["p99_ms"] <= 20)
    if lk:
        row("member lookups ≥ 80,000/s (40% of the fixed-body server)",
            f"{_fmt(lk['per_second'])}/s, p99 {_fmt(lk['p99_ms'], 1)} ms",
            "vs fixed body " + _ratio(lk["per_second"], fixed and fixed["per_second"]),
            lk["per_second"] >= 80000)
    if lk and small:
        row(f"lookup p50 at {s['members']:,} members within 1.5× of p50 at "
            f"{r['dataset'].get('small', {}).get('members', 0):,}",
            f"{_fmt(lk['p50_ms'], 3)} ms vs {_fmt(small['p50_ms'], 3)} ms",
            _ratio(lk["p50_ms"], small["p50_ms"]), lk["p50_ms"] <= 1.5 * small["p50_ms"])
    if pg:
        raw = b.get("pgbench_checkout", {}).get("per_second")
        row("PostgreSQL: checkouts alone over HTTP ≥ 70% of pgbench doing the same checkout",
            f"{_fmt(pg['per_second'])}/s, p99 {_fmt(pg['p99_ms'], 1)} ms",
            "vs pgbench " + _ratio(pg["per_second"], raw), bool(raw) and
            pg["per_second"] >= 0.7 * raw)
    if "idle_rss_kb" in mem:
        row("idle RSS under 30 MB", f"{mem['idle_rss_kb'] / 1024:.1f} MB", "—",
            mem["idle_rss_kb"] < 30 * 1024)
    if mem.get("soak_anon_kb"):
        # The process's own memory; the rest of RSS is pages of the database file, mapped
        # once and read in place, which grows as the load reaches more members (the
        # kernel's page cache, given back under pressure): shown, not judged.
        rss, anon = mem["soak_rss_kb"], mem["soak_anon_kb"]
        grew, spread = memory_growth(anon)
        row(f"no memory growth over {mem['soak_seconds']} s of load",
            f"own memory (RssAnon) {anon[0] / 1024:.1f} → {anon[-1] / 1024:.1f} MB; last "
            f"third's mean {grew / 1024:+.1f} MB against the second third's (samples spread "
            f"over {spread / 1024:.1f} MB); all of RSS, with the database's mapped pages, "
            f"{rss[0] / 1024:.1f} → {rss[-1] / 1024:.1f} MB", "—", grew < 2 * 1024)
    elif mem.get("soak_rss_kb"):
        rss = mem["soak_rss_kb"]
        grew, spread = memory_growth(rss)
        row(f"no memory growth over {mem['soak_seconds']} s of load",
            f"RSS {rss[0] / 1024:.1f} → {rss[-1] / 1024:.1f} MB; last third's mean "
            f"{grew / 1024:+.1f} MB against the second third's (samples spread over "
            f"{spread / 1024:.1f} MB)", "—", grew < 2 * 1024)
    lines.append("")

    lines += ["## Dataset build", "", "| dataset | members | seconds |", "|---|---:|---:|"]
    # (postgres: the PostgreSQL runs use this dataset)
    for name, d in r["dataset"].items():
        lines.append(f"| {name} | {d['members']:,} | {d['build_seconds']} |")
    lines.append("")
    for note in r["notes"]:
        lines.append(f"- {note}")
    lines += ["", "Raw figures: the JSON file beside this report.", ""]

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines))
    with open(os.path.splitext(path)[0] + ".json", "w") as f:
        json.dump(r, f, indent=1)
    return path
