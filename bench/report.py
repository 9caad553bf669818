#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Aggregate the raw output of bench/guest-bench.sh (and bench/baseline-bench.py).

  report.py kernel --raw DIR --out bench/results/<series> --series 6.12 [--host-baseline F]
      results.json  config -> job -> {iops, mib_s, ratio_iops ...} (medians over repeats)
      summary.json  the benchmark targets, met or not
      table.md      the same as markdown; chart.png a gnuplot bar chart of the ratios
  report.py index --out bench/results      README.md of the results dir (both kernels)
  report.py rst --out bench/results         rst tables for Documentation/benchmarks.rst
  report.py reference --runs DIR... --out F [--commit C] [--note TEXT] [--load F]
      F: the scan and recovery of DIR/<series>/results.json (memscan runs;
      medians of several) as the reference the *_vs_before_13 targets use
"""
import argparse
import calendar
import glob
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

JOBS = ["randwrite4k_qd1", "randwrite4k_qd16", "randread4k_qd1", "randread4k_qd16",
        "randrw70_4k_qd16", "seqwrite1m_qd4", "seqread1m_qd4"]
CONFIGS = ["linear", "vdirt-sha256", "vdirt-noreadverify", "vdirt-xxhash64", "verity",
           "integrity-J4096", "integrity-B4096", "integrity-J512", "integrity-B512"]
INTEGRITY = [c for c in CONFIGS if c.startswith("integrity")]
# the write targets are also given for this variant (table option
# write_back, off by default): "with_write_back" and "with_write_back_met"
WRITE_BACK = "vdirt-sha256+write_back:64"
SEQJOBS = ("seqwrite1m_qd4", "seqread1m_qd4")


def load_fio_all(path):
    """{jobname: result} of every job in a fio JSON output file."""
    txt = open(path, errors="replace").read()
    i = txt.find("{")
    if i < 0:
        return {}
    try:
        d = json.loads(txt[i:])
    except ValueError:
        return {}
    out = {}
    for j in d["jobs"]:
        r = fio_job(j)
        if r:
            out[j["jobname"]] = r
    return out


def load_fio(path):
    r = load_fio_all(path)
    return next(iter(r.values())) if r else None


def fio_job(j):
    if j.get("error"):
        return None
    iops = j["read"]["iops"] + j["write"]["iops"]
    bw = (j["read"]["bw_bytes"] + j["write"]["bw_bytes"]) / 1048576.0
    ios = j["read"]["total_ios"] + j["write"]["total_ios"]
    rt = (j.get("job_runtime") or j["read"].get("runtime") or 0) / 1000.0
    lat = []
    for d_ in ("read", "write"):
        if j[d_]["total_ios"]:
            lat.append((j[d_]["clat_ns"]["mean"] / 1000.0, j[d_]["total_ios"]))
    lat_us = sum(a * n for a, n in lat) / sum(n for _, n in lat) if lat else 0
    return {"iops": iops, "mib_s": bw, "ios": ios, "runtime_s": rt, "clat_us": lat_us}


def med(xs):
    return statistics.median(xs) if xs else None


def spread(xs):
    """(max-min)/median in %: the run-to-run noise of the repeats."""
    if len(xs) < 2:
        return None
    m = statistics.median(xs)
    return round(100.0 * (max(xs) - min(xs)) / m, 1) if m else None


def mad(xs):
    """median absolute deviation / median in %: the noise without letting
    one stalled repeat (host load) dominate it."""
    if len(xs) < 2:
        return None
    m = statistics.median(xs)
    return round(100.0 * statistics.median([abs(x - m) for x in xs]) / m, 1) if m else None


def cpu_table(raw):
    """config -> job -> list of per-rep dicts (busy jiffies split)."""
    out = {}
    p = os.path.join(raw, "cpu.tsv")
    if not os.path.exists(p):
        return out
    names = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]
    for line in open(p):
        f = line.split()
        if len(f) != 3 + 16:
            continue
        cfg, job, rep = f[0], f[1], f[2]
        a = [int(x) for x in f[3:11]]
        b = [int(x) for x in f[11:19]]
        d = dict(zip(names, [y - x for x, y in zip(a, b)]))
        out.setdefault(cfg, {}).setdefault(job, {})[rep] = d
    return out


def parse_profile(path):
    """kprof output: 'total N', 'cat NAME N', 'sym NAME N' lines."""
    prof = {"total": 0, "categories": {}, "top": []}
    for line in open(path, errors="replace"):
        f = line.split()
        if len(f) == 2 and f[0] == "total":
            prof["total"] = int(f[1])
        elif len(f) == 3 and f[0] == "cat":
            prof["categories"][f[1]] = int(f[2])
        elif len(f) == 3 and f[0] == "sym" and len(prof["top"]) < 25:
            prof["top"].append([f[1], int(f[2])])
        elif line.startswith("error"):
            prof["error"] = line.strip()
    return prof


# targets whose goal is a maximum
MAX_TARGETS = ("memory_1tib_mib", "meta_size_pct_sha256_baseline")
REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "reference-before-13.json")


def reference(a):
    """series -> reference values measured before issue 13 (scan, recovery)."""
    try:
        return json.load(open(a.reference or REFERENCE)).get("kernels", {})
    except (OSError, ValueError):
        return {}


def meta_size(a):
    """vdirtctl meta-size of 1 TiB, default cluster size, sha256 (entries
    hold the baseline digest), in % of the data; with and without the
    staging area (its size from meta-size --json when it says, else
    derived from the layout: one digest per cluster, whole 4 KiB blocks)."""
    tool = a.vdirtctl or os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                      "userspace", "vdirtctl", "vdirtctl")
    try:
        p = subprocess.run([tool, "meta-size", "1T", "--hash", "sha256", "--json"],
                           capture_output=True, text=True, timeout=30)
        j = json.loads(p.stdout)
    except (OSError, ValueError, subprocess.SubprocessError) as e:
        return {"error": "vdirtctl meta-size: %s" % e}
    data, meta = j["data_bytes"], j["meta_bytes"]
    out = {"pct": 100.0 * meta / data, "meta_bytes": meta, "entry_size": j.get("entry_size")}
    if "staging_bytes" in j:
        st = j["staging_bytes"]
    elif "staging_blocks" in j:
        st = j["staging_blocks"] * 4096
    else:
        st = (j["clusters"] * j["digest_size"] + 4095) // 4096 * 4096
        out["staging_derived"] = True
    out["staging_bytes"] = st
    out["pct_without_staging"] = round(100.0 * (meta - st) / data, 3)
    return out


def kernel_report(a):
    raw = a.raw
    res = {"series": a.series, "kernel": open(os.path.join(raw, "kernel")).read().strip()
           if os.path.exists(os.path.join(raw, "kernel")) else a.series,
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "settings": {}, "io": {}, "cpu": {}, "profile": {}, "memory": {}, "scan": {},
           "notes": []}
    envp = os.path.join(os.path.dirname(raw), "env.sh")
    if os.path.exists(envp):
        for line in open(envp):
            m = re.match(r'(\w+)="(.*)"', line.strip())
            if m:
                res["settings"][m.group(1)] = m.group(2)
    try:
        res["guest_cpu"] = open(os.path.join(raw, "cpuinfo")).read().split(":", 1)[1].strip()
    except (OSError, IndexError):
        pass
    # bench/run boots without allocator debugging unless BENCH_VM_DEBUG says
    # otherwise (results before it recorded no BENCH_VM_DEBUG: they ran
    # with scripts/vm-run's default, slub_debug=FZPU and KFENCE)
    dbg = res["settings"].get("BENCH_VM_DEBUG")
    if dbg is None:
        dbg = "slub_debug=FZPU kfence.sample_interval=1 (vm-run default)"
    res["settings"]["guest_debug"] = dbg.strip() or "none"
    res["settings"]["guest"] = "QEMU TCG, 2 vCPUs, 1 GiB, virtio-blk cache=none, guest debug options: %s" % (
        res["settings"]["guest_debug"])
    dur = os.path.join(raw, "durations")
    if os.path.exists(dur):
        res["durations_s"] = dict(zip(*[iter(open(dur).read().split())] * 2))

    # ---- I/O ----
    runs = {}
    for p in glob.glob(os.path.join(raw, "io", "*.json")):
        parts = os.path.basename(p)[:-5].split(".")
        if len(parts) == 3:		# CONFIG.JOB.REP.json: one config per file
            cfg, job, rep = parts
            r = load_fio(p)
            if r:
                runs.setdefault(cfg, {}).setdefault(job, {})[rep] = r
        elif len(parts) == 2:		# JOB.REP.json: every config, fio job name = config
            job, rep = parts
            for cfg, r in load_fio_all(p).items():
                runs.setdefault(cfg, {}).setdefault(job, {})[rep] = r
    for cfg in sorted(runs, key=lambda c: CONFIGS.index(c) if c in CONFIGS else 99):
        res["io"][cfg] = {}
        for job in [j for j in JOBS if j in runs[cfg]]:
            rr = list(runs[cfg][job].values())
            iops = [r["iops"] for r in rr]
            res["io"][cfg][job] = {
                "iops": round(med(iops), 1), "mib_s": round(med([r["mib_s"] for r in rr]), 2),
                "clat_us": round(med([r["clat_us"] for r in rr]), 1),
                "repeats": len(rr), "spread_pct": spread(iops), "mad_pct": mad(iops),
                "runs_iops": [round(x, 1) for x in iops]}
    lin = res["io"].get("linear", {})
    for cfg, jobs in res["io"].items():
        for job, v in jobs.items():
            if job in lin and lin[job]["iops"]:
                v["ratio_to_linear"] = round(v["iops"] / lin[job]["iops"], 3)

    # ---- where the time goes: CPU per I/O from /proc/stat around every run ----
    cpu = cpu_table(raw)
    for cfg, jobs in cpu.items():
        for job, reps in jobs.items():
            per_io = []
            split = {}
            for rep, d in reps.items():
                r = runs.get(cfg, {}).get(job, {}).get(rep)
                if not r or not r["ios"]:
                    continue
                b = sum(d[k] for k in ("user", "nice", "system", "irq", "softirq", "steal"))
                # USER_HZ is 100 on Debian: one jiffy = 10 ms
                per_io.append(b * 10000.0 / r["ios"])
                for k, v in d.items():
                    split[k] = split.get(k, 0) + v
            if not per_io:
                continue
            tot = sum(split.values()) or 1
            res["cpu"].setdefault(cfg, {})[job] = {
                # the median of the repeats: a repeat the host stalled
                # (its vCPU threads descheduled mid-I/O) counts as busy
                # time in the guest and must not drag the number
                "cpu_us_per_io": round(med(per_io), 1),
                "runs_us": [round(x, 1) for x in per_io],
                "spread_pct": spread(per_io), "mad_pct": mad(per_io),
                "share_pct": {k: round(100.0 * v / tot, 1) for k, v in split.items()
                              if k in ("user", "system", "idle", "iowait", "irq", "softirq")}}
    dec = {}
    for job in JOBS:
        g = lambda c: res["cpu"].get(c, {}).get(job, {}).get("cpu_us_per_io")
        l, s, x, n = g("linear"), g("vdirt-sha256"), g("vdirt-xxhash64"), g("vdirt-noreadverify")
        if l is None or s is None:
            continue
        e = {"linear_us": l, "vdirt_sha256_us": s, "extra_us": round(s - l, 1)}
        if x is not None:
            e["sha256_hashing_us"] = round(s - x, 1)
            e["rest_us"] = round(x - l, 1)
        if n is not None:
            e["noreadverify_us"] = n
        dec[job] = e
    res["cpu_decomposition"] = dec
    for p in sorted(glob.glob(os.path.join(raw, "profile.*.txt"))):
        job = os.path.basename(p)[len("profile."):-4]
        res["profile"][job] = parse_profile(p)

    # ---- memory ----
    memp = os.path.join(raw, "mem.tsv")
    if os.path.exists(memp):
        for line in open(memp):
            head, *snaps = line.split("|")
            h = head.split()
            s = [[int(x) for x in sn.split()] for sn in snaps]
            if len(s) != 5 or any(len(x) != 6 for x in s):
                continue
            size, sectors, t0, t1, t2 = h[0], int(h[1]), float(h[2]), float(h[3]), float(h[4])

            def delta(i):
                sl = s[i][0] - s[0][0]
                vm = s[i][2] - s[0][2]
                gfp = (s[i][4] - s[0][4]) / 1024.0
                return {"slab_kib": sl, "vmalloc_kib": vm, "bufio_kib": round((s[i][3] - s[0][3]) / 1024.0),
                        "bufio_pages_kib": round(gfp), "total_kib": round(sl + vm + gfp),
                        "memfree_drop_kib": s[0][5] - s[i][5]}
            fio = None
            fp = os.path.join(raw, "mem.%s.fio.json" % size)
            if os.path.exists(fp):
                fio = load_fio(fp)
            data_bytes = sectors * 512
            res["memory"][size] = {
                "data_bytes": data_bytes, "create_s": round(t1 - t0, 2), "read_pass_s": round(t2 - t1, 2),
                "read_pass_ios": fio["ios"] if fio else None,
                "after_create": delta(1), "after_read_pass": delta(2), "settled": delta(3),
                "after_remove": delta(4),
                "all_in_ram_sha1_mib": round(data_bytes / 4096 * 20 / 1048576.0, 1),
                "all_in_ram_sha256_mib": round(data_bytes / 4096 * 32 / 1048576.0, 1)}
            st = os.path.join(raw, "mem.%s.status" % size)
            if os.path.exists(st):
                res["memory"][size]["status"] = open(st).read().strip()

    # ---- full-device scan ----
    scp = os.path.join(raw, "scan.tsv")
    if os.path.exists(scp):
        for line in open(scp):
            f = line.split()
            if len(f) == 4:
                secs = float(f[3]) - float(f[2])
                b = int(f[1]) * 512
                res["scan"][f[0]] = {"seconds": round(secs, 2), "bytes": b,
                                     "mib_s": round(b / 1048576.0 / secs, 1) if secs > 0 else None}
        dd = res["scan"].get("dd_linear")
        for k, v in res["scan"].items():
            if k.startswith("scan_") and dd and v.get("mib_s"):
                v["full_device_s"] = round(dd["bytes"] / 1048576.0 / v["mib_s"], 1)
                v["extrapolated"] = v["bytes"] < dd["bytes"]
                v["time_vs_dd"] = round(v["full_device_s"] / dd["seconds"], 2) if dd["seconds"] else None
        for p in sorted(glob.glob(os.path.join(raw, "scan.status.*"))):
            res["scan"]["status_" + p.rsplit(".", 1)[1]] = open(p).read().strip()

    # ---- crash recovery of BENCH_RECOVERY_REGIONS write-intent regions ----
    rcp = os.path.join(raw, "recovery.tsv")
    if os.path.exists(rcp):
        for line in open(rcp):
            f = line.split()
            if len(f) != 8 or f[0] != "recovery":
                continue
            regions, clusters = int(f[1]), int(f[2])
            t0, t1, t2 = float(f[3]), float(f[4]), float(f[5])
            mib = clusters * 4096 / 1048576.0
            rec = {"regions": regions, "clusters": clusters, "mib": round(mib, 1),
                   "seconds": round(t2 - t0, 2), "create_s": round(t1 - t0, 2),
                   "mib_s": round(mib / (t2 - t0), 1) if t2 > t0 else None}
            if f[6] != "-" and f[7] != "-":
                # kernel log: "unclean shutdown" to "recovery finished"
                rec["klog_seconds"] = round(float(f[7]) - float(f[6]), 2)
            res["recovery"] = rec
        for name in ("recovery.status", "recovery.klog"):
            p = os.path.join(raw, name)
            if os.path.exists(p) and "recovery" in res:
                res["recovery"][name.split(".")[1]] = open(p).read().strip()

    # ---- baseline build (host, same for both kernels) ----
    base = None
    if a.host_baseline and os.path.exists(a.host_baseline):
        base = json.load(open(a.host_baseline))
        res["baseline_build"] = base

    # ---- targets ----
    T = []

    def io(cfg, job):
        return res["io"].get(cfg, {}).get(job, {}).get("iops")

    def target(name, value, goal, kind="ratio", why=None):
        e = {"name": name, "value": None if value is None else round(value, 3), "goal": goal}
        if value is None:
            e["met"] = None
            e["note"] = why or "not measured"
        else:
            e["met"] = value <= goal if kind == "max" else value >= goal
        T.append(e)

    def best_integrity(job):
        v = [(io(c, job), c) for c in INTEGRITY if io(c, job)]
        return max(v) if v else (None, None)

    def ratio(x, y):
        return x / y if x and y else None

    def with_write_back(job, other):
        """the last target again for WRITE_BACK, when it was measured"""
        v = ratio(io(WRITE_BACK, job), other)
        if v is not None:
            T[-1]["with_write_back"] = round(v, 3)
            T[-1]["with_write_back_met"] = v >= T[-1]["goal"]

    # goals: the Targets table of issue 13
    vs = "vdirt-sha256"
    target("randwrite4k_qd16_vs_linear", ratio(io(vs, "randwrite4k_qd16"), io("linear", "randwrite4k_qd16")), 0.85)
    with_write_back("randwrite4k_qd16", io("linear", "randwrite4k_qd16"))
    bi, bc = best_integrity("randwrite4k_qd16")
    target("randwrite4k_qd16_vs_best_integrity", ratio(io(vs, "randwrite4k_qd16"), bi), 1.05)
    with_write_back("randwrite4k_qd16", bi)
    if bc:
        T[-1]["best"] = bc
    target("randwrite4k_qd16_xxhash64_vs_linear",
           ratio(io("vdirt-xxhash64", "randwrite4k_qd16"), io("linear", "randwrite4k_qd16")), 0.95)
    bi, bc = best_integrity("randwrite4k_qd1")
    target("randwrite4k_qd1_vs_best_integrity", ratio(io(vs, "randwrite4k_qd1"), bi), 1.0)
    with_write_back("randwrite4k_qd1", bi)
    if bc:
        T[-1]["best"] = bc
    target("randread4k_qd16_vs_linear", ratio(io(vs, "randread4k_qd16"), io("linear", "randread4k_qd16")), 0.90)
    target("randread4k_qd16_vs_verity", ratio(io(vs, "randread4k_qd16"), io("verity", "randread4k_qd16")), 1.5)
    for job in SEQJOBS:
        bi, bc = best_integrity(job)
        target("%s_vs_best_integrity" % job, ratio(io(vs, job), bi), 1.3)
        if job.startswith("seqwrite"):
            with_write_back(job, bi)
        if bc:
            T[-1]["best"] = bc
    # scan: the slower of the passes (pass 1 measures, pass 2 verifies)
    ref = reference(a).get(a.series, {})
    passes = [(k[len("scan_"):], v) for k, v in res["scan"].items()
              if k.startswith("scan_") and isinstance(v, dict) and v.get("mib_s")]
    dd = res["scan"].get("dd_linear")
    vals = [(dd["seconds"] / v["full_device_s"], k) for k, v in passes
            if dd and v.get("full_device_s")]
    target("scan_vs_dd_through_linear", min(vals)[0] if vals else None, 0.25,
           why="no scan or no dd through dm-linear")
    if vals:
        T[-1]["pass"] = min(vals)[1]
    rs = ref.get("scan", {})
    vals = [(v["mib_s"] / rs[k + "_mib_s"], k) for k, v in passes if rs.get(k + "_mib_s")]
    target("scan_mib_s_vs_before_13", min(vals)[0] if vals else None, 1.8,
           why="no scan, or no reference for kernel %s" % a.series)
    if vals:
        T[-1]["pass"] = min(vals)[1]
        T[-1]["mib_s"] = res["scan"]["scan_" + min(vals)[1]]["mib_s"]
        T[-1]["reference_mib_s"] = rs[min(vals)[1] + "_mib_s"]
    # recovery: MiB/s against the reference's (the same as its time for
    # the same number of regions; a quick run has fewer)
    rc, rr = res.get("recovery"), ref.get("recovery", {})
    target("recovery_64_regions_vs_before_13",
           rc["mib_s"] / rr["mib_s"] if rc and rc.get("mib_s") and rr.get("mib_s") else None, 2.0,
           why="no recovery run, or no reference for kernel %s" % a.series)
    if rc:
        T[-1].update({"regions": rc["regions"], "seconds": rc["seconds"], "mib_s": rc["mib_s"]})
        if rr:
            T[-1].update({"reference_seconds": rr.get("seconds"), "reference_mib_s": rr.get("mib_s")})
    ms = meta_size(a)
    target("meta_size_pct_sha256_baseline", ms.get("pct"), 2.0, kind="max",
           why=ms.get("error", "vdirtctl meta-size failed"))
    for k in ("pct_without_staging", "meta_bytes", "staging_bytes", "entry_size"):
        if k in ms:
            T[-1][k] = ms[k]
    m1t = res["memory"].get("1T")
    mv = None
    if m1t:
        mv = max(m1t["after_read_pass"]["total_kib"], m1t["settled"]["total_kib"],
                 m1t["settled"]["memfree_drop_kib"]) / 1024.0
    target("memory_1tib_mib", mv, 64, kind="max")
    ims = (base or {}).get("images", {})

    def bspeed(img, t):
        return ims.get(img, {}).get("vdirtctl_t%d" % t, {}).get("speedup_vs_sha256sum")
    why = (base or {}).get("skipped") or "host baseline benchmark not run"
    target("baseline_random_2threads_vs_sha256sum", bspeed("random", 2), 1.8, why=why)
    target("baseline_sparse_holes_vs_sha256sum", bspeed("sparse", 2), 50, why=why)
    target("baseline_zero_clusters_vs_sha256sum", bspeed("zero", 2), 50, why=why)
    res["targets"] = T

    os.makedirs(a.out, exist_ok=True)
    json.dump(res, open(os.path.join(a.out, "results.json"), "w"), indent=1)
    json.dump({"kernel": res["kernel"], "date": res["date"], "targets": T},
              open(os.path.join(a.out, "summary.json"), "w"), indent=1)
    open(os.path.join(a.out, "table.md"), "w").write(markdown(res))
    chart(res, a.out)
    print(markdown(res))
    return 0


def fmt(v, nd=2):
    return "-" if v is None else ("%.*f" % (nd, v))


def target_note(t):
    """what a target's value was made of, for the table"""
    n = []
    if t.get("best"):
        n.append("best: %s" % t["best"])
    if t.get("pass"):
        n.append("pass: %s" % t["pass"])
    if "with_write_back" in t:
        n.append("with write_back:64 %.2f%s" % (t["with_write_back"],
                                               ", met" if t["with_write_back_met"] else ""))
    if t.get("reference_mib_s") and t.get("mib_s") and "regions" not in t:
        n.append("%s MiB/s, before %s" % (t["mib_s"], t["reference_mib_s"]))
    if "regions" in t:
        n.append("%d regions in %s s, %s MiB/s%s" % (
            t["regions"], t["seconds"], t["mib_s"],
            "; before %s s, %s MiB/s" % (t["reference_seconds"], t["reference_mib_s"])
            if t.get("reference_mib_s") else ""))
    if "pct_without_staging" in t:
        n.append("without the staging area %.2f %%" % t["pct_without_staging"])
    return " (%s)" % "; ".join(n) if n else ""


def markdown(res):
    L = ["# dm-vdirt benchmarks, kernel %s (%s)" % (res["kernel"], res["date"]), ""]
    st = res["settings"]
    L.append("fio --direct=1 --ioengine=libaio, time-based %ss x %s repeats (median), %s MiB region; %s."
             % (st.get("BENCH_RUNTIME", "?"), st.get("BENCH_REPEATS", "?"),
                st.get("BENCH_REGION_MB", "?"), st.get("guest")))
    L.append("")
    cfgs = list(res["io"])
    if cfgs:
        L.append("## I/O: IOPS (MiB/s for 1 MiB jobs) and ratio to dm-linear")
        L.append("")
        L.append("| config | " + " | ".join(JOBS) + " |")
        L.append("|---|" + "---|" * len(JOBS))
        for c in cfgs:
            row = []
            for j in JOBS:
                v = res["io"][c].get(j)
                if not v:
                    row.append("")
                    continue
                val = ("%.1f MiB/s" % v["mib_s"]) if j in SEQJOBS else ("%.0f" % v["iops"])
                row.append("%s (%s)" % (val, fmt(v.get("ratio_to_linear"))))
            L.append("| %s | %s |" % (c, " | ".join(row)))
        L.append("")
        sp = [v["spread_pct"] for c in res["io"].values() for v in c.values() if v.get("spread_pct") is not None]
        md = [v["mad_pct"] for c in res["io"].values() for v in c.values() if v.get("mad_pct") is not None]
        if sp:
            L.append("Run-to-run spread (max-min)/median of the repeats: median %.1f %%, max %.1f %%."
                     % (statistics.median(sp), max(sp)))
        if md:
            L.append("Median absolute deviation of the repeats (what the median is exposed to): median %.1f %%, max %.1f %%."
                     % (statistics.median(md), max(md)))
            L.append("")
            L.append("| config | " + " | ".join(JOBS) + " |")
            L.append("|---|" + "---|" * len(JOBS))
            for c in cfgs:
                L.append("| %s | %s |" % (c, " | ".join(
                    "" if not res["io"][c].get(j) else "%s %% / %s %%" % (
                        res["io"][c][j].get("mad_pct"), res["io"][c][j].get("spread_pct"))
                    for j in JOBS)))
            L.append("")
            L.append("(per job: median absolute deviation / (max-min), in % of the median)")
            L.append("")
    if res.get("cpu_decomposition"):
        L.append("## CPU time per I/O (both vCPUs, /proc/stat around each run, median of the repeats)")
        L.append("")
        L.append("| job | dm-linear µs | vdirt sha256 µs | extra µs | of which sha256 hashing µs | rest (copy, work items, metadata, locks) µs |")
        L.append("|---|---|---|---|---|---|")
        for j, e in res["cpu_decomposition"].items():
            L.append("| %s | %s | %s | %s | %s | %s |" % (j, e["linear_us"], e["vdirt_sha256_us"], e["extra_us"],
                                                       e.get("sha256_hashing_us", "-"), e.get("rest_us", "-")))
        L.append("")
    if res.get("profile"):
        L.append("## Kernel profile of vdirt-sha256 (kprof, cpu-clock samples, both vCPUs)")
        L.append("")
        for j, p in res["profile"].items():
            if not p.get("total"):
                L.append("- %s: %s" % (j, p.get("error", "no samples")))
                continue
            cats = sorted(p["categories"].items(), key=lambda x: -x[1])
            busy = p["total"] - p["categories"].get("idle", 0)
            L.append("- %s (%d samples, %.0f %% idle); share of the busy samples: %s" % (
                j, p["total"], 100.0 * p["categories"].get("idle", 0) / p["total"], ", ".join(
                    "%s %.1f %%" % (k, 100.0 * v / busy) for k, v in cats if k != "idle" and busy)))
        L.append("")
    if res.get("memory"):
        L.append("## Memory (kernel: slab + vmalloc + dm-bufio pages, delta from before the table)")
        L.append("")
        L.append("| data | after create KiB | after random-read pass KiB (bufio) | settled KiB | MemFree drop KiB | after remove KiB | all-in-RAM SHA-1 MiB | SHA-256 MiB |")
        L.append("|---|---|---|---|---|---|---|---|")
        for sz, m in res["memory"].items():
            L.append("| %s | %d | %d (%d) | %d | %d | %d | %s | %s |" % (
                sz, m["after_create"]["total_kib"], m["after_read_pass"]["total_kib"],
                m["after_read_pass"]["bufio_kib"], m["settled"]["total_kib"],
                m["settled"]["memfree_drop_kib"], m["after_remove"]["total_kib"],
                m["all_in_ram_sha1_mib"], m["all_in_ram_sha256_mib"]))
        L.append("")
    if res.get("scan"):
        L.append("## Full-device scan")
        L.append("")
        for k, v in res["scan"].items():
            if isinstance(v, dict):
                L.append("- %s: %.1f s for %d MiB, %s MiB/s%s" % (
                    k, v["seconds"], v["bytes"] >> 20, v["mib_s"],
                    "; whole device %s s%s = %s x dd through dm-linear" % (
                        v["full_device_s"], " (extrapolated)" if v.get("extrapolated") else "",
                        v["time_vs_dd"]) if "full_device_s" in v else ""))
        L.append("")
    rc = res.get("recovery")
    if rc:
        L.append("## Crash recovery")
        L.append("")
        L.append("- %d dirty write-intent regions (%d clusters, %.0f MiB, sha256, 4 KiB clusters): %s s from the "
                 "create to recovering=- (%s MiB/s; the create %s s)%s" % (
                     rc["regions"], rc["clusters"], rc["mib"], rc["seconds"], rc["mib_s"], rc["create_s"],
                     "; kernel log, unclean shutdown to recovery finished: %s s" % rc["klog_seconds"]
                     if "klog_seconds" in rc else ""))
        L.append("")
    b = res.get("baseline_build")
    if b:
        L.append("## Baseline build (host-native: %s, %s CPUs)" % (b.get("host_cpu"), b.get("nproc")))
        L.append("")
        if b.get("skipped"):
            L.append("Skipped: " + b["skipped"])
        else:
            L.append("| image | sha256sum s | vdirtctl 1 thread s (x) | vdirtctl 2 threads s (x) |")
            L.append("|---|---|---|---|")
            for k, v in b["images"].items():
                L.append("| %s (%d MiB)%s | %.2f | %.2f (%s) | %.2f (%s) |" % (
                    k, v["bytes"] >> 20, " *" if "extrapolated_from_bytes" in v["sha256sum"] else "",
                    v["sha256sum"]["wall_s"], v["vdirtctl_t1"]["wall_s"], v["vdirtctl_t1"]["speedup_vs_sha256sum"],
                    v["vdirtctl_t2"]["wall_s"], v["vdirtctl_t2"]["speedup_vs_sha256sum"]))
            L.append("")
            L.append("\\* sha256sum time scaled linearly from a smaller sparse file.")
        L.append("")
    L.append("## Targets")
    L.append("")
    L.append("| target | value | goal | met |")
    L.append("|---|---|---|---|")
    for t in res["targets"]:
        goal = ("≤ %s" % t["goal"]) if t["name"] in MAX_TARGETS else ("≥ %s" % t["goal"])
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        L.append("| %s%s | %s | %s | %s |" % (t["name"], target_note(t), fmt(t["value"]), goal, met))
    L.append("")
    return "\n".join(L)


def chart(res, out):
    if not shutil.which("gnuplot") or not res["io"]:
        return
    cfgs = [c for c in res["io"] if c != "linear"]
    dat = os.path.join(out, "chart.dat")
    with open(dat, "w") as f:
        f.write("job " + " ".join(cfgs) + "\n")
        for j in [j for j in JOBS if any(j in res["io"][c] for c in cfgs)]:
            f.write(j.replace("_", "\\\\_") + " " + " ".join(
                str(res["io"][c].get(j, {}).get("ratio_to_linear", "-")) for c in cfgs) + "\n")
    gp = """set terminal pngcairo size 1400,600 font ',10' noenhanced
set output '%s'
set title 'dm-vdirt vs peers, ratio to dm-linear (higher is better), kernel %s, QEMU TCG'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set datafile missing '-'
set yrange [0:*]
set grid ytics
set key outside right top
set ylabel 'IOPS / dm-linear IOPS'
set xtics noenhanced
plot for [i=2:%d] '%s' using i:xtic(1) title columnheader(i), 1 with lines lw 2 lc 'black' notitle
""" % (os.path.join(out, "chart.png"), res["kernel"], len(cfgs) + 1, dat)
    gp = gp.replace("\\\\_", "_")
    with open(dat) as f:
        txt = f.read().replace("\\\\_", "_")
    with open(dat, "w") as f:
        f.write(txt)
    p = subprocess.run(["gnuplot"], input=gp, text=True, capture_output=True)
    if p.returncode:
        sys.stderr.write("gnuplot: " + p.stderr)
        p = subprocess.run(["gnuplot"], input=gp.replace("pngcairo", "png"), text=True, capture_output=True)
    os.unlink(dat)


def index(a):
    L = ["# dm-vdirt benchmark results", "",
         "One directory per kernel series: results.json (everything), summary.json (targets),",
         "table.md (tables), chart.png (ratios to dm-linear). host/baseline.json: the baseline build.",
         "reference-before-13.json: the scan and recovery before issue 13's work (commit a41e493),",
         "which the scan_mib_s_vs_before_13 and recovery_64_regions_vs_before_13 targets compare with.",
         "See bench/README for what each number means.", ""]
    for d in sorted(glob.glob(os.path.join(a.out, "*", "summary.json"))):
        s = json.load(open(d))
        L.append("## %s (%s)" % (s["kernel"], s["date"]))
        L.append("")
        for t in s["targets"]:
            wb = ""
            if "with_write_back" in t:
                wb = "; with write_back:64 %s -> %s" % (
                    fmt(t["with_write_back"]), "met" if t["with_write_back_met"] else "NOT met")
            L.append("- %s: %s (goal %s) -> %s%s" % (t["name"], fmt(t["value"]), t["goal"],
                                                   {True: "met", False: "NOT met", None: "not measured"}[t["met"]],
                                                   wb))
        L.append("")
    open(os.path.join(a.out, "README.md"), "w").write("\n".join(L))
    return 0


def rst_table(header, rows):
    w = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    sep = "  ".join("=" * n for n in w)
    out = [sep, "  ".join(str(h).ljust(n) for h, n in zip(header, w)).rstrip(), sep]
    for r in rows:
        out.append("  ".join(str(x).ljust(n) for x, n in zip(r, w)).rstrip())
    out.append(sep)
    return "\n".join(out)


def rst(a):
    short = {"randwrite4k_qd1": "rw4k q1", "randwrite4k_qd16": "rw4k q16", "randread4k_qd1": "rr4k q1",
             "randread4k_qd16": "rr4k q16", "randrw70_4k_qd16": "mix q16", "seqwrite1m_qd4": "sw1m q4",
             "seqread1m_qd4": "sr1m q4", "scan_verify": "scan"}
    allres = [json.load(open(d)) for d in sorted(glob.glob(os.path.join(a.out, "*", "results.json")))]
    for res in allres:
        title = "Kernel %s" % res["kernel"]
        print(title + "\n" + "-" * len(title) + "\n")
        print("I/O: IOPS (MiB/s for the 1 MiB jobs) / ratio to dm-linear, median of %s runs of %s s:\n"
              % (res["settings"].get("BENCH_REPEATS", "?"), res["settings"].get("BENCH_RUNTIME", "?")))
        rows = []
        for c, jobs in res["io"].items():
            row = [c]
            for j in JOBS:
                v = jobs.get(j)
                row.append("-" if not v else ("%.1f/%.2f" % (v["mib_s"], v.get("ratio_to_linear", 0))
                                              if j in SEQJOBS else "%.0f/%.2f" % (v["iops"], v.get("ratio_to_linear", 0))))
            rows.append(row)
        print(rst_table(["config"] + [short[j] for j in JOBS], rows))
        sp = [v["spread_pct"] for c in res["io"].values() for v in c.values() if v.get("spread_pct") is not None]
        if sp:
            print("\nSpread of the repeats ((max-min)/median of IOPS): median %.1f %%, max %.1f %%."
                  % (statistics.median(sp), max(sp)))
        md = [v["mad_pct"] for c in res["io"].values() for v in c.values() if v.get("mad_pct") is not None]
        if md:
            print("Median absolute deviation of the repeats: median %.1f %%, max %.1f %%."
                  % (statistics.median(md), max(md)))
        print()
        dec = res.get("cpu_decomposition") or {}
        if dec:
            print("CPU time per I/O (µs, both vCPUs, from /proc/stat):\n")
            rows = [[short[j], e["linear_us"], e["vdirt_sha256_us"], e["extra_us"], e.get("sha256_hashing_us", "-"),
                     e.get("rest_us", "-")] for j, e in dec.items()]
            print(rst_table(["job", "linear", "vdirt", "extra", "sha256", "rest"], rows))
            print()
        if res.get("profile"):
            print("kprof, vdirt-sha256 (share of busy samples, %):\n")
            cats = ["hash", "copy", "clock", "metadata", "lock", "alloc_free", "sched_workqueue", "vdirt_other",
                    "block_virtio", "kernel_other", "user"]
            rows = []
            for j, p in res["profile"].items():
                busy = p["total"] - p["categories"].get("idle", 0)
                if not busy:
                    continue
                rows.append([short.get(j, j), "%.0f" % (100.0 * p["categories"].get("idle", 0) / p["total"])] +
                            ["%.0f" % (100.0 * p["categories"].get(c, 0) / busy) for c in cats])
            print(rst_table(["job", "idle"] + cats, rows))
            print()
        if res.get("memory"):
            print("Memory (KiB, delta from before the table; default cache_mb):\n")
            rows = []
            for sz, m in res["memory"].items():
                rows.append([sz, m["after_create"]["total_kib"], m["after_read_pass"]["total_kib"],
                             m["after_read_pass"]["bufio_kib"], m["settled"]["total_kib"],
                             m["settled"]["memfree_drop_kib"], m["after_remove"]["total_kib"],
                             int(m["all_in_ram_sha1_mib"] * 1024)])
            print(rst_table(["data", "created", "after reads", "(bufio)", "settled", "MemFree drop",
                             "removed", "all-in-RAM SHA-1"], rows))
            print()
        if res.get("scan"):
            print("Scan:\n")
            rows = []
            for k, v in res["scan"].items():
                if isinstance(v, dict):
                    rows.append([k, v["bytes"] >> 20, v["seconds"], v["mib_s"], v.get("full_device_s", "-"),
                                 v.get("time_vs_dd", "-")])
            print(rst_table(["pass", "MiB done", "s", "MiB/s", "whole device s", "x dd"], rows))
            print()
        yn = {True: "yes", False: "**no**", None: "n/m"}
        rows = [[t["name"], fmt(t["value"]), t["goal"], yn[t["met"]],
                 "%s %s" % (fmt(t["with_write_back"]), yn[t["with_write_back_met"]])
                 if "with_write_back" in t else "-"]
                for t in res["targets"]]
        print("Targets (value and met: the default table; the last column: vdirt-sha256+write_back:64):\n")
        print(rst_table(["target", "value", "goal", "met", "write_back:64"], rows))
        print()
    b = next((r.get("baseline_build") for r in allres if r.get("baseline_build")), None)
    if b and not b.get("skipped"):
        print("Baseline build (host)\n---------------------\n")
        rows = []
        for k, v in b["images"].items():
            rows.append(["%s %d MiB%s" % (k, v["bytes"] >> 20, "*" if "extrapolated_from_bytes" in v["sha256sum"] else ""),
                         "%.2f" % v["sha256sum"]["wall_s"],
                         "%.2f (x%s)" % (v["vdirtctl_t1"]["wall_s"], v["vdirtctl_t1"]["speedup_vs_sha256sum"]),
                         "%.2f (x%s)" % (v["vdirtctl_t2"]["wall_s"], v["vdirtctl_t2"]["speedup_vs_sha256sum"])])
        print(rst_table(["image", "sha256sum s", "vdirtctl 1 thread s", "2 threads s"], rows))
        print()
    return 0


def reference_run(d, load):
    """one kernel's scan and recovery of a memscan run's results.json"""
    res = json.load(open(d))
    e = {"kernel": res["kernel"], "date": res["date"],
         "guest_debug": res["settings"].get("guest_debug"),
         "scan_size": res["settings"].get("BENCH_SCAN_SIZE"),
         "scan_max_s": res["settings"].get("BENCH_SCAN_MAX_S"), "scan": {}}
    for k, v in res.get("scan", {}).items():
        if isinstance(v, dict) and v.get("mib_s"):
            name = "dd_linear" if k == "dd_linear" else k[len("scan_"):]
            e["scan"][name + "_mib_s"] = v["mib_s"]
            e["scan"][name + "_s"] = v.get("full_device_s", v["seconds"])
            if v.get("extrapolated"):
                e["scan"][name + "_extrapolated"] = True
    if res.get("recovery"):
        e["recovery"] = {k: res["recovery"][k] for k in
                         ("regions", "clusters", "seconds", "mib_s", "klog_seconds") if k in res["recovery"]}
    if load and os.path.exists(load):
        # the load during this kernel's memscan boot: it ended just before
        # its report (res["date"]) and lasted durations_s
        end = calendar.timegm(time.strptime(res["date"], "%Y-%m-%dT%H:%M:%SZ"))
        dur = float(res.get("durations_s", {}).get("memscan", 0))
        l1 = [float(r[1]) for r in (l.split() for l in open(load)) if len(r) == 4 and
              end - dur <= float(r[0]) <= end]
        if l1:
            e["loadavg_1min_during_boot"] = {"samples": len(l1), "min": min(l1),
                                             "median": round(med(l1), 2), "max": max(l1)}
    return e


def make_reference(a):
    """bench/results/reference-before-13.json from memscan runs' results
    (--runs DIR...: each DIR/<series>/results.json); with several runs the
    values are the medians and "runs" keeps each."""
    out = {"what": "scan and crash recovery before issue 13's work: the reference of the "
                   "scan_mib_s_vs_before_13 and recovery_64_regions_vs_before_13 targets",
           "commit": a.commit, "how": a.note or "", "kernels": {}}
    dirs = a.runs or [a.raw]
    per = {}
    for r in dirs:
        for d in sorted(glob.glob(os.path.join(r, "*", "results.json"))):
            per.setdefault(os.path.basename(os.path.dirname(d)), []).append(reference_run(d, a.load))
    for series, runs in per.items():
        e = dict(runs[-1])
        if len(runs) > 1:
            e = {k: v for k, v in e.items() if k in ("kernel", "guest_debug", "scan_size", "scan_max_s")}
            e["scan"] = {k: round(med([x["scan"][k] for x in runs if k in x["scan"]]), 2)
                         for k in runs[0]["scan"] if not k.endswith("_extrapolated")}
            e["recovery"] = {k: round(med([x["recovery"][k] for x in runs if k in x.get("recovery", {})]), 2)
                             for k in runs[0].get("recovery", {}) if k not in ("regions", "clusters")}
            e["recovery"].update({k: runs[0]["recovery"][k] for k in ("regions", "clusters")
                                  if k in runs[0].get("recovery", {})})
            e["runs"] = runs
        out["kernels"][series] = e
    m = os.path.join(dirs[-1], "host", "machine.json")
    if os.path.exists(m):
        # bench/run appends one object per phase (start, end)
        txt, i, dec, out["machine"] = open(m).read(), 0, json.JSONDecoder(), []
        while txt[i:].strip():
            o, j = dec.raw_decode(txt[i:].lstrip())
            out["machine"].append(o)
            i += len(txt[i:]) - len(txt[i:].lstrip()) + j
    json.dump(out, open(a.out, "w"), indent=1)
    open(a.out, "a").write("\n")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["kernel", "index", "rst", "reference"])
    ap.add_argument("--raw")
    ap.add_argument("--out", required=True)
    ap.add_argument("--series", default="")
    ap.add_argument("--host-baseline")
    ap.add_argument("--reference", help="reference values before issue 13 (default %s)" % REFERENCE)
    ap.add_argument("--vdirtctl", help="vdirtctl for meta-size (default userspace/vdirtctl/vdirtctl)")
    ap.add_argument("--commit", default="")
    ap.add_argument("--note")
    ap.add_argument("--runs", nargs="+", help="reference: the results dirs of the runs")
    ap.add_argument("--load", help="loadavg samples during the run (EPOCH L1 L5 L15 lines)")
    a = ap.parse_args()
    return {"kernel": kernel_report, "index": index, "rst": rst, "reference": make_reference}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
