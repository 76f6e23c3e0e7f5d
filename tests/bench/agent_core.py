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
  T and F again with a bulk writer beside them (a tenant's dd writing
     1 GiB files): T/F within 25% of T/F without one, and T > F
  a task writing 1 GiB to stdout (through its executor's pipe, rotated)
     against the same task writing to a file
  the agent's peak RSS with 20 drivers that send and never read

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


def bulk_writer(d):
    """A tenant's bulk writes: 1 GiB files, one after the other."""
    return subprocess.Popen(["bash", "-c", 'while :; do dd if=/dev/zero of="$0/bulk" bs=1M count=1024 status=none; rm -f "$0/bulk"; done', d])


def launch_wait(w, argv, extra=()):
    """Run one task under a fresh agent; seconds from launch to its end."""
    a = subprocess.Popen([os.path.join(BIN, "agent-run"), "-d", w, *extra],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    t = time.monotonic()
    a.stdin.write("launch F E T -- " + " ".join(argv) + "\n")
    a.stdin.flush()
    for line in a.stdout:
        ev = json.loads(line)
        if ev.get("event") == "update" and ev["state"] in ("TASK_FINISHED", "TASK_FAILED"):
            break
    dt = time.monotonic() - t
    a.stdin.write("shutdown\n")
    a.stdin.close()
    a.wait()
    return dt


def stdout_cost(d):
    gib = ["head", "-c", str(1 << 30), "/dev/zero"]
    via, direct = [], []
    for k in range(3):
        via.append(launch_wait(os.path.join(d, f"w{k}"), gib))
        t = time.monotonic()
        with open(os.path.join(d, f"file{k}"), "wb") as f:
            subprocess.run(gib, stdout=f, check=True)
        direct.append(time.monotonic() - t)
        os.unlink(os.path.join(d, f"file{k}"))
    return statistics.median(via), statistics.median(direct)


def stuck_drivers(d):
    import socket
    sock = os.path.join(d, "s")
    a = subprocess.Popen([os.path.join(BIN, "agent-run"), "-d", os.path.join(d, "w"), "--listen", sock],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while not os.path.exists(sock):
        time.sleep(0.01)
    line = ("reconcile " + " ".join("abcdefghijklmnopqrstuvwxyz") + "\n").encode()
    conns = []
    for _ in range(20):
        c = socket.socket(socket.AF_UNIX)
        c.connect(sock)
        c.setblocking(False)
        conns.append(c)
    deadline = time.monotonic() + 60
    alive = list(conns)
    while alive and time.monotonic() < deadline:
        for c in list(alive):
            try:
                c.send(line * 64)
            except BlockingIOError:
                pass
            except OSError:
                alive.remove(c)
    hwm = [int(x.split()[1]) for x in open(f"/proc/{a.pid}/status") if x.startswith("VmHWM")][0]
    for c in conns:
        c.close()
    a.kill()
    a.wait()
    return hwm, len(conns) - len(alive)


TB, FB = [], []
for k in range(ROUNDS):
    bw = bulk_writer(fresh("bulk", k))
    time.sleep(1)
    FB.append(fsyncs_per_s(fresh("fb", k)))
    TB.append(updates_per_s(fresh("tb", k)))
    bw.kill()
    bw.wait()
    subprocess.run(["rm", "-f", os.path.join(TMP, f"bulk-{k}", "bulk")])
tb, fb = statistics.median(TB), statistics.median(FB)
print(f"with a bulk writer beside (dd, 1 GiB files): T {tb:.0f} updates/s, F {fb:.0f} fdatasync/s, "
      f"T/F {tb / fb:.2f} = {100 * (tb / fb) / (t / f):.0f}% of T/F without it (target >= 75%, and T > F)")
via, direct = stdout_cost(fresh("gib", 0))
print(f"a task writing 1 GiB: to stdout through its executor {via * 1000:.0f} ms, to a file {direct * 1000:.0f} ms, "
      f"ratio {via / direct:.2f} (medians of 3)")
hwm, cut = stuck_drivers(fresh("drv", 0))
print(f"20 drivers sending reconcile and never reading: {cut} cut off; agent-run peak RSS {hwm} KiB "
      f"(bounds: 4 MiB each, 8 MiB all together)")
p50, p99 = latencies(fresh("lat", 0))
print(f"latency from a progress line to its event, unloaded: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
