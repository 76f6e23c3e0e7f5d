#!/usr/bin/env python3
"""What a health check costs its executor, side by side in one run: an idle
task (a small HTTP responder) whose executor checks it every second
(--health-http), against the same task with no check.  Over SECS seconds:
the executor's CPU time with its checks' (utime + stime + cutime +
cstime) and its private memory (smaps).

usage: health.py BIN TMPDIR [SECS]
"""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

BIN, TMP = sys.argv[1], sys.argv[2]
SECS = float(sys.argv[3]) if len(sys.argv) > 3 else 20
HZ = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu(pid):
    """Its own CPU seconds (schedstat, ns) and its reaped children's (the
    checks it forks: cutime + cstime, in ticks)."""
    own = int(open(f"/proc/{pid}/schedstat").read().split()[0]) / 1e9
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return own, (int(f[13]) + int(f[14])) / HZ


def private_kb(pid):
    kb = 0
    for line in open(f"/proc/{pid}/smaps_rollup"):
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            kb += int(line.split()[1])
    return kb


def main():
    d = os.path.join(TMP, "health")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    server = os.path.join(d, "web.py")
    open(server, "w").write(
        "import http.server, sys\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self): self.send_response(200); self.end_headers()\n"
        "    def log_message(self, *a): pass\n"
        "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n")
    a = subprocess.Popen([os.path.join(BIN, "agent-run"), "-d", os.path.join(d, "w")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, cwd=d)
    p1, p2 = free_port(), free_port()
    a.stdin.write((f"launch --checkpoint --health-http {p1} --health-interval 1s "
                   f"--health-delay 1s F E1 CHECKED -- python3 {server} {p1}\n"
                   f"launch --checkpoint F E2 PLAIN -- python3 {server} {p2}\n").encode())
    a.stdin.flush()
    pids, healthy, buf = {}, False, b""
    end = time.monotonic() + 60
    while len(pids) < 2 or not healthy:
        r, _, _ = select.select([a.stdout], [], [], max(0, end - time.monotonic()))
        if not r:
            sys.exit("health bench: no healthy check in 60 s")
        buf += os.read(a.stdout.fileno(), 65536)
        *lines, buf = buf.split(b"\n")
        for l in lines:
            e = json.loads(l)
            if e.get("event") == "launched":
                pids[e["task_id"]] = e["pid"]
            if e.get("healthy") is True:
                healthy = True
            if e.get("event") == "update":
                a.stdin.write(f"ack {e['uuid']}\n".encode())
                a.stdin.flush()
    c0 = {t: cpu(p) for t, p in pids.items()}
    time.sleep(SECS)
    # Acks for what came meanwhile (one update per change, none here).
    c1 = {t: cpu(p) for t, p in pids.items()}
    m = {t: private_kb(p) for t, p in pids.items()}
    for t in ("CHECKED", "PLAIN"):
        print(f"executor {'with a 1 s HTTP check' if t == 'CHECKED' else 'without a check'}: "
              f"CPU {1000 * (c1[t][0] - c0[t][0]) / SECS:.3f} ms/s its own, "
              f"{1000 * (c1[t][1] - c0[t][1]) / SECS:.1f} ms/s its checks' "
              f"(10 ms ticks), over {SECS:.0f} s; private memory {m[t]} KiB")
    a.kill()
    a.wait()
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.readlink(f"/proc/{p}/cwd").startswith(d):
                    os.kill(int(p), signal.SIGKILL)
            except OSError:
                pass


main()
