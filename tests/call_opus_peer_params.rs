//! The peer's Opus receive parameters (RFC 7587 §6.1) bound what
//! termphone sends it.
//!
//! Against SIPp: termphone (Opus only, a loud speech-like microphone
//! file with harmonics up to 20 kHz) dials a SIPp UAS
//! (`uas_answer_opus.xml`) whose answer names this test's own UDP
//! socket as its media address and carries the `a=fmtp` the test gives
//! it, so the test reads the Opus packets termphone sends. Answered with
//! `maxaveragebitrate=12000;useinbandfec=0;maxplaybackrate=16000`, the
//! payload averages at most 12 kbit/s (a little slack for VBR), every
//! packet's TOC byte (RFC 6716 §3.1) says wideband or narrower, and none
//! carries in-band FEC (LBRR). The control, answered with
//! `maxplaybackrate=48000;useinbandfec=1`, gets clearly more bits, a
//! band above wideband and FEC, so the same checks would catch a
//! termphone that ignored the answer.
//!
//! Against baresip 1.0, whose opus module names its `opus_bitrate` as
//! `maxaveragebitrate` in its SDP: set to 12000 (and `opus_inbandfec
//! no`), what termphone sends it, captured on the wire (a packet socket:
//! root, as in CI), stays under 12 kbit/s and carries no FEC (the same
//! call without `opus_bitrate` takes about 30 kbit/s).
//!
//! Also without a peer: an SDP answer read by `sip::sdp` and its
//! parameters applied to the session's encoder (`media::codec`), the
//! path a call takes.

mod support;

use serde_json::json;
use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};
use support::baresip::{Baresip, BaresipOpts};
use support::capture::{rtp_of, Capture};
use support::config::{Account, Audio, Config};
use support::phone::{call_id_of, Phone};
use support::sipp::Sipp;
use support::speech::write_wav;
use support::TestDir;
use termphone::media::codec::Encoder;
use termphone::media::Codec;

/// The capped answer's parameters.
const CAPPED: &str = "maxaveragebitrate=12000;useinbandfec=0;maxplaybackrate=16000";
/// The control's: full band, FEC, no cap.
const OPEN: &str = "maxplaybackrate=48000;useinbandfec=1";
/// The payload type of Opus in SIPp's answer (not our offer's 111).
const PT: u8 = 96;

/// `secs` of speech-like sound at 48 kHz: syllables (a 3 Hz envelope)
/// of a voiced buzz gliding 120-200 Hz with harmonics up to 20 kHz and a
/// little hiss, loud: it takes all the bits and band it is given.
fn speechlike(secs: usize) -> Vec<i16> {
    use std::f64::consts::PI;
    let mut x: u32 = 0x1234_5678;
    let mut phase = 0.0f64;
    (0..secs * 48_000)
        .map(|i| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let t = i as f64 / 48_000.0;
            let pitch = 160.0 + 40.0 * (2.0 * PI * 0.7 * t).sin();
            phase += 2.0 * PI * pitch / 48_000.0;
            let harmonics = (20_000.0 / pitch) as u32;
            let buzz: f64 = (1..=harmonics)
                .map(|k| (phase * f64::from(k)).sin() / f64::from(k).sqrt())
                .sum();
            let envelope = 0.3 + 0.7 * (2.0 * PI * 3.0 * t).sin().max(0.0);
            let hiss = f64::from((x >> 16) as i16) / 16.0;
            ((buzz * 1500.0 + hiss) * envelope).clamp(-32_000.0, 32_000.0) as i16
        })
        .collect()
}

/// The audio band of an Opus TOC byte (RFC 6716 §3.1): 0 NB, 1 MB,
/// 2 WB, 3 SWB, 4 FB.
fn toc_band(toc: u8) -> u8 {
    match toc >> 3 {
        c @ 0..12 => c / 4,
        c @ 12..16 => 3 + (c - 12) / 2,
        c => [0, 2, 3, 4][usize::from((c - 16) / 4)],
    }
}

/// Whether a one-frame 20 ms SILK or hybrid packet carries LBRR (in-band
/// FEC): the flag after the one VAD flag, the second bit of the range
/// coder's first byte (RFC 6716 §4.2.3); CELT-only packets carry none.
fn has_fec(packet: &[u8]) -> bool {
    let config = packet[0] >> 3;
    config < 16 && packet.get(1).is_some_and(|&b| b & 0x40 != 0)
}

/// What termphone sent: mean payload bytes, the widest band, packets
/// with FEC.
#[derive(Debug)]
struct Sent {
    mean_bytes: f64,
    band: u8,
    fec: usize,
}

impl Sent {
    fn of(payloads: &[Vec<u8>]) -> Sent {
        for p in payloads {
            assert!(!p.is_empty(), "an empty Opus payload");
            let config = p[0] >> 3;
            let twenty_ms = if config < 12 {
                config % 4 == 1
            } else if config < 16 {
                config % 2 == 1
            } else {
                config % 4 == 3
            };
            assert!(
                twenty_ms && p[0] & 3 == 0,
                "not one 20 ms frame: TOC {:#04x}",
                p[0]
            );
        }
        Sent {
            mean_bytes: payloads.iter().map(Vec::len).sum::<usize>() as f64 / payloads.len() as f64,
            band: payloads.iter().map(|p| toc_band(p[0])).max().unwrap_or(0),
            fec: payloads.iter().filter(|p| has_fec(p)).count(),
        }
    }

    fn kbits(&self) -> f64 {
        self.mean_bytes * 8.0 * 50.0 / 1000.0
    }
}

/// The payloads of the first `n` RTP packets termphone sends to
/// `socket`, each checked to be Opus on SIPp's payload type.
fn receive(socket: &UdpSocket, n: usize) -> Vec<Vec<u8>> {
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    let end = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    while got.len() < n && Instant::now() < end {
        let Ok(len) = socket.recv(&mut buf) else {
            continue;
        };
        let b = &buf[..len];
        // Our packets: version 2, no CSRC, no extension, no padding.
        if len > 12 && b[0] == 0x80 {
            assert_eq!(b[1] & 0x7f, PT, "the answer's payload type");
            got.push(b[12..].to_vec());
        }
    }
    assert_eq!(got.len(), n, "termphone sent too few RTP packets");
    got
}

/// termphone (Opus only) dials a SIPp UAS answering with Opus and
/// `fmtp`; the payloads of 5 s it sent once the encoder settled (the
/// first second left out).
fn call_sipp(t: &TestDir, mic: &Path, fmtp: &str) -> Vec<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("media socket");
    let config = Config::new()
        .account(Account::direct("direct", "1001").codecs(&["opus"]))
        .audio(Audio::file(mic, &t.sub("rec")));
    let mut phone = Phone::start(&t.sub("phone"), &config);
    let port = socket.local_addr().expect("socket address").port();
    let sipp = Sipp::new("uas_answer_opus", &t.sub("sipp"))
        .key("rtp_port", &port.to_string())
        .key("opus_fmtp", fmtp)
        .timeout(40)
        .spawn();
    let reply = phone.ok(json!({"cmd": "dial", "to": format!("sip:uas@{}", sipp.addr())}));
    let id = call_id_of(&reply);
    let call = phone.wait_active(&id);
    assert_eq!(call["codec"], "opus", "{call}");
    let payloads = receive(&socket, 300);
    sipp.ended_by_hang_up(&mut phone, &id);
    payloads[50..].to_vec()
}

#[test]
fn a_peer_capping_opus_gets_at_most_its_rate_and_band_without_fec() {
    let t = TestDir::new("opus-peer-params");
    let mic = t.path().join("mic.wav");
    write_wav(&mic, 48_000, &speechlike(30));
    let capped = Sent::of(&call_sipp(&t, &mic, CAPPED));
    let t2 = TestDir::new("opus-peer-params-open");
    let open = Sent::of(&call_sipp(&t2, &mic, OPEN));
    eprintln!(
        "capped: {capped:?} ({:.1} kbit/s); open: {open:?} ({:.1} kbit/s)",
        capped.kbits(),
        open.kbits()
    );
    // maxaveragebitrate=12000: 30 bytes a packet, a tenth more for VBR.
    assert!(
        capped.kbits() <= 13.2,
        "{:.1} kbit/s of payload over a 12 kbit/s cap: {capped:?}",
        capped.kbits()
    );
    assert!(capped.band <= 2, "band above wideband: {capped:?}");
    assert_eq!(capped.fec, 0, "FEC to a peer with useinbandfec=0");
    // The control: the same sound, answered without the limits.
    assert!(
        open.kbits() >= 1.5 * 12.0,
        "the uncapped call sent only {:.1} kbit/s: {open:?}",
        open.kbits()
    );
    assert!(open.band > 2, "the uncapped call stayed wideband: {open:?}");
    assert!(
        open.fec > 0,
        "no FEC to a peer with useinbandfec=1: {open:?}"
    );
}

#[test]
fn baresip_with_opus_bitrate_gets_no_more_from_termphone() {
    let t = TestDir::new("opus-peer-params-baresip");
    let mic = t.path().join("mic.wav");
    write_wav(&mic, 48_000, &speechlike(30));
    let peer_wav = t.path().join("baresip.wav");
    support::tone::write_sine_wav(&peer_wav, 1000.0, 48_000, 30.0);
    let mut b = Baresip::start_with_config(
        &t.sub("baresip"),
        BaresipOpts {
            user: "1002".into(),
            registrar: None,
            password: None,
            source_wav: peer_wav,
            auto_answer: true,
            mediaenc: None,
            wideband: Some(("opus".into(), 48_000)),
        },
        "opus_bitrate 12000\nopus_inbandfec no\n",
    );
    let config = Config::new()
        .account(Account::direct("direct", "1001").codecs(&["opus"]))
        .audio(Audio::file(&mic, &t.sub("rec")));
    let mut phone = Phone::start(&t.sub("phone"), &config);
    let cap = Capture::start();
    let reply = phone.ok(json!({"cmd": "dial", "to": b.direct_uri()}));
    let id = call_id_of(&reply);
    let call = phone
        .wait_call_state(&id, "active", Duration::from_secs(15))
        .unwrap_or_else(|| panic!("call not active: {}\n{}", phone.log_tail(), b.log()));
    assert_eq!(call["codec"], "opus", "{call}");
    let ours: std::net::SocketAddr = call["local_media"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no local_media in {call}"));
    std::thread::sleep(Duration::from_secs(6));
    phone.hang_up(&id);
    let captured = cap.stop();
    b.stop();
    let sent = rtp_of(&captured, Some(ours), None);
    assert!(
        sent.len() >= 250,
        "{} RTP packets captured from {ours}",
        sent.len()
    );
    // Version 2, no CSRC, no extension: the payload after 12 bytes.
    let payloads: Vec<Vec<u8>> = sent[50..].iter().map(|p| p[12..].to_vec()).collect();
    let got = Sent::of(&payloads);
    eprintln!("to baresip: {got:?} ({:.1} kbit/s)", got.kbits());
    assert!(
        got.kbits() <= 13.2,
        "{:.1} kbit/s of payload to a baresip with opus_bitrate 12000: {got:?}",
        got.kbits()
    );
    assert_eq!(got.fec, 0, "FEC to a baresip with opus_inbandfec no");
}

/// An answer's `a=fmtp` as `sip::sdp` reads it, applied to the encoder
/// the media session makes of it: the same bounds, without a network.
#[test]
fn an_answers_parameters_reach_the_encoder() {
    use termphone::sip::sdp::{read_answer, LocalMedia};
    use termphone::sip::sdp_crypto::LocalCrypto;
    let local = LocalMedia {
        addr: "127.0.0.1:4000".parse().expect("address"),
        codecs: vec![Codec::Opus],
        dtmf_payload_type: 101,
        direction: termphone::media::Direction::SendRecv,
        session_id: 1,
        session_version: 1,
        crypto: LocalCrypto::default(),
        red: false,
    };
    let sent = |fmtp: &str| {
        let answer = format!(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
             m=audio 4000 RTP/AVP {PT}\r\na=rtpmap:{PT} opus/48000/2\r\na=fmtp:{PT} {fmtp}\r\n"
        );
        let neg = read_answer(&answer, &local).expect("a usable answer");
        let mut enc = Encoder::for_peer(neg.params.codec, neg.params.opus);
        let payloads: Vec<Vec<u8>> = speechlike(4)
            .chunks(Codec::Opus.frame_samples())
            .map(|f| {
                let mut p = Vec::new();
                enc.encode(f, &mut p);
                p
            })
            .skip(50)
            .collect();
        Sent::of(&payloads)
    };
    let capped = sent(CAPPED);
    let open = sent(OPEN);
    eprintln!(
        "capped {capped:?} {:.1}, open {open:?} {:.1}",
        capped.kbits(),
        open.kbits()
    );
    assert!(capped.kbits() <= 13.2, "{capped:?}");
    assert!(capped.band <= 2 && capped.fec == 0, "{capped:?}");
    assert!(open.kbits() >= 18.0, "{open:?}");
    assert!(open.band > 2 && open.fec > 0, "{open:?}");
}
