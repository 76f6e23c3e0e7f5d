#!/usr/bin/env python3
"""What limits cost, side by side in one run (medians of interleaved rounds):

  R  launches with limits (--cpus 0.1 --mem 64 --pids 100, their cgroups
     made and entered before exec) against launches without, N tasks in
     one burst, timed until every task is TASK_RUNNING:  ratio R
  U  one `usage` over 1,000 running tasks with limits (their cgroups),
     and over 1,000 without (from /proc): ms per command
  C  a busy loop at --cpus 0.2 and at --cpus 1: the share of a CPU it
     got over 3 s (its cgroup's cpuacct/cpu.stat), against 0.2 and 1

usage: limits.py BIN TMPDIR [ROUNDS] [N]
Prints "skipped: ..." when no cgroup can hold limits here.
"""
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time

BIN, TMP = sys.argv[1], sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
N = int(sys.argv[4]) if len(sys.argv) > 4 else 200
LIMITS = "--cpus 0.1 --mem 64 --pids 100"


class Agent:
    def __init__(self, d, *args):
        self.d = d
        self.w = os.path.join(d, "w")
        self.p = subprocess.Popen([os.path.join(BIN, "agent-run"), "-d", self.w,
                                   "--oversubscribe", "--log-level", "info", *args],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=open(os.path.join(d, "agent.err"), "w"), cwd=d)
        self.buf = b""
        self.until(lambda e: e.get("event") in ("registered", "reregistered"))

    def send(self, text):
        self.p.stdin.write(text.encode())
        self.p.stdin.flush()

    def until(self, done, timeout=300):
        """Read events until done(event) is true for one: that event."""
        end = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                if line:
                    e = json.loads(line)
                    if done(e):
                        return e
            r, _, _ = select.select([self.p.stdout], [], [], max(0, end - time.monotonic()))
            if not r:
                sys.exit("bench: no event in time")
            chunk = os.read(self.p.stdout.fileno(), 1 << 20)
            if not chunk:
                sys.exit("bench: the agent exited")
            self.buf += chunk

    def close(self):
        self.p.kill()
        self.p.wait()
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    if os.readlink(f"/proc/{p}/cwd").startswith(self.d):
                        os.kill(int(p), signal.SIGKILL)
                except OSError:
                    pass


def fresh(name):
    d = os.path.join(TMP, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def burst(a, n, limits):
    """n launches in one write; seconds until all are TASK_RUNNING."""
    lines = "".join(f"launch --checkpoint {limits} F E{i} T{i} -- sleep 100000\n"
                    for i in range(n))
    running = set()
    t = time.monotonic()
    a.send(lines)
    def done(e):
        if e.get("event") == "update" and e.get("state") == "TASK_RUNNING":
            running.add(e["task_id"])
        if e.get("event") == "error":
            sys.exit(f"bench: {e['message']}")
        return len(running) == n
    a.until(done)
    return time.monotonic() - t


def launch_ratio():
    with_l, without = [], []
    for r in range(ROUNDS):
        for limits, out in ((LIMITS, with_l), ("", without)) if r % 2 == 0 else \
                (("", without), (LIMITS, with_l)):
            a = Agent(fresh("launch"))
            out.append(N / burst(a, N, limits))
            a.close()
    wl, wo = statistics.median(with_l), statistics.median(without)
    print(f"launches with limits: {wl:.0f}/s; without: {wo:.0f}/s; "
          f"ratio without/with {wo / wl:.2f} (medians of {ROUNDS}, {N} tasks each)")


def usage_ms():
    res = []
    for limits, name in ((LIMITS, "with limits (cgroups)"), ("", "without (/proc)")):
        a = Agent(fresh("usage"))
        burst(a, 1000, limits)
        times = []
        for _ in range(5):
            t = time.monotonic()
            a.send("usage\n")
            e = a.until(lambda e: e.get("event") == "usage_done")
            times.append((time.monotonic() - t) * 1000)
            assert e["tasks"] == 1000, e
        a.close()
        res.append(f"{name}: {statistics.median(times):.0f} ms")
    print("usage over 1,000 tasks, median of 5: " + "; ".join(res))


def cpu_share():
    out = []
    a = Agent(fresh("cpu"))
    for i, cpus in enumerate((0.2, 1)):
        a.send(f"launch --checkpoint --cpus {cpus} F C{i} C{i} -- sh -c 'while :; do :; done'\n")
        a.until(lambda e: e.get("event") == "update" and e.get("task_id") == f"C{i}"
                and e.get("state") == "TASK_RUNNING")
        time.sleep(0.5)

        def secs():
            a.send(f"usage C{i}\n")
            e = a.until(lambda e: e.get("event") == "usage" and e.get("task_id") == f"C{i}")
            a.until(lambda e: e.get("event") == "usage_done")
            s = e["statistics"]
            return s["cpus_user_time_secs"] + s["cpus_system_time_secs"], s["cpus_nr_throttled"]
        u0, _ = secs()
        t = time.monotonic()
        time.sleep(3)
        u1, thr = secs()
        share = (u1 - u0) / (time.monotonic() - t)
        out.append(f"--cpus {cpus}: {share:.2f} of a CPU (throttled {thr} times)")
        a.send(f"kill C{i}\n")
    a.close()
    print("a busy loop over 3 s: " + "; ".join(out))


def main():
    a = Agent(fresh("probe"))
    a.close()
    err = open(os.path.join(TMP, "probe", "agent.err")).read()
    if "task limits cannot be enforced" in err:
        print("skipped: " + err.split("task limits cannot be enforced:")[1].strip().split("\n")[0])
        return
    launch_ratio()
    usage_ms()
    cpu_share()


main()
