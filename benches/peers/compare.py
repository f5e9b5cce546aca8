#!/usr/bin/env python3
"""Peer comparison of differential-privacy SQL: cleanroom vs SmartNoise SQL (snsql).

The same three DP queries run through `cleanroom query` (one process per run) and through
SmartNoise SQL's PrivateReader over pandas DataFrames of the same Parquet files, at the same
epsilon and delta per query, with the same bounds and the same per-person contribution limit
(all read from `policies/`). Reports the median wall time of each system, the ratio, and the
mean absolute relative error per released cell against the exact answer (pandas).

Run it through benches/peers/run.sh, which makes the venv and the data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import warnings
from importlib import metadata as pkg_metadata
from pathlib import Path

import numpy as np
import pandas as pd
import snsql
from snsql import Privacy

LICENCE = "LIC-ELDER-2026"
SCENARIO = "elderly-care-planning"

QUERIES = [
    {
        "id": "Q1",
        "title": "count per district",
        "table": "residents",
        "key": "district",
        "agg": "count",
        "col": None,
        "sql": "SELECT district, COUNT(*) AS n FROM residents GROUP BY district",
    },
    {
        "id": "Q2",
        "title": "avg monthly_wage per pension_status",
        "table": "social_insurance",
        "key": "pension_status",
        "agg": "avg",
        "col": "monthly_wage",
        "sql": "SELECT pension_status, AVG(monthly_wage) AS w FROM social_insurance "
        "GROUP BY pension_status",
    },
    {
        "id": "Q3",
        "title": "sum contribution_months per pension_status",
        "table": "social_insurance",
        "key": "pension_status",
        "agg": "sum",
        "col": "contribution_months",
        "sql": "SELECT pension_status, SUM(contribution_months) AS m FROM social_insurance "
        "GROUP BY pension_status",
    },
]

SNSQL_TYPES = {
    "utf8": "string",
    "float64": "float",
    "float32": "float",
    "int64": "int",
    "int32": "int",
    "int16": "int",
    "boolean": "boolean",
    "date32": "datetime",
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cleanroom", required=True, help="path of the cleanroom binary")
    p.add_argument("--data", required=True, help="directory with the demo Parquet files")
    p.add_argument("--policies", default="policies", help="cleanroom policy directory")
    p.add_argument("--runs", type=int, default=20, help="repetitions per query and system")
    p.add_argument("--out", default=os.environ.get("OUT", "target/peers.md"))
    p.add_argument("--today", default=None,
                   help="pass --today YYYY-MM-DD to cleanroom (licence window), e.g. when the "
                   "machine's date is outside LIC-ELDER-2026's validity")
    p.add_argument("--command", default=None, help="the command line to name in the report")
    return p.parse_args()


# ---------------------------------------------------------------------------- policies

def load_policies(policies: Path) -> dict:
    with open(policies / "disclosure.toml", "rb") as f:
        disclosure = tomllib.load(f)
    g = disclosure["global"]
    catalog = {}
    for q in QUERIES:
        t = q["table"]
        if t not in catalog:
            with open(policies / "catalog" / f"{t}.toml", "rb") as f:
                catalog[t] = tomllib.load(f)
    return {
        "epsilon": float(g["epsilon"]),
        "delta": float(g["delta"]),
        "mechanism": g.get("mechanism", "laplace"),
        "dp": g.get("dp"),
        "max_rows_per_unit": int(g["max_rows_per_unit"]),
        "k": int(g.get("k", 0)),
        "catalog": catalog,
    }


def snsql_metadata(table: str, pol: dict) -> tuple[dict, list[str], dict]:
    """SmartNoise metadata for `table` from the cleanroom catalog: the privacy unit as
    private_id, the same bounds, max_ids = 1 for a unit-unique table, else the disclosure
    rules' max_rows_per_unit. Only the columns the queries use (plus the unit) are described."""
    cat = pol["catalog"][table]
    unit = cat["privacy_unit"]
    used = {unit} | {q["key"] for q in QUERIES if q["table"] == table} | {
        q["col"] for q in QUERIES if q["table"] == table and q["col"]
    }
    max_ids = 1 if cat.get("unit_unique_per_row", False) else pol["max_rows_per_unit"]
    t = {"max_ids": max_ids, "row_privacy": False}
    bounds = {}
    cols = []
    for c in cat["columns"]:
        name = c["name"]
        if name not in used:
            continue
        cols.append(name)
        typ = SNSQL_TYPES[c["data_type"]]
        d = {"type": typ, "nullable": False}
        if name == unit:
            d["private_id"] = True
        if "bounds" in c:
            lo, hi = c["bounds"]
            bounds[name] = (lo, hi)
            d["lower"] = int(lo) if typ == "int" else float(lo)
            d["upper"] = int(hi) if typ == "int" else float(hi)
        t[name] = d
    # One collection, empty schema: the queries name the table without a schema.
    return {"cleanroom": {"": {table: t}}}, cols, bounds


# ---------------------------------------------------------------------------- exact answers

def exact_answer(df: pd.DataFrame, q: dict, bounds: dict | None = None) -> dict:
    col = q["col"]
    if col is not None and bounds and col in bounds:
        lo, hi = bounds[col]
        df = df.assign(**{col: df[col].clip(lo, hi)})
    g = df.groupby(q["key"])
    if q["agg"] == "count":
        s = g.size()
    elif q["agg"] == "avg":
        s = g[col].mean()
    elif q["agg"] == "sum":
        s = g[col].sum()
    else:
        raise ValueError(q["agg"])
    return {str(k): float(v) for k, v in s.items()}


# ---------------------------------------------------------------------------- cleanroom

def cleanroom_cmd(args, state: Path, sql: str) -> list[str]:
    cmd = [
        args.cleanroom, "query", "--format", "json",
        "--data", args.data, "--state", str(state), "--policies", args.policies,
        "--licence", LICENCE, "--scenario", SCENARIO,
    ]
    if args.today:
        cmd += ["--today", args.today]
    return cmd + [sql]


def run_cleanroom(args, state: Path, sql: str) -> tuple[float, dict]:
    cmd = cleanroom_cmd(args, state, sql)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(
            f"cleanroom query failed (exit {p.returncode}): {' '.join(cmd)}\n"
            f"{p.stderr.decode(errors='replace')}\n{p.stdout.decode(errors='replace')[:4000]}"
        )
    out = json.loads(p.stdout)
    if out.get("decision") != "allowed":
        sys.exit(f"cleanroom did not allow {sql!r}: {json.dumps(out.get('violations'), ensure_ascii=False)}")
    return elapsed, out


def run_cleanroom_repeated(args, state: Path, sql: str, n: int) -> list[tuple[float, dict]]:
    """`cleanroom query --repeat n`: n runs in one process on one warm engine, each with fresh
    noise; returns each run's in-process time (seconds) and output."""
    cmd = cleanroom_cmd(args, state, sql)
    cmd = cmd[:-1] + ["--repeat", str(n), cmd[-1]]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit(
            f"cleanroom query --repeat failed (exit {p.returncode}): {' '.join(cmd)}\n"
            f"{p.stderr.decode(errors='replace')}"
        )
    runs = []
    for line in p.stdout.decode().splitlines():
        out = json.loads(line)
        if out.get("decision") != "allowed":
            sys.exit(f"cleanroom did not allow {sql!r}: {json.dumps(out.get('violations'), ensure_ascii=False)}")
        runs.append((float(out["elapsed_ms"]) / 1e3, out))
    if len(runs) != n:
        sys.exit(f"cleanroom query --repeat {n} printed {len(runs)} runs")
    return runs


def cleanroom_cells(out: dict) -> dict:
    return {str(r[0]): float(r[1]) for r in out["rows"] if r[1] is not None}


# ---------------------------------------------------------------------------- SmartNoise

def set_query_privacy(reader, sql: str, epsilon: float, delta: float) -> dict:
    """SmartNoise's Privacy.epsilon is per statistic (each noisy column, including the key
    count that thresholds the groups); split the query's ε evenly over them, as cleanroom
    splits its job ε over its measurements (but for AVG's sum and count, 3 : 1 in cleanroom),
    and check the total with get_privacy_cost."""
    reader.privacy = Privacy(epsilon=epsilon, delta=delta)
    costs = [c for c in reader._get_mechanism_costs(sql) if c]
    k = len(costs)
    reader.privacy = Privacy(epsilon=epsilon / k, delta=delta)
    eps_cost, delta_cost = reader.get_privacy_cost(sql)
    if abs(float(eps_cost) - epsilon) > 1e-9:
        sys.exit(f"SmartNoise ε cost for {sql!r} is {eps_cost}, not {epsilon}")
    info = {"k": k, "epsilon_each": epsilon / k, "cost": (float(eps_cost), float(delta_cost))}
    try:  # private API: only for the report (noise scales and the threshold tau)
        sub, _ = reader._rewrite(sql)
        names = [sym.name for sym in sub._select_symbols]
        all_mechs = reader._get_mechanisms(sub)
        kc = reader._get_keycount_position(sub)
        info["mechanisms"] = [
            {"name": "key count" if i == kc else names[i],
             "scale": float(m.scale), "epsilon": float(m.epsilon),
             "sensitivity": float((m.upper - m.lower) * m.max_contrib),
             "mechanism": m.mechanism.name if hasattr(m.mechanism, "name") else str(m.mechanism)}
            for i, m in enumerate(all_mechs) if m
        ]
        if kc is not None and all_mechs[kc] is not None:
            info["tau"] = float(all_mechs[kc].threshold)
    except Exception as e:  # noqa: BLE001
        info["mechanisms_error"] = repr(e)
    return info


def snsql_cells(res) -> dict:
    return {str(r[0]): float(r[1]) for r in res[1:] if r[1] is not None}


# ---------------------------------------------------------------------------- report helpers

def versions(cleanroom: str) -> dict:
    v = {}
    try:
        v["cleanroom"] = subprocess.run([cleanroom, "--version"], capture_output=True, text=True,
                                        check=True).stdout.strip()
    except Exception:  # noqa: BLE001
        v["cleanroom"] = "cleanroom (unknown version)"
    for name in ["smartnoise-sql", "opendp", "pandas", "pyarrow", "numpy"]:
        v[name] = pkg_metadata.version(name)
    v["python"] = platform.python_version()
    return v


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def ms(x: float) -> str:
    return f"{x * 1000:.1f}"


def pct(x: float | None) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "n/a"
    return f"{x * 100:.3f} %"


def mean_pct(xs: list[float]) -> str:
    return pct(float(np.mean(xs)) if xs else None)


def rel_errors(cells: dict, exact: dict, groups) -> list[float]:
    return [abs(cells[g] - exact[g]) / abs(exact[g]) for g in groups if exact[g] != 0]


# ---------------------------------------------------------------------------- main

def main() -> None:
    args = parse_args()
    if args.runs < 1:
        sys.exit("--runs must be at least 1")
    data = Path(args.data)
    pol = load_policies(Path(args.policies))
    eps, delta = pol["epsilon"], pol["delta"]
    manifest = {}
    if (data / "manifest.json").exists():
        manifest = json.loads((data / "manifest.json").read_text())
    rows = manifest.get("rows", "?")
    vers = versions(args.cleanroom)
    profile = ("debug build" if "/debug/" in args.cleanroom
               else "release build" if "/release/" in args.cleanroom else "build profile unknown")

    # --- SmartNoise: one-off load per table (Parquet -> DataFrame -> PrivateReader/SQLite).
    readers, frames, bounds, load = {}, {}, {}, {}
    for table in dict.fromkeys(q["table"] for q in QUERIES):
        meta, cols, b = snsql_metadata(table, pol)
        bounds[table] = b
        t0 = time.perf_counter()
        df = pd.read_parquet(data / f"{table}.parquet", columns=cols)
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = snsql.from_df(df, privacy=Privacy(epsilon=eps, delta=delta), metadata=meta)
        t2 = time.perf_counter()
        frames[table], readers[table] = df, reader
        load[table] = {"parquet": t1 - t0, "reader": t2 - t1, "rows": len(df), "meta": meta}

    # --- cleanroom: a warm state whose echo filters every run copies (the cache a running
    # platform keeps); each run gets a fresh noise key, so each run's noise is independent.
    tmp = Path(tempfile.mkdtemp(prefix="cleanroom-peers-"))
    results = []
    try:
        template = tmp / "template"
        for q in QUERIES:
            run_cleanroom(args, template, q["sql"])  # warm-up: builds the echo filters
        for q in QUERIES:
            table = q["table"]
            reader = readers[table]
            sn_info = set_query_privacy(reader, q["sql"], eps, delta)
            exact = exact_answer(frames[table], q)
            exact_clamped = exact_answer(frames[table], q, bounds[table])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                reader.execute(q["sql"])  # warm-up, not counted
            cr_t, sn_t, cr_cells, sn_cells, cr_proc = [], [], [], [], []
            cr_dp = None
            # Whole processes, for reference: 3 runs, each in a fresh state with warm echo
            # filters.
            for i in range(3):
                state = tmp / f"{q['id']}-proc-{i}"
                state.mkdir()
                if (template / "echo").is_dir():
                    shutil.copytree(template / "echo", state / "echo")
                t, _ = run_cleanroom(args, state, q["sql"])
                cr_proc.append(t)
                shutil.rmtree(state)
            # In process: one warm engine, the first run a warm-up, then `runs` timed runs, each
            # with fresh noise.
            state = tmp / f"{q['id']}-repeat"
            state.mkdir()
            if (template / "echo").is_dir():
                shutil.copytree(template / "echo", state / "echo")
            timed = run_cleanroom_repeated(args, state, q["sql"], args.runs + 1)[1:]
            shutil.rmtree(state)
            for t, out in timed:
                cr_t.append(t)
                cr_cells.append(cleanroom_cells(out))
                cr_dp = out.get("dp")
                if cr_dp is None:
                    sys.exit("cleanroom returned no `dp` section: is DP off in the policies?")
                if abs(float(cr_dp["epsilon"]) - eps) > 1e-12:
                    sys.exit(f"cleanroom spent ε = {cr_dp['epsilon']}, expected {eps}")
            for _ in range(args.runs):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t0 = time.perf_counter()
                    res = reader.execute(q["sql"])
                    sn_t.append(time.perf_counter() - t0)
                sn_cells.append(snsql_cells(res))
            results.append({
                "q": q, "exact": exact, "exact_clamped": exact_clamped, "cr_t": cr_t,
                "cr_proc": cr_proc,
                "sn_t": sn_t, "cr_cells": cr_cells, "sn_cells": sn_cells, "cr_dp": cr_dp,
                "sn_info": sn_info,
            })
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # --- errors
    for r in results:
        exact = r["exact"]
        groups = set(exact)
        clamped = r["exact_clamped"]
        cr_err, sn_err, cr_sup, sn_sup, extra = [], [], 0, 0, 0
        cr_noise, sn_noise = [], []
        per_group = {g: {"cr": [], "sn": []} for g in exact}
        for cr, sn in zip(r["cr_cells"], r["sn_cells"]):
            cr_sup += len(groups - set(cr))
            sn_sup += len(groups - set(sn))
            extra += len(set(cr) - groups) + len(set(sn) - groups)
            both = sorted(groups & set(cr) & set(sn))
            cr_err += rel_errors(cr, exact, both)
            sn_err += rel_errors(sn, exact, both)
            cr_noise += rel_errors(cr, clamped, both)
            sn_noise += rel_errors(sn, clamped, both)
            for g in both:
                per_group[g]["cr"].append(cr[g] - clamped[g])
                per_group[g]["sn"].append(sn[g] - clamped[g])
        clamp = [abs(r["exact_clamped"][g] - exact[g]) / abs(exact[g]) for g in exact if exact[g]]
        r.update(cr_err=cr_err, sn_err=sn_err, cr_noise=cr_noise, sn_noise=sn_noise, cr_sup=cr_sup, sn_sup=sn_sup, extra=extra,
                 per_group=per_group, clamp_bias=float(np.mean(clamp)) if clamp else 0.0)

    # --- report
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = args.command or " ".join([sys.executable] + sys.argv)
    lines = []
    lines.append("# Peer comparison: differential-privacy SQL, cleanroom vs SmartNoise SQL")
    lines.append("")
    lines.append(
        f"Run on {now} on {cpu_model()} ({os.cpu_count()} CPUs by nproc, {platform.machine()}), "
        f"{rows} demo residents ({load['residents']['rows']} residents rows, "
        f"{load['social_insurance']['rows']} social_insurance rows, seed {manifest.get('seed', '?')}), "
        f"{args.runs} runs per query and system, ε = {eps:g} and δ = {delta:g} per query for both "
        f"systems, same bounds and per-person row limit (from `{args.policies}/`). Versions: "
        f"{vers['cleanroom']} ({profile}, `{args.cleanroom}`), smartnoise-sql {vers['smartnoise-sql']} "
        f"(opendp {vers['opendp']}), pandas {vers['pandas']}, pyarrow {vers['pyarrow']}, numpy "
        f"{vers['numpy']}, Python {vers['python']}. Command: `{command}`. "
        "**Timed:** both systems in a warm process. For cleanroom each run of "
        "`cleanroom query --format json --repeat N` on one engine (`Engine::run`: licence check, "
        "guard, reading the Parquet file, DataFusion, DP noise and thresholding, the output "
        "scans), each run with a fresh in-memory noise key so that its noise is independent; "
        "for SmartNoise `PrivateReader.execute(sql)` on a DataFrame loaded once into its "
        "in-memory SQLite (the one-off load is listed separately below). One warm-up run per "
        "query and system is not counted. The last column gives, for reference, cleanroom as a "
        "whole `cleanroom query` process (start, policy loading and validation, the run, JSON "
        "output; median of 3). **Error:** mean absolute relative "
        "error |released − exact| / |exact| over all released cells of all runs (groups both "
        "systems released in that run), against the exact, unclamped answer computed with pandas."
    )
    lines.append("")
    lines.append("| query | cleanroom median ms (min–max) | SmartNoise median ms (min–max) | "
                 "ratio SN / CR | cleanroom error (vs clamped) | SmartNoise error (vs clamped) | "
                 "clamping bias (both) | "
                 "groups | suppressed CR / SN | cleanroom whole process ms |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        q = r["q"]
        cm, sm = statistics.median(r["cr_t"]), statistics.median(r["sn_t"])
        lines.append(
            f"| {q['id']} {q['title']} | {ms(cm)} ({ms(min(r['cr_t']))}–{ms(max(r['cr_t']))}) | "
            f"{ms(sm)} ({ms(min(r['sn_t']))}–{ms(max(r['sn_t']))}) | {sm / cm:.2f} | "
            f"{mean_pct(r['cr_err'])} ({mean_pct(r['cr_noise'])}) | "
            f"{mean_pct(r['sn_err'])} ({mean_pct(r['sn_noise'])}) | "
            f"{pct(r['clamp_bias'])} | {len(r['exact'])} | {r['cr_sup']} / {r['sn_sup']} | "
            f"{ms(statistics.median(r['cr_proc']))} |"
        )
    lines.append("")
    lines.append(
        "Error in parentheses: against the exact answer over the clamped values, i.e. the "
        "noise alone. Clamping bias: the relative error of the exact answer once the aggregated column is "
        "clamped to its catalog bounds, as both systems do before adding noise (part of both "
        "errors, not noise). Suppressed: groups of the exact answer missing from a release, "
        f"summed over the {args.runs} runs"
        + (f"; {sum(r['extra'] for r in results)} released groups not in the exact answer"
           if any(r["extra"] for r in results) else "")
        + "."
    )
    lines.append("")
    lines.append("SmartNoise one-off load (not in the times above): "
                 + "; ".join(f"`{t}`: Parquet → pandas {ms(v['parquet'])} ms, `snsql.from_df` "
                             f"(copy into SQLite) {ms(v['reader'])} ms"
                             for t, v in load.items()) + ".")
    lines.append("")
    lines.append("## DP parameters per query")
    lines.append("")
    lines.append("| query | cleanroom measurements: ε each, noise scale | cleanroom threshold | "
                 "SmartNoise measurements: ε each, noise scale | SmartNoise threshold τ |")
    lines.append("|---|---|---:|---|---:|")
    for r in results:
        d, s = r["cr_dp"], r["sn_info"]
        cr_m = "; ".join(f"{m['target']} {m['statistic']} (Δ {m['sensitivity']:g}): "
                         f"ε {m['epsilon']:.3f}, {m['mechanism']} b = {m['scale']:g}"
                         for m in d["measurements"])
        if "mechanisms" in s:
            sn_m = "; ".join(f"{m['name']} (Δ {m['sensitivity']:g}): ε {m['epsilon']:.3f}, "
                             f"{m['mechanism']} b = {m['scale']:.6g}"
                             for m in s["mechanisms"])
        else:
            sn_m = f"{s['k']} × ε {s['epsilon_each']:.3f} ({s.get('mechanisms_error', '')})"
        tau = f"{s['tau']:.1f}" if "tau" in s else "n/a"
        lines.append(f"| {r['q']['id']} | {cr_m} | {d.get('threshold', 'n/a')} | {sn_m} "
                     f"(total ε {s['cost'][0]:g}, δ {s['cost'][1]:.2g}) | {tau} |")
    lines.append("")
    lines.append("## Per group")
    lines.append("")
    lines.append("Mean absolute error of the released value against the exact answer over the "
                 "clamped values (the noise alone; same units as the value) over the runs.")
    lines.append("")
    lines.append("| query | group | exact | exact, clamped | cleanroom MAE | SmartNoise MAE |")
    lines.append("|---|---|---:|---:|---:|---:|")
    for r in results:
        for g in sorted(r["exact"], key=lambda g: -r["exact"][g]):
            pg = r["per_group"][g]
            cr = f"{np.mean(np.abs(pg['cr'])):.4g}" if pg["cr"] else "n/a"
            sn = f"{np.mean(np.abs(pg['sn'])):.4g}" if pg["sn"] else "n/a"
            lines.append(f"| {r['q']['id']} | {g} | {r['exact'][g]:.6g} | "
                         f"{r['exact_clamped'][g]:.6g} | {cr} | {sn} |")
    lines.append("")
    lines.append("## What is not equal")
    lines.append("")
    notes = [
        "Both systems split the query's ε over their noisy measurements, including the "
        "noisy count of persons that decides which groups are released (cleanroom: its "
        "threshold count + each aggregate, AVG = SUM and COUNT; SmartNoise: its key count "
        "COUNT(DISTINCT citizen_id) + each aggregate). SmartNoise splits evenly: its "
        "`Privacy.epsilon` is per statistic, so it is set to ε / (number of statistics) and "
        "`get_privacy_cost` is checked to return exactly ε (its δ reads 1.5 × δ: the "
        "odometer adds a tolerance of δ/2). cleanroom splits evenly too, except inside an AVG, "
        "whose two parts go 3 : 1 to its sum and its count (Q2: threshold 0.267, sum 0.4, "
        "count 0.133, against SmartNoise's 0.267 each): the same total ε and the same "
        "threshold noise, with the average's error moved off the sum that dominates it.",
        "The thresholds differ. cleanroom gives δ / (number of measurements) to its threshold, "
        f"never goes below k = {pol['k']}, and then also applies its dominance and p-ratio "
        "rules; SmartNoise gives its key count the whole δ and has no minimum. Both take the "
        "key count's sensitivity on social_insurance as the per-person row bound (3: a "
        "person's rows may fall into up to 3 groups); there cleanroom's threshold counts "
        "row weights, so its τ also allows for the 3 that one person can add to one group, "
        "and where some person has more rows than the bound (weighted down, a fraction) it "
        "adds one grid step (0.01) to the sensitivity.",
        "Noise: cleanroom draws integer noise from an exact sampler on a grid (counts: 1, or "
        "0.01 where a person's rows are weighted down, which the demo data never needs; "
        "sums: a thousandth of the bounds' range rounded down to a power of ten, i.e. 10 "
        "for wages and 0.1 for months), the exact value rounded to the grid first, with one "
        "extra grid step of sensitivity where a value is off the grid (see the DP table: Δ "
        "plus one grid step for sums); its noise comes from a keyed "
        "hash of the group's rows, so the same query on the same data repeats its answer, and "
        "each run here uses a fresh key to sample the error. SmartNoise uses OpenDP's "
        "floating-point Laplace for every statistic (scales found by OpenDP, ≈ Δ/ε), fresh on "
        "every call, and rounds counts and integer sums.",
        f"Contribution bounding: both bound a person to {pol['max_rows_per_unit']} rows in the "
        "whole query: cleanroom weighs each row of a person with n > that many rows by "
        "that bound / n (it measures once per data version whether anyone has more, and "
        "skips the weighting where nobody does); SmartNoise (`max_ids`, reservoir sampling) "
        "keeps that many rows. The demo data has at most 3 social-insurance rows per person, "
        "so neither changes a row here.",
        "Timing: cleanroom reads the Parquet file on every run (multi-threaded DataFusion on "
        "the machine's cores); SmartNoise queries data already in its in-memory SQLite "
        "(single-threaded), whose one-off load is not counted.",
        "Both compute AVG as a noisy SUM over a noisy COUNT and clamp values to the bounds "
        "before summing, so the Q2 errors against the exact answer are dominated by the "
        "clamping bias (wages above 60 000 in the demo data), the same for both.",
    ]
    if profile == "debug build":
        notes.append("The cleanroom binary is a **debug build**: its times are not "
                     "representative of a release build.")
    if pol["mechanism"] != "laplace":
        notes.append(f"cleanroom's mechanism is `{pol['mechanism']}` in the policies; "
                     "SmartNoise uses Laplace/discrete Laplace.")
    lines += [f"- {n}" for n in notes]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"(written to {out})", file=sys.stderr)


if __name__ == "__main__":
    main()
