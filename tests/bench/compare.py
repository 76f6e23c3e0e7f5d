#!/usr/bin/env python3
"""Two builds side by side, interleaved round by round (the order flips
each round), so that a noisy machine and ext4 without a journal (slow to
create files for minutes after a mass deletion) weigh on both alike:
T (updates/s, one-loop driver), F (fdatasync/s), L (launches/s, a burst
of 1000), B (fork+exec/s).  For comparing a change against its base:

  tests/bench/compare.py BASE_BIN HEAD_BIN TMPDIR ROUNDS
"""
import os, select, signal, statistics, subprocess, sys, time, shutil
BASE, HEAD, TMP, ROUNDS = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ONELOOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oneloop.py")
def kill_under(d):
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.readlink(f"/proc/{p}/cwd").startswith(d):
                    os.kill(int(p), signal.SIGKILL)
            except OSError:
                pass
def fsyncs(d, n=300):
    path = os.path.join(d, "bare"); fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    t = time.monotonic()
    for _ in range(n):
        os.write(fd, b"x" * 120); os.fdatasync(fd)
    dt = time.monotonic() - t; os.close(fd); os.unlink(path); return n / dt
def updates(b, d):
    out = subprocess.run([sys.executable, ONELOOP, os.path.join(d, "w"), "100", "500"],
                         env=dict(os.environ, AGENT_BIN=b), capture_output=True, text=True)
    kill_under(d)
    return float(out.stdout.split("updates/s ")[1].split()[0])
def launches(b, d, n=1000):
    a = subprocess.Popen([os.path.join(b, "agent-run"), "-d", os.path.join(d, "w")], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=d)
    buf = b""
    while b'"registered"' not in buf:
        buf += os.read(a.stdout.fileno(), 65536)
    burst = "".join(f"launch --checkpoint F E{i} T{i} -- sleep 100000\n" for i in range(n))
    t = time.monotonic(); a.stdin.write(burst.encode()); a.stdin.flush()
    seen, buf = 0, b""
    while seen < n:
        r, _, _ = select.select([a.stdout], [], [], 120)
        chunk = os.read(a.stdout.fileno(), 1 << 20); buf += chunk
        *lines, buf = buf.split(b"\n"); seen += sum(1 for l in lines if b'"event":"launched"' in l)
    dt = time.monotonic() - t; a.kill(); a.wait(); kill_under(d); return n / dt
def forks(d, n=1000):
    pids = []; t = time.monotonic()
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            os.chdir(d); os.execvp("sleep", ["sleep", "100000"])
        pids.append(pid)
    dt = time.monotonic() - t
    for p in pids: os.kill(p, signal.SIGKILL)
    for p in pids: os.waitpid(p, 0)
    return n / dt
R = {k: [] for k in ("F", "Tb", "Th", "Lb", "Lh", "B")}
k = 0
def fresh():
    global k
    k += 1; d = os.path.join(TMP, f"r{k}"); os.makedirs(d); return d
for r in range(ROUNDS):
    order = [("b", BASE), ("h", HEAD)] if r % 2 == 0 else [("h", HEAD), ("b", BASE)]
    R["F"].append(fsyncs(fresh()))
    for tag, b in order: R["T" + tag].append(updates(b, fresh()))
    R["B"].append(forks(fresh()))
    for tag, b in order: R["L" + tag].append(launches(b, fresh()))
    print(f"round {r + 1}: " + ", ".join(f"{x} {R[x][-1]:.0f}" for x in R), flush=True)
m = {x: statistics.median(v) for x, v in R.items()}
print(f"medians of {ROUNDS} interleaved rounds: F {m['F']:.0f}/s; base T {m['Tb']:.0f} (T/F {m['Tb']/m['F']:.2f}), "
      f"HEAD T {m['Th']:.0f} (T/F {m['Th']/m['F']:.2f}); B {m['B']:.0f}/s; base L {m['Lb']:.0f} (B/L {m['B']/m['Lb']:.2f}), "
      f"HEAD L {m['Lh']:.0f} (B/L {m['B']/m['Lh']:.2f})")
