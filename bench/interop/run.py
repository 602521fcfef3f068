"""bench/interop: real wideband calls between termphone and baresip 1.0 on
loopback, both ways, PESQ-WB of what each side heard.

For each codec (G.722, Opus) two calls are made: termphone calls baresip,
then baresip calls termphone. Each side is started afresh for its call
with only that codec: termphone headless on the file backend (the speech
reference as its microphone, what it plays out recorded), baresip with its
own config dir (account `audio_codecs` limited to the codec, `aufile`
playing the same reference as its microphone (silence after it), `sndfile` dumping what it
decoded, `aubridge` pacing playout in real time, `ctrl_tcp` to dial and
hang up). Both directions of each call are aligned to the reference and
scored with PESQ-WB at 16 kHz (the helpers of bench/quality/run.py).

Run by bench/interop.sh, which builds termphone and makes the venv.
Usage: run.py TERMPHONE WORK_DIR [--codecs g722,opus]
"""

import argparse
import datetime
import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "quality"))
import run as quality  # noqa: E402

# codec -> (termphone's and baresip's name for it, the audio rate of the call)
CODECS = {"g722": ("G722", 16000), "opus": ("opus", 48000)}
NAMES = {"g722": "G.722", "opus": "Opus"}


class Termphone:
    """A headless termphone on the file backend, driven over its control socket."""

    def __init__(self, binary, home, codec, rate, ref_wav):
        os.makedirs(home, exist_ok=True)
        self.port = quality.free_port()
        self.sock_path = os.path.join(home, "control.sock")
        self.out = os.path.join(home, "out")
        cfg = os.path.join(home, "config.toml")
        with open(cfg, "w") as f:
            f.write(
                f'control = "{self.sock_path}"\n'
                f'[sip]\nlisten = "127.0.0.1:{self.port}"\n'
                '[[account]]\nname = "bench"\nuser = "bench"\ndomain = "127.0.0.1"\nregister = false\n'
                f'codecs = ["{CODECS[codec][0]}"]\n'
                f'[audio]\nbackend = "file"\ninput = "{ref_wav}"\noutput_dir = "{self.out}"\n'
                "[phone]\nauto_answer = true\n"
            )
        env = dict(os.environ)
        for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR", "XDG_CACHE_HOME"):
            env[k] = home
        env.setdefault("TERMPHONE_LOG", "warn")
        self.log = open(os.path.join(home, "phone.log"), "w")
        self.proc = subprocess.Popen([binary, "--headless", "--config", cfg], env=env,
                                     stdout=self.log, stderr=self.log)
        quality.wait_listening(self.port, self.proc)
        self.uri = f"sip:bench@127.0.0.1:{self.port}"

    def request(self, **req):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(self.sock_path)
        s.sendall((json.dumps({"id": 1, **req}) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        s.close()
        reply = json.loads(buf)
        if not reply.get("ok"):
            raise RuntimeError(f"termphone {req['cmd']}: {reply}")
        return reply

    def calls(self):
        return self.request(cmd="status")["calls"]

    def wait_active(self, deadline_s=15.0):
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            for c in self.calls():
                if c["state"] == "active":
                    return c
            time.sleep(0.05)
        raise RuntimeError("termphone: no call became active")

    def wait_no_calls(self, deadline_s=10.0):
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if not [c for c in self.calls() if c["state"] != "ended"]:
                return
            time.sleep(0.05)
        raise RuntimeError("termphone: the call did not end")

    def recording(self, call):
        return os.path.join(self.out, call["sip_call_id"] + ".wav")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Baresip:
    """baresip 1.0 in its own config dir, driven over ctrl_tcp (netstrings)."""

    def __init__(self, home, codec, rate, ref_wav):
        self.snd = os.path.join(home, "snd")
        os.makedirs(self.snd, exist_ok=True)
        self.port = quality.free_port()
        ctrl = quality.free_port()
        with open(os.path.join(home, "config"), "w") as f:
            f.write(
                "poll_method epoll\n"
                f"sip_listen 127.0.0.1:{self.port}\n"
                f"dns_server 127.0.0.1:{quality.free_port()}\n"
                "audio_player aubridge,player\n"
                "audio_alert aubridge,player\n"
                f"audio_source aufile,{ref_wav}\n"
                f"ausrc_srate {rate}\nauplay_srate {rate}\nausrc_channels 1\nauplay_channels 1\n"
                "module_path /usr/lib/baresip/modules\n"
                "module g722.so\nmodule opus.so\nmodule aufile.so\nmodule aubridge.so\nmodule sndfile.so\n"
                "module ctrl_tcp.so\nmodule_app account.so\nmodule_app contact.so\nmodule_app menu.so\n"
                f"ctrl_tcp_listen 127.0.0.1:{ctrl}\n"
                f"snd_path {self.snd}\n"
            )
        with open(os.path.join(home, "accounts"), "w") as f:
            f.write(f"<sip:peer@127.0.0.1>;regint=0;answermode=auto;audio_codecs={CODECS[codec][0]}\n")
        with open(os.path.join(home, "contacts"), "w") as f:
            f.write("")
        self.log = open(os.path.join(home, "baresip.log"), "w")
        self.proc = subprocess.Popen(["baresip", "-f", home, "-n", "127.0.0.1"],
                                     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while True:
            try:
                self.ctrl = socket.create_connection(("127.0.0.1", ctrl), timeout=1)
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > end:
                    raise RuntimeError(f"baresip did not start (see {home}/baresip.log)")
                time.sleep(0.05)
        self.uri = f"sip:peer@127.0.0.1:{self.port}"

    def command(self, command, params=""):
        body = json.dumps({"command": command, "params": params, "token": command}).encode()
        self.ctrl.sendall(str(len(body)).encode() + b":" + body + b",")

    def decoded(self):
        """The WAV sndfile wrote of what baresip decoded (one call per instance)."""
        got = sorted(glob.glob(os.path.join(self.snd, "*-dec.wav")))
        if len(got) != 1:
            raise RuntimeError(f"baresip recorded {got}")
        return got[0]

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.command("quit")
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        self.ctrl.close()


def one_call(termphone, work, codec, refs, caller, talk_s):
    """One call, `caller` "termphone" or "baresip"; PESQ-WB of what
    termphone heard and of what baresip heard."""
    _, rate = CODECS[codec]
    tag = f"{codec}-{caller}"
    tp = bs = None
    try:
        # baresip 1.0's aufile ends the call when its file ends: the
        # reference it plays runs on in silence past the call's end.
        src = os.path.join(work, f"baresip-src{rate}.wav")
        if not os.path.exists(src):
            quality.sox(refs[rate], src, "pad", "0", str(int(talk_s) + 10))
        bs = Baresip(os.path.join(work, tag, "baresip"), codec, rate, src)
        tp = Termphone(termphone, os.path.join(work, tag, "termphone"), codec, rate, refs[rate])
        if caller == "termphone":
            tp.request(cmd="dial", to=bs.uri)
        else:
            bs.command("dial", tp.uri)
        call = tp.wait_active()
        if call.get("codec") != CODECS[codec][0]:
            raise RuntimeError(f"negotiated {call.get('codec')}, not {CODECS[codec][0]}")
        time.sleep(talk_s)
        if caller == "termphone":
            tp.request(cmd="hangup", call=call["id"])
        else:
            bs.command("hangup")
        tp.wait_no_calls()
        bs.stop()
        tp_wav = tp.recording(call)
        quality.wait_finished(tp_wav)
        bs_wav = bs.decoded()
        quality.wait_finished(bs_wav)
        heard_by_tp = quality.score(codec, refs, tp_wav, work, f"{tag}-tp")
        heard_by_bs = quality.score(codec, refs, bs_wav, work, f"{tag}-bs")
        return heard_by_tp, heard_by_bs
    finally:
        for side in (tp, bs):
            if side is not None:
                side.stop()


def main():
    # A TERM (the script's trap) unwinds through the finally that ends the peers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser()
    ap.add_argument("termphone")
    ap.add_argument("work")
    ap.add_argument("--codecs", default="g722,opus")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    refs = quality.make_reference(args.work)
    rate, ref = quality.read_wav(refs[16000])
    # The whole reference and two seconds for call set-up and playout delay.
    talk_s = len(ref) / rate + 2.0
    rows = []
    for codec in args.codecs.split(","):
        for caller in ("termphone", "baresip"):
            by_tp, by_bs = one_call(args.termphone, args.work, codec, refs, caller, talk_s)
            callee = "baresip" if caller == "termphone" else "termphone"
            rows.append((codec, caller, callee, by_tp, by_bs))
            print(f"{codec:5} {caller} calls {callee}: termphone heard {by_tp:.2f}, baresip heard {by_bs:.2f}",
                  file=sys.stderr, flush=True)
    print(f"Measured {datetime.date.today().isoformat()} by `bench/interop.sh` (clean loopback, PESQ-WB):\n")
    print("| codec | call | baresip → termphone | termphone → baresip |")
    print("|---|---|---:|---:|")
    for codec, caller, callee, by_tp, by_bs in rows:
        print(f"| {NAMES[codec]} | {caller} calls {callee} | {by_tp:.2f} | {by_bs:.2f} |")


if __name__ == "__main__":
    main()
