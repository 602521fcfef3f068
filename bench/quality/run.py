"""bench/quality: the same impaired RTP streams of a speech reference played
to termphone (file backend) and to pjsua2 (null sound device, recorder),
PESQ of what each played out (NB for PCMU, WB for G.722 and Opus).

Run by bench/quality.sh, which builds termphone and the encoder and makes
the venv. Usage: run.py TERMPHONE ENCODER WORK_DIR [--seed N] [--codecs pcmu,g722,opus]
"""

import argparse
import datetime
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import wave

import numpy as np
from pesq import pesq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sipsend  # noqa: E402
import streams  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# Harvard sentences (IEEE 1969), list 1.
TEXT = (
    "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. "
    "It's easy to tell the depth of a well. These days a chicken leg is a rare dish. "
    "Rice is often served in round bowls. The juice of lemons makes fine punch. "
    "The box was thrown beside the parked truck."
)
CODEC_RATE = {"pcmu": 8000, "g722": 16000, "opus": 48000}
PESQ_MODE = {"pcmu": ("nb", 8000), "g722": ("wb", 16000), "opus": ("wb", 16000)}
PJ_CODECS = {"pcmu", "g722"}  # pjsua2-python's wheel has no Opus


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def sox(*args):
    subprocess.run(["sox", *args], check=True, stderr=subprocess.DEVNULL)


def read_wav(path):
    with wave.open(path, "rb") as w:
        return w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def make_reference(work):
    raw = os.path.join(work, "espeak.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", raw, TEXT], check=True)
    refs = {}
    for rate in (8000, 16000, 48000):
        path = os.path.join(work, f"ref{rate}.wav")
        sox("-D", raw, "-r", str(rate), "-b", "16", "-c", "1", path, "pad", "0.5", "0.5", "norm", "-3")
        refs[rate] = path
    return refs


def encode(encoder, codec, ref_path):
    _, pcm = read_wav(ref_path)
    out = subprocess.run([encoder, codec], input=pcm.tobytes(), capture_output=True, check=True).stdout
    payloads, i = [], 0
    while i + 2 <= len(out):
        (n,) = struct.unpack_from("!H", out, i)
        payloads.append(out[i + 2 : i + 2 + n])
        i += 2 + n
    return payloads


def wait_finished(path, deadline_s=15.0, done_marker=False):
    """Waits until the WAV at `path` is complete (its RIFF size matches)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if done_marker and not os.path.exists(path + ".done"):
            time.sleep(0.05)
            continue
        try:
            with open(path, "rb") as f:
                head = f.read(8)
            size = os.path.getsize(path)
            if len(head) == 8 and head[:4] == b"RIFF" and struct.unpack("<I", head[4:])[0] + 8 == size:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{path}: recording not finished")


def align(ref, deg):
    """`deg` cut to `ref`'s length from where it best matches `ref`."""
    n = 1
    while n < len(ref) + len(deg):
        n *= 2
    corr = np.fft.irfft(np.fft.rfft(deg.astype(np.float64), n) * np.conj(np.fft.rfft(ref.astype(np.float64), n)), n)
    lag = int(np.argmax(corr[: max(1, len(deg) - len(ref) // 2)]))
    cut = deg[lag : lag + len(ref)]
    if len(cut) < len(ref):
        cut = np.concatenate([cut, np.zeros(len(ref) - len(cut), dtype=cut.dtype)])
    return cut


def score(codec, refs, played, work, tag):
    mode, rate = PESQ_MODE[codec]
    _, ref = read_wav(refs[rate])
    conv = os.path.join(work, f"{tag}.{rate}.wav")
    sox("-D", played, "-r", str(rate), "-b", "16", "-c", "1", conv)
    _, deg = read_wav(conv)
    return pesq(rate, ref.astype(np.float32), align(ref, deg).astype(np.float32), mode)


def start_termphone(termphone, work, port):
    home = os.path.join(work, "termphone")
    os.makedirs(home, exist_ok=True)
    cfg = os.path.join(home, "config.toml")
    with open(cfg, "w") as f:
        f.write(
            f'control = "{home}/control.sock"\n'
            f'[sip]\nlisten = "127.0.0.1:{port}"\n'
            '[[account]]\nname = "bench"\nuser = "bench"\ndomain = "127.0.0.1"\nregister = false\n'
            'codecs = ["opus", "G722", "PCMU"]\n'
            f'[audio]\nbackend = "file"\noutput_dir = "{home}/out"\n'
            "[phone]\nauto_answer = true\n"
        )
    env = dict(os.environ)
    for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR", "XDG_CACHE_HOME"):
        env[k] = home
    env.setdefault("TERMPHONE_LOG", "warn")
    log = open(os.path.join(home, "phone.log"), "w")
    proc = subprocess.Popen([termphone, "--headless", "--config", cfg], env=env, stdout=log, stderr=log)
    return proc, os.path.join(home, "out")


def start_pjsua(work, port, clock):
    out = os.path.join(work, f"pjsua{clock}")
    os.makedirs(out, exist_ok=True)
    log = open(os.path.join(out, "pjsua.log"), "w")
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "pj_recv.py"), str(port), out, str(clock)],
                            stdout=log, stderr=log)
    end = time.monotonic() + 20
    while not os.path.exists(os.path.join(out, "ready")):
        if proc.poll() is not None or time.monotonic() > end:
            raise RuntimeError(f"pjsua2 receiver did not start (see {out}/pjsua.log)")
        time.sleep(0.05)
    return proc, out


def wait_listening(port, proc, deadline_s=20.0):
    """Polls with OPTIONS until the SIP port answers."""
    end = time.monotonic() + deadline_s
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.2)
    me = s.getsockname()[1]
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("receiver exited")
        msg = (f"OPTIONS sip:bench@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bKopt{time.monotonic_ns()}\r\n"
               f"From: <sip:q@127.0.0.1:{me}>;tag=1\r\nTo: <sip:bench@127.0.0.1:{port}>\r\nCall-ID: opt{time.monotonic_ns()}\r\n"
               "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
        s.sendto(msg.encode(), ("127.0.0.1", port))
        try:
            s.recvfrom(65535)
            s.close()
            return
        except socket.timeout:
            pass
    raise RuntimeError(f"nothing answers on {port}")


def play(port, codec, payloads, sched, call_id):
    c = sipsend.Caller(port, codec, call_id)
    c.invite()
    c.stream(payloads, sched)
    c.bye()


def main():
    # A TERM (the script's trap) unwinds through the finally that ends the receivers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser()
    ap.add_argument("termphone")
    ap.add_argument("encoder")
    ap.add_argument("work")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--codecs", default="pcmu,g722,opus")
    ap.add_argument("--streams", default=",".join(streams.STREAMS))
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    refs = make_reference(args.work)
    children = []
    rows = []
    try:
        tp_port = free_port()
        tp, tp_out = start_termphone(args.termphone, args.work, tp_port)
        children.append(tp)
        wait_listening(tp_port, tp)
        for codec in args.codecs.split(","):
            payloads = encode(args.encoder, codec, refs[CODEC_RATE[codec]])
            pj = None
            if codec in PJ_CODECS:
                pj_port = free_port()
                pj, pj_out = start_pjsua(args.work, pj_port, CODEC_RATE[codec])
                children.append(pj)
            for name in args.streams.split(","):
                sched, lost = streams.schedule(name, len(payloads), args.seed)
                call_id = f"quality-{codec}-{name}-{args.seed}"
                play(tp_port, codec, payloads, sched, call_id)
                tp_wav = os.path.join(tp_out, call_id + ".wav")
                wait_finished(tp_wav)
                tp_score = score(codec, refs, tp_wav, args.work, f"tp-{codec}-{name}")
                pj_score = None
                if pj is not None:
                    play(pj_port, codec, payloads, sched, call_id)
                    pj_wav = os.path.join(pj_out, call_id + ".wav")
                    wait_finished(pj_wav, done_marker=True)
                    pj_score = score(codec, refs, pj_wav, args.work, f"pj-{codec}-{name}")
                rows.append((codec, name, lost, len(payloads), tp_score, pj_score))
                print(f"{codec:5} {name:7} lost {lost:3}/{len(payloads)}  termphone {tp_score:.2f}  "
                      f"pjsua2 {'n/a' if pj_score is None else f'{pj_score:.2f}'}", file=sys.stderr, flush=True)
            if pj is not None:
                pj.terminate()
                pj.wait(10)
                children.remove(pj)
    finally:
        for p in children:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
    names = {"pcmu": "PCMU (PESQ-NB)", "g722": "G.722 (PESQ-WB)", "opus": "Opus (PESQ-WB)"}
    print(f"Measured {datetime.date.today().isoformat()} by `bench/quality.sh` (seed {args.seed}):\n")
    print("| codec | stream | termphone | pjsua2 | difference |")
    print("|---|---|---:|---:|---:|")
    for codec, name, lost, count, tp_score, pj_score in rows:
        pj_cell = "n/a" if pj_score is None else f"{pj_score:.2f}"
        diff = "" if pj_score is None else f"{tp_score - pj_score:+.2f}"
        print(f"| {names[codec]} | {streams.STREAMS[name]} | {tp_score:.2f} | {pj_cell} | {diff} |")


if __name__ == "__main__":
    main()
