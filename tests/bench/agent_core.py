#!/usr/bin/env python3
"""The agent's core, side by side in one run (medians of interleaved rounds):

  T  updates durably delivered and acknowledged per second: 100 executors
     whose tasks write progress lines to fd 3 as fast as they can, the
     one-loop driver of agent-run(1) acking each event as it reads it;
  F  write+fdatasync calls per second of a bare one-file loop in the same
     directory;                                        target T/F >= 5
  L  launches per second, 1,000 tasks sent in one burst (until every
     `launched` event);
  B  bare fork+exec per second of the same argv;       target B/L <= 3
  latency from a progress line (its wall-clock time written by the task)
     to its event read by the driver, unloaded: p50 and p99 of 200

usage: agent_core.py BIN TMPDIR [ROUNDS]
"""
import json
import os
import select
import signal
import statistics
import subprocess
import sys
import time

BIN, TMP = sys.argv[1], sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
HERE = os.path.dirname(os.path.abspath(__file__))
N_EXEC, LINES, N_LAUNCH = 100, 500, 1000


def fsyncs_per_s(d, n=300):
    path = os.path.join(d, "bare")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    rec = b"x" * 120
    t = time.monotonic()
    for _ in range(n):
        os.write(fd, rec)
        os.fdatasync(fd)
    dt = time.monotonic() - t
    os.close(fd)
    os.unlink(path)
    return n / dt


def updates_per_s(d):
    out = subprocess.run([sys.executable, os.path.join(HERE, "..", "oneloop.py"),
                          os.path.join(d, "w"), str(N_EXEC), str(LINES)],
                         env=dict(os.environ, AGENT_BIN=BIN), capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"oneloop failed: {out.stderr}")
    return float(out.stdout.split("updates/s ")[1].split()[0])


def kill_under(d):
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.readlink(f"/proc/{p}/cwd").startswith(d):
                    os.kill(int(p), signal.SIGKILL)
            except OSError:
                pass


def launches_per_s(d):
    w = os.path.join(d, "w")
    a = subprocess.Popen([os.path.join(BIN, "agent-run"), "-d", w], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=d)
    # registered first: recovery is not a launch
    buf = b""
    while b'"registered"' not in buf:
        buf += os.read(a.stdout.fileno(), 65536)
    burst = "".join(f"launch --checkpoint F E{i} T{i} -- sleep 100000\n" for i in range(N_LAUNCH))
    t = time.monotonic()
    a.stdin.write(burst.encode())
    a.stdin.flush()
    seen = 0
    buf = b""
    while seen < N_LAUNCH:
        r, _, _ = select.select([a.stdout], [], [], 120)
        if not r:
            sys.exit(f"launch burst: only {seen} launched in 120 s")
        chunk = os.read(a.stdout.fileno(), 1 << 20)
        if not chunk:
            sys.exit("launch burst: the agent exited")
        buf += chunk
        *lines, buf = buf.split(b"\n")
        seen += sum(1 for l in lines if b'"event":"launched"' in l)
    dt = time.monotonic() - t
    a.kill()
    a.wait()
    kill_under(d)
    return N_LAUNCH / dt


def bare_forks_per_s(d):
    pids = []
    t = time.monotonic()
    for _ in range(N_LAUNCH):
        pid = os.fork()
        if pid == 0:
            os.chdir(d)
            os.execvp("sleep", ["sleep", "100000"])
        pids.append(pid)
    dt = time.monotonic() - t
    for p in pids:
        os.kill(p, signal.SIGKILL)
    for p in pids:
        os.waitpid(p, 0)
    return N_LAUNCH / dt


def latencies(d, n=200):
    """One task writes its clock to fd 3 every 10 ms; the driver acks."""
    w = os.path.join(d, "w")
    a = subprocess.Popen([os.path.join(BIN, "agent-run"), "-d", w], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=d)
    script = (f"i=0; while [ $i -lt {n} ]; do date +%s.%N >&3; sleep 0.01; "
              "i=$((i+1)); done")
    a.stdin.write(f"launch --checkpoint F E T -- sh -c '{script}'\n".encode())
    a.stdin.flush()
    lat, buf = [], b""
    while len(lat) < n:
        r, _, _ = select.select([a.stdout], [], [], 60)
        if not r:
            sys.exit("latency: no event in 60 s")
        chunk = os.read(a.stdout.fileno(), 65536)
        if not chunk:
            sys.exit("latency: the agent exited")
        now = time.time()
        *lines, buf = (buf + chunk).split(b"\n")
        for l in lines:
            ev = json.loads(l)
            if ev.get("event") == "update":
                a.stdin.write(f"ack {ev['uuid']}\n".encode())
                a.stdin.flush()
                try:
                    lat.append((now - float(ev.get("message") or "")) * 1000)
                except ValueError:
                    pass
    a.kill()
    a.wait()
    kill_under(d)
    lat.sort()
    return lat[len(lat) // 2], lat[min(len(lat) - 1, len(lat) * 99 // 100)]


def fresh(name, k):
    d = os.path.join(TMP, f"{name}-{k}")
    os.makedirs(d)
    return d


T, F, L, B = [], [], [], []
for k in range(ROUNDS):
    F.append(fsyncs_per_s(fresh("f", k)))
    T.append(updates_per_s(fresh("t", k)))
    B.append(bare_forks_per_s(fresh("b", k)))
    L.append(launches_per_s(fresh("l", k)))
t, f, l, b = (statistics.median(v) for v in (T, F, L, B))
print(f"T {t:.0f} updates/s (100 executors x {LINES} lines, one-loop driver); "
      f"F {f:.0f} fdatasync/s; T/F {t / f:.2f} (target >= 5)")
print(f"L {l:.0f} launches/s (burst of {N_LAUNCH}); B {b:.0f} fork+exec/s; "
      f"B/L {b / l:.1f} (target <= 3)")
p50, p99 = latencies(fresh("lat", 0))
print(f"latency from a progress line to its event, unloaded: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
