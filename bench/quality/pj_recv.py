"""pjsua2 as the bench's second receiver: listens on 127.0.0.1:PORT with the
null sound device, answers every call and records what its conference
bridge plays out for the call (AudioMediaRecorder) to OUT_DIR/<Call-ID>.wav,
at CLOCK Hz. Makes OUT_DIR/ready once listening; runs until killed.

Usage: pj_recv.py PORT OUT_DIR CLOCK
"""

import os
import signal
import sys

import pjsua2 as pj

port, out_dir, clock = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)


class Call(pj.Call):
    def __init__(self, acc, call_id):
        pj.Call.__init__(self, acc, call_id)
        self.recorder = None
        self.path = None

    def onCallMediaState(self, prm):
        ci = self.getInfo()
        for i, mi in enumerate(ci.media):
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                if self.recorder is None:
                    self.path = os.path.join(out_dir, ci.callIdString + ".wav")
                    self.recorder = pj.AudioMediaRecorder()
                    self.recorder.createRecorder(self.path)
                    self.getAudioMedia(i).startTransmit(self.recorder)

    def onCallState(self, prm):
        ci = self.getInfo()
        if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            if self.recorder is not None:
                # Deleting the recorder finishes the WAV.
                ended.append(self)


calls = []
# Calls that ended: finished (recorder deleted, which closes the WAV) in
# the main loop, never inside a callback of the call itself.
ended = []


class Account(pj.Account):
    def onIncomingCall(self, prm):
        call = Call(self, prm.callId)
        calls.append(call)
        op = pj.CallOpParam()
        op.statusCode = 200
        call.answer(op)


ep = pj.Endpoint()
ep.libCreate()
cfg = pj.EpConfig()
cfg.uaConfig.threadCnt = 0
cfg.uaConfig.mainThreadOnly = True
cfg.logConfig.level = 0
cfg.logConfig.consoleLevel = 0
cfg.medConfig.clockRate = clock
cfg.medConfig.sndClockRate = clock
cfg.medConfig.ecTailLen = 0
cfg.medConfig.noVad = True
ep.libInit(cfg)
tcfg = pj.TransportConfig()
tcfg.port = port
tcfg.boundAddress = "127.0.0.1"
ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
ep.audDevManager().setNullDev()
ep.libStart()
acfg = pj.AccountConfig()
acfg.idUri = f"sip:bench@127.0.0.1:{port}"
acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
acc = Account()
acc.create(acfg)
open(os.path.join(out_dir, "ready"), "w").close()
while running:
    ep.libHandleEvents(10)
    while ended:
        call = ended.pop()
        call.recorder = None
        open(call.path + ".done", "w").close()
        calls.remove(call)
calls.clear()
acc.shutdown()
ep.libDestroy()
