"""The impaired streams of bench/quality: which packets are sent and when.

Every schedule is a pure function of the stream's name, the packet count and
the seed, so the same packets go out at the same offsets to every receiver
in a run and in every run with that seed.
"""

import random

# name -> (what the README calls it, description of the impairment)
STREAMS = {
    "clean": "clean",
    "jitter": "0–40 ms jitter",
    "loss": "5 % random loss",
    "bursts": "5 % bursts of up to 3 + 40 ms jitter",
}

FRAME_S = 0.020


def schedule(name, count, seed):
    """[(send offset in s, packet index)] sorted by offset, lost packets left out."""
    rng = random.Random(f"{seed}:{name}")
    lost = set()
    jitter_ms = 0.0
    if name == "jitter":
        jitter_ms = 40.0
    elif name == "loss":
        lost = {i for i in range(count) if rng.random() < 0.05}
    elif name == "bursts":
        jitter_ms = 40.0
        # Bursts of 1, 2 or 3 (mean 2) started so that 5 % are lost in all.
        i = 0
        while i < count:
            if rng.random() < 0.05 / 2.0:
                n = rng.randint(1, 3)
                lost.update(range(i, min(i + n, count)))
                i += n + 1
            else:
                i += 1
    elif name != "clean":
        raise ValueError(name)
    out = []
    for i in range(count):
        delay = rng.uniform(0.0, jitter_ms) / 1000.0 if jitter_ms else 0.0
        if i in lost:
            continue
        out.append((i * FRAME_S + delay, i))
    out.sort()
    return out, len(lost)
