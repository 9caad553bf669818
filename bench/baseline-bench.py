#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The host-side benchmark: `vdirtctl baseline build` against `sha256sum`, host-native.

Images (kept in --work, created once):
  random    fully random, --size (default 4G)
  halfzero  first half random, second half written zeros (allocated, not holes)
  zero      --size/2 of written zeros (the zero-cluster case on its own)
  sparse    --sparse (default 64G) of holes (truncate)

Every image is read once before timing so that the page cache serves it
(sparse holes need no cache).  sha256sum of the sparse image is timed on a
--size sparse file and scaled linearly (sha256sum hashes every byte at a
constant rate; hashing 64 GiB of zeros would take minutes and tell nothing
more) unless --full-sparse-sha.  Each command runs --repeats times; the median
wall time is reported, with user+sys CPU time.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VDIRTCTL = os.path.join(TOP, "userspace", "vdirtctl", "vdirtctl")


def size_bytes(s):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    return int(s[:-1]) * units[s[-1]] if s[-1] in units else int(s)


def say(msg):
    print("bench: baseline: " + msg, file=sys.stderr, flush=True)


def timed(cmd):
    """(wall seconds, cpu seconds, exit status) of cmd, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if p.returncode:
        say("%s exited %d: %s" % (" ".join(cmd), p.returncode,
                                    p.stderr.decode(errors="replace").strip()[:300]))
    return wall, cpu, p.returncode


def median_run(cmd, repeats):
    runs = [timed(cmd) for _ in range(repeats)]
    ok = all(r[2] == 0 for r in runs)
    return {"wall_s": round(statistics.median(r[0] for r in runs), 3),
            "cpu_s": round(statistics.median(r[1] for r in runs), 3),
            "runs_wall_s": [round(r[0], 3) for r in runs], "ok": ok}


def ensure_image(path, kind, size, random_src):
    if os.path.exists(path) and os.path.getsize(path) == size:
        return
    say("creating %s image %s (%d MiB)" % (kind, path, size >> 20))
    if kind == "sparse":
        with open(path, "wb") as f:
            f.truncate(size)
        return
    chunk = 1 << 20
    with open(path, "wb") as out:
        src = open(random_src, "rb") if kind == "halfzero" else None
        for i in range(size // chunk):
            if kind == "halfzero" and i < size // chunk // 2:
                out.write(src.read(chunk))
            else:
                out.write(bytes(chunk))
        if src:
            src.close()


def warm(path):
    subprocess.run(["sh", "-c", "cat '%s' >/dev/null" % path])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--size", default="4G")
    ap.add_argument("--sparse", default="64G")
    ap.add_argument("--random-image", required=True)
    ap.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_BASE_REPEATS", "3")))
    ap.add_argument("--full-sparse-sha", action="store_true")
    ap.add_argument("--prepare-only", action="store_true")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    res = {"what": "vdirtctl baseline build vs sha256sum, host-native, page cache warm",
           "host_cpu": "", "nproc": os.cpu_count(), "repeats": a.repeats,
           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "images": {},
           "skipped": None}
    try:
        with open("/proc/cpuinfo") as f:
            res["host_cpu"] = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    help_out = subprocess.run([VDIRTCTL, "--help"], capture_output=True, text=True) \
        if os.access(VDIRTCTL, os.X_OK) else None
    if help_out is None or "baseline build" not in (help_out.stdout + help_out.stderr):
        res["skipped"] = "userspace/vdirtctl/vdirtctl has no 'baseline build' subcommand (not built?)"
        say("SKIPPED: " + res["skipped"])
        json.dump(res, open(a.out, "w"), indent=1)
        return 0

    size = size_bytes(a.size)
    sparse = size_bytes(a.sparse)
    imgs = {
        "random": (a.random_image, size),
        "halfzero": (os.path.join(a.work, "halfzero-%s.img" % a.size), size),
        "zero": (os.path.join(a.work, "zero-%s.img" % a.size), size // 2),
        "sparse": (os.path.join(a.work, "sparse-%s.img" % a.sparse), sparse),
    }
    for kind, (path, sz) in imgs.items():
        if kind != "random":
            ensure_image(path, kind, sz, a.random_image)
    sparse_small = os.path.join(a.work, "sparse-%s.img" % a.size)
    ensure_image(sparse_small, "sparse", size, None)
    outfile = os.path.join(a.work, "bench.baseline")
    if a.prepare_only:
        return 0

    for kind, (path, sz) in imgs.items():
        if not os.path.exists(path):
            say("no image %s, skipped" % path)
            continue
        if kind != "sparse":
            warm(path)
        r = {"path": os.path.basename(path), "bytes": sz}
        if kind == "sparse" and not a.full_sparse_sha:
            m = median_run(["sha256sum", sparse_small], a.repeats)
            scale = sz / size
            r["sha256sum"] = dict(m, wall_s=round(m["wall_s"] * scale, 3),
                                  cpu_s=round(m["cpu_s"] * scale, 3),
                                  extrapolated_from_bytes=size)
        else:
            r["sha256sum"] = median_run(["sha256sum", path], a.repeats)
        for t in (1, 2):
            m = median_run([VDIRTCTL, "-q", "baseline", "build", path, "-o", outfile,
                            "--hash", "sha256", "--threads", str(t)], a.repeats)
            m["speedup_vs_sha256sum"] = round(r["sha256sum"]["wall_s"] / m["wall_s"], 2) \
                if m["wall_s"] > 0 else None
            m["mib_per_s"] = round(sz / (1 << 20) / m["wall_s"], 1) if m["wall_s"] > 0 else None
            r["vdirtctl_t%d" % t] = m
        r["sha256sum"]["mib_per_s"] = round(sz / (1 << 20) / r["sha256sum"]["wall_s"], 1)
        res["images"][kind] = r
        say("%-8s sha256sum %.2fs  vdirtctl t1 %.2fs (x%s)  t2 %.2fs (x%s)" % (
            kind, r["sha256sum"]["wall_s"], r["vdirtctl_t1"]["wall_s"],
            r["vdirtctl_t1"]["speedup_vs_sha256sum"], r["vdirtctl_t2"]["wall_s"],
            r["vdirtctl_t2"]["speedup_vs_sha256sum"]))
    try:
        os.unlink(outfile)
    except OSError:
        pass
    json.dump(res, open(a.out, "w"), indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
