//! Encodes a speech reference for `bench/quality.sh`: reads raw 16-bit
//! little-endian mono PCM at the codec's sample rate on stdin and writes
//! one 20 ms RTP payload per frame on stdout, each behind its length as a
//! big-endian u16. The bench sends these same payloads, impaired, to
//! termphone and to pjsua2. Opus is encoded for a peer with termphone's
//! own receive parameters (in-band FEC asked for). Usage: `quality_encode pcmu|pcma|g722|opus`.

use std::io::{Read, Write};
use termphone::media::codec::Encoder;
use termphone::media::Codec;
use termphone::sip::sdp_opus;

fn main() -> std::process::ExitCode {
    let codec = match std::env::args().nth(1).as_deref() {
        Some("pcmu") => Codec::Pcmu,
        Some("pcma") => Codec::Pcma,
        Some("g722") => Codec::G722,
        Some("opus") => Codec::Opus,
        other => {
            eprintln!("usage: quality_encode pcmu|pcma|g722|opus (got {other:?})");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut raw = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut raw) {
        eprintln!("quality_encode: reading stdin: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let pcm: Vec<i16> = raw
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    let n = codec.frame_samples();
    // As termphone sends to a peer that asks what termphone's own SDP asks
    // (for Opus `useinbandfec=1`: a termphone receiving this stream would
    // have asked for in-band FEC).
    let ours = sdp_opus::parse(codec.fmtp().unwrap_or_default());
    let mut enc = Encoder::for_peer(codec, ours);
    let mut out = Vec::new();
    let mut payload = Vec::new();
    for frame in pcm.chunks(n) {
        let mut f = frame.to_vec();
        f.resize(n, 0);
        payload.clear();
        enc.encode(&f, &mut payload);
        let len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&payload[..usize::from(len)]);
    }
    if let Err(e) = std::io::stdout().write_all(&out) {
        eprintln!("quality_encode: writing stdout: {e}");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
