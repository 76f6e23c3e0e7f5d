#!/usr/bin/env python3
"""A restart storm: STORM_EXECUTORS tasks of a checkpointing framework,
each sending STORM_UPDATES updates (STARTING, RUNNING, progress lines on
fd 3, FINISHED), while agent-run is killed with SIGKILL and restarted
STORM_RESTARTS times at random moments; a driver acknowledges every update
as it sees it.  At the end: every task FINISHED (its true end), every
update delivered at least once, none delivered after its acknowledgement,
no executor left.  Prints the figures; exits 1 on a violation.
"""
import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

N = int(os.environ.get("STORM_EXECUTORS", "20"))
U = int(os.environ.get("STORM_UPDATES", "10"))
R = int(os.environ.get("STORM_RESTARTS", "3"))
BIN = os.environ.get("AGENT_BIN", os.path.join(os.path.dirname(__file__), "..", "build", "bin"))
SEED = int(os.environ.get("STORM_SEED", str(int(time.time()))))
random.seed(SEED)

events = []          # (seq, lifetime, event) in arrival order
lock = threading.Lock()
not_json = []        # whole lines that are not JSON: a violation each


class Agent:
    def __init__(self, work, lifetime):
        self.p = subprocess.Popen(
            [os.path.join(BIN, "agent-run"), "-d", work,
             "--executor-reregistration-timeout=10s"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, bufsize=1, cwd=os.path.dirname(work))
        self.lifetime = lifetime
        # Commands go through their own thread: a reader that wrote them
        # itself could block on a full stdin while the agent blocks on a
        # full stdout.
        self.q = queue.Queue()
        self.w = threading.Thread(target=self.write, daemon=True)
        self.w.start()
        self.t = threading.Thread(target=self.read, daemon=True)
        self.t.start()

    def send(self, line):
        self.q.put(line)

    def write(self):
        while True:
            line = self.q.get()
            if line is None:
                return
            try:
                self.p.stdin.write(line + "\n")
                self.p.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                return

    def read(self):
        for line in self.p.stdout:
            if not line.endswith("\n"):
                break   # cut by kill -9: not an event (agent-run(1))
            try:
                ev = json.loads(line)
            except ValueError:
                with lock:
                    not_json.append(line[:200])
                continue
            with lock:
                events.append((len(events), self.lifetime, ev))
            if ev.get("event") == "update":
                self.send("ack " + ev["uuid"])

    def kill9(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()
        self.q.put(None)
        self.t.join(5)


def procs_under(d):
    n = 0
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if os.readlink(f"/proc/{p}/cwd").startswith(d):
                    n += 1
            except OSError:
                pass
    return n


def main():
    tmp = tempfile.mkdtemp(prefix="storm.")
    work = os.path.join(tmp, "w")
    start = time.time()
    agent = Agent(work, 0)
    progress = U - 3
    for i in range(N):
        agent.send(f"launch --checkpoint F E{i} T{i} -- sh -c "
                   f"'for i in $(seq {progress}); do echo \"p $i\" >&3; sleep 0.{random.randint(1, 3)}; done'")
    # every launch is taken before the storm begins (a launch cut short by a
    # crash is a lost task, scenario 13, not what this measures)
    t_end = time.time() + 60
    while time.time() < t_end:
        with lock:
            if sum(1 for _, _, e in events if e.get("event") == "launched") >= N:
                break
        time.sleep(0.05)
    for r in range(R):
        time.sleep(random.uniform(0.1, 0.6))
        agent.kill9()
        agent = Agent(work, r + 1)
    deadline = time.time() + 120
    def finished():
        with lock:
            acked = {e["uuid"] for _, _, e in events if e.get("event") == "acknowledged"}
            fin = {e["task_id"] for _, _, e in events if e.get("event") == "update"
                   and e["state"] == "TASK_FINISHED" and e["uuid"] in acked}
        return len(fin)
    while finished() < N and time.time() < deadline:
        time.sleep(0.1)
    elapsed = time.time() - start
    t_end = time.time() + 10
    while procs_under(work) and time.time() < t_end:
        time.sleep(0.1)
    orphans = procs_under(work)
    agent.send("shutdown")
    try:
        agent.p.wait(10)
    except subprocess.TimeoutExpired:
        agent.kill9()

    bad = []
    with lock:
        evs = list(events)
    updates = [(s, e) for s, _, e in evs if e.get("event") == "update"]
    acked_at = {}
    for s, _, e in evs:
        if e.get("event") == "acknowledged":
            acked_at.setdefault(e["uuid"], s)
    for s, e in updates:
        if e["uuid"] in acked_at and s > acked_at[e["uuid"]]:
            bad.append(f"{e['task_id']} {e['state']} {e['uuid']} delivered after its acknowledgement")
    for i in range(N):
        t = f"T{i}"
        mine = [e for _, e in updates if e["task_id"] == t]
        states = {e["state"] for e in mine}
        msgs = {e.get("message") for e in mine}
        if "TASK_FINISHED" not in states:
            bad.append(f"{t}: no FINISHED (states {sorted(states)})")
        for other in ("TASK_LOST", "TASK_FAILED", "TASK_KILLED"):
            if other in states:
                bad.append(f"{t}: reported {other}")
        for want in ("TASK_STARTING", "TASK_RUNNING"):
            if want not in states:
                bad.append(f"{t}: {want} never delivered")
        missing = [k for k in range(1, progress + 1) if f"p {k}" not in msgs]
        if missing:
            bad.append(f"{t}: progress {missing[:5]} never delivered")
    if orphans:
        bad.append(f"{orphans} processes left in the work dir")
    bad += [f"an event line that is not JSON: {l}" for l in not_json]
    unique = len({e["uuid"] for _, e in updates})
    print(f"storm: executors {N}, updates each {U}, restarts {R}, seed {SEED}: "
          f"{unique} updates, {len(updates)} deliveries ({len(updates) - unique} redelivered), "
          f"{len(acked_at)} acknowledged, all finished in {elapsed:.1f}s, "
          f"orphans {orphans}, violations {len(bad)}")
    for b in bad[:20]:
        print("  " + b)
    if not bad:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("  work dir kept: " + tmp)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
