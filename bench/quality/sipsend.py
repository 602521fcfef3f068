"""A minimal SIP caller for bench/quality: one INVITE over UDP on loopback
offering one codec, ACK, the scheduled RTP packets, BYE. Answers any request
the callee sends meanwhile with 200 OK (no body)."""

import random
import re
import select
import socket
import struct
import time

CODECS = {
    # name -> (payload type, rtpmap, fmtp or None, RTP timestamp step per 20 ms)
    "pcmu": (0, "PCMU/8000", None, 160),
    "g722": (9, "G722/8000", None, 160),
    "opus": (111, "opus/48000/2", "useinbandfec=1", 960),
}


class Caller:
    def __init__(self, target_port, codec, call_id):
        self.codec = codec
        self.call_id = call_id
        self.sip = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sip.bind(("127.0.0.1", 0))
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.target = ("127.0.0.1", target_port)
        self.port = self.sip.getsockname()[1]
        self.tag = "%08x" % random.Random(call_id).getrandbits(32)
        self.to_tag = ""
        self.remote_rtp = None

    def _headers(self, method, cseq, branch):
        to = f"<sip:bench@127.0.0.1:{self.target[1]}>"
        if self.to_tag:
            to += f";tag={self.to_tag}"
        return (
            f"{method} sip:bench@127.0.0.1:{self.target[1]} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{branch};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:quality@127.0.0.1:{self.port}>;tag={self.tag}\r\n"
            f"To: {to}\r\n"
            f"Call-ID: {self.call_id}\r\n"
            f"CSeq: {cseq} {method}\r\n"
            f"Contact: <sip:quality@127.0.0.1:{self.port}>\r\n"
        )

    def _send(self, msg):
        self.sip.sendto(msg.encode(), self.target)

    def _answer_request(self, text):
        heads = []
        for line in text.split("\r\n")[1:]:
            if not line:
                break
            name = line.split(":", 1)[0].strip().lower()
            if name in ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq"):
                heads.append(line)
        self._send("SIP/2.0 200 OK\r\n" + "\r\n".join(heads) + "\r\nContent-Length: 0\r\n\r\n")

    def _recv(self, timeout):
        r, _, _ = select.select([self.sip], [], [], timeout)
        if not r:
            return None
        data, _ = self.sip.recvfrom(65535)
        text = data.decode(errors="replace")
        if not text.startswith("SIP/2.0"):
            self._answer_request(text)
            return ""
        return text

    def _final(self, method, deadline_s):
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            text = self._recv(end - time.monotonic())
            if not text:
                continue
            m = re.match(r"SIP/2.0 (\d+)", text)
            cseq = re.search(r"^CSeq:\s*\d+\s+(\w+)", text, re.M | re.I)
            if m and cseq and cseq.group(1) == method and int(m.group(1)) >= 200:
                return int(m.group(1)), text
        raise RuntimeError(f"no final answer to {method}")

    def invite(self):
        pt, rtpmap, fmtp, _ = self.CODEC()
        rport = self.rtp.getsockname()[1]
        sdp = (
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=quality\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {rport} RTP/AVP {pt}\r\na=rtpmap:{pt} {rtpmap}\r\n"
            + (f"a=fmtp:{pt} {fmtp}\r\n" if fmtp else "")
            + "a=ptime:20\r\na=sendrecv\r\n"
        )
        msg = (
            self._headers("INVITE", 1, "inv" + self.tag)
            + "Content-Type: application/sdp\r\n"
            + f"Content-Length: {len(sdp)}\r\n\r\n"
            + sdp
        )
        self._send(msg)
        code, text = self._final("INVITE", 10)
        if code != 200:
            raise RuntimeError(f"INVITE answered {code}")
        tag = re.search(r"^(?:To|t):.*;tag=([^;\s]+)", text, re.M | re.I)
        self.to_tag = tag.group(1) if tag else ""
        c = re.search(r"^c=IN IP4 (\S+)", text, re.M)
        m = re.search(r"^m=audio (\d+)", text, re.M)
        self.remote_rtp = (c.group(1), int(m.group(1)))
        self._send(self._headers("ACK", 1, "ack" + self.tag) + "Content-Length: 0\r\n\r\n")

    def CODEC(self):
        return CODECS[self.codec]

    def stream(self, payloads, sched):
        """Sends payloads[i] at each (offset, i) of `sched`, from now."""
        pt, _, _, step = self.CODEC()
        ssrc = 0x5EC0DE
        start = time.monotonic() + 0.05
        for offset, i in sched:
            while True:
                now = time.monotonic()
                wait = start + offset - now
                if wait <= 0:
                    break
                # Keep answering the callee (and drain its RTP) while waiting.
                r, _, _ = select.select([self.sip, self.rtp], [], [], min(wait, 0.005))
                if self.sip in r:
                    self._recv(0)
                if self.rtp in r:
                    self.rtp.recvfrom(65535)
            header = struct.pack("!BBHII", 0x80, pt | (0x80 if i == 0 else 0), i & 0xFFFF,
                                 (i * step) & 0xFFFFFFFF, ssrc)
            self.rtp.sendto(header + payloads[i], self.remote_rtp)
        # Let the receiver play out what it buffered.
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            r, _, _ = select.select([self.sip, self.rtp], [], [], 0.05)
            if self.sip in r:
                self._recv(0)
            if self.rtp in r:
                self.rtp.recvfrom(65535)

    def bye(self):
        self._send(self._headers("BYE", 2, "bye" + self.tag) + "Content-Length: 0\r\n\r\n")
        self._final("BYE", 10)
        self.sip.close()
        self.rtp.close()
