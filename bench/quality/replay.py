"""bench/replay: the PCMU (or G.722) rows of bench/quality replayed offline
through termphone's playout (examples/playout_replay.rs) for several seeds,
PESQ of each (NB for PCMU, WB for G.722) and their mean. Deterministic: the same build gives the same
figures on a busy or an idle machine, so a change to the concealment or
the jitter buffer can be judged in seconds. The live bench (quality.sh)
stays the reference for the README: it runs the whole phone.

Run by bench/replay.sh. Usage: replay.py REPLAY ENCODER WORK_DIR [--codec pcmu|g722] [--seeds 1,2,3] [--streams ...]
"""

import argparse
import os
import struct
import subprocess
import sys

import numpy as np
from pesq import pesq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402
import streams  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("replay")
    ap.add_argument("encoder")
    ap.add_argument("work")
    ap.add_argument("--codec", choices=["pcmu", "g722"], default="pcmu")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--streams", default=",".join(streams.STREAMS))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    mode, rate = run.PESQ_MODE[args.codec]
    ref_path = run.make_reference(args.work)[rate]
    _, ref = run.read_wav(ref_path)
    payloads = run.encode(args.encoder, args.codec, ref_path)
    payloads_path = os.path.join(args.work, f"{args.codec}.payloads")
    with open(payloads_path, "wb") as f:
        f.write(b"".join(struct.pack("!H", len(p)) + p for p in payloads))
    count = len(payloads)
    seeds = [int(s) for s in args.seeds.split(",")]
    print("| stream | " + " | ".join(f"seed {s}" for s in seeds) + " | mean |")
    print("|---|" + "---:|" * (len(seeds) + 1))
    for name in args.streams.split(","):
        scores = []
        for seed in seeds:
            sched, _ = streams.schedule(name, count, seed)
            lines = "".join(f"{at:.6f} {i}\n" for at, i in sched)
            out = subprocess.run(
                [args.replay, args.codec, payloads_path], input=lines.encode(), capture_output=True, check=True
            ).stdout
            deg = np.frombuffer(out, dtype="<i2")
            scores.append(pesq(rate, ref.astype(np.float32), run.align(ref, deg).astype(np.float32), mode))
        cells = " | ".join(f"{s:.3f}" for s in scores)
        print(f"| {streams.STREAMS[name]} | {cells} | {sum(scores) / len(scores):.3f} |", flush=True)


if __name__ == "__main__":
    main()
