#!/usr/bin/env python3
"""Every byte: damage each checkpoint file of a work dir one byte at a time
and ask ckpt-inspect about it.

  sweep.py truncate WORK FILE   cut FILE at every offset; each cut must be
                                read (exit 0 or 65), whole records before it
                                intact; prints "cuts N ok N"
  sweep.py flip WORK            xor each byte of every checkpoint file with
                                0xff (SWEEP_BITS=1: each of its 8 bits); prints "flips N detected N rate R"
                                per file kind and in all
A crash (exit other than 0 or 65, or a signal) fails at once (exit 1).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

# xor masks applied to each byte: all bits, or (SWEEP_BITS=1) each bit.
MASKS = [1 << b for b in range(8)] if os.environ.get("SWEEP_BITS") else [0xFF]
INSPECT = os.path.join(os.environ.get("AGENT_BIN", "build/bin"), "ckpt-inspect")


def inspect(work, *args):
    p = subprocess.run([INSPECT, "-d", work, *args], capture_output=True, text=True)
    if p.returncode not in (0, 65):
        sys.stderr.write(f"ckpt-inspect {' '.join(args)} exited {p.returncode}: {p.stderr}\n")
        sys.exit(1)
    return p


def records(data):
    """Offsets where whole records end."""
    ends, pos = [], 0
    while pos + 4 <= len(data):
        n = int.from_bytes(data[pos:pos + 4], "little")
        if pos + 4 + n > len(data):
            break
        pos += 4 + n
        ends.append(pos)
    return ends


def truncate(work, rel):
    path = os.path.join(work, rel)
    orig = open(path, "rb").read()
    ends = records(orig)
    ok = 0
    for cut in range(len(orig) + 1):
        with open(path, "wb") as f:
            f.write(orig[:cut])
        whole = sum(1 for e in ends if e <= cut)
        p = inspect(work, "--updates", "--json", "--task",
                    os.path.basename(os.path.dirname(path)))
        got = [json.loads(l) for l in p.stdout.splitlines()]
        if len(got) != whole:
            sys.stderr.write(f"cut {cut}: {len(got)} records read, {whole} whole\n")
            sys.exit(1)
        ok += 1
    with open(path, "wb") as f:
        f.write(orig)
    print(f"cuts {len(orig) + 1} ok {ok}")


def flip(work):
    files = []
    for root, _, names in os.walk(os.path.join(work, "meta")):
        for n in names:
            if n.endswith(".info") or n == "task.updates":
                files.append(os.path.join(root, n))
    total = detected = 0
    per = {}
    missed = []
    for path in sorted(files):
        orig = open(path, "rb").read()
        kind = os.path.basename(path)
        for i, mask in ((i, m) for i in range(len(orig)) for m in MASKS):
            damaged = bytearray(orig)
            damaged[i] ^= mask
            with open(path, "wb") as f:
                f.write(damaged)
            p = inspect(work, "--verify")
            hit = p.returncode == 65
            total += 1
            detected += hit
            t, d = per.get(kind, (0, 0))
            per[kind] = (t + 1, d + hit)
            if not hit:
                missed.append(f"{kind}@{i}^{mask:#x}")
        with open(path, "wb") as f:
            f.write(orig)
    for kind, (t, d) in sorted(per.items()):
        print(f"{kind}: flips {t} detected {d}")
    print(f"flips {total} detected {detected} rate {detected / total:.4f}")
    if missed:
        print("missed: " + " ".join(missed[:20]))


if __name__ == "__main__":
    if sys.argv[1] == "truncate":
        truncate(sys.argv[2], sys.argv[3])
    else:
        flip(sys.argv[2])
