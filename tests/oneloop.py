#!/usr/bin/env python3
"""The one-loop driver of agent-run(1)'s example, at scale: read an event,
write `ack` for it, nothing else, on blocking pipes.

  oneloop.py WORK N LINES   launch N checkpointing tasks that each write
                            LINES progress lines to fd 3 as fast as they
                            can; ack every update as it is read; stop when
                            every task has terminated.
Prints "oneloop: executors N, updates U, acknowledged A, seconds S,
updates/s R" and exits 0; exits 1 if the agent exits first or nothing
arrives for ONELOOP_STALL seconds (60 by default: a deadlock).
"""
import json
import os
import select
import subprocess
import sys
import time

BIN = os.environ.get("AGENT_BIN", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "bin"))


def main():
    work, n, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    stall = float(os.environ.get("ONELOOP_STALL", "60"))
    agent = subprocess.Popen([os.path.join(BIN, "agent-run"), "-d", work],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=os.path.dirname(work))
    script = f'i=0; while [ $i -lt {lines} ]; do echo "progress $i" >&3; i=$((i+1)); done'
    for i in range(n):
        agent.stdin.write(f"launch --checkpoint F E{i} T{i} -- sh -c '{script}'\n".encode())
    agent.stdin.flush()
    start = time.monotonic()
    updates = acked = terminated = 0
    errors = []
    rc = 0
    buf, pending = b"", []
    while terminated < n:
        if not pending:
            r, _, _ = select.select([agent.stdout], [], [], stall)
            if not r:
                sys.stderr.write(f"oneloop: nothing for {stall}s after {updates} updates, "
                                 f"{terminated} terminated: a deadlock\n")
                rc = 1
                break
            chunk = os.read(agent.stdout.fileno(), 65536)
            if not chunk:
                sys.stderr.write("oneloop: the agent exited\n")
                rc = 1
                break
            *pending, buf = (buf + chunk).split(b"\n")
            continue
        line = pending.pop(0)
        ev = json.loads(line)
        if ev["event"] == "update":
            updates += 1
            agent.stdin.write(f"ack {ev['uuid']}\n".encode())	# blocking
            agent.stdin.flush()
        elif ev["event"] == "acknowledged":
            acked += 1
        elif ev["event"] == "terminated":
            terminated += 1
        elif ev["event"] == "error":
            errors.append(ev["message"])
    secs = time.monotonic() - start
    agent.kill()
    agent.wait()
    for e in errors[:5]:
        sys.stderr.write(f"oneloop: error event: {e}\n")
    print(f"oneloop: executors {n}, updates {updates}, acknowledged {acked}, errors {len(errors)}, "
          f"seconds {secs:.2f}, updates/s {updates / secs:.0f}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
