//! Checks of the test bed itself against the real peers, independent of the
//! phone: kamailio's digest registrar, the SIPp scenarios (run against
//! baresip, through kamailio and directly), baresip's ctrl_tcp and sndfile,
//! and the Goertzel tone detector.

mod support;

use std::time::Duration;
use support::baresip::{Baresip, BaresipOpts};
use support::kamailio::Kamailio;
use support::sipp::Sipp;
use support::tone;
use support::TestDir;

#[test]
fn kamailio_registers_with_digest_auth() {
    let t = TestDir::new("tb-kam");
    let k = Kamailio::start(&t.sub("kamailio"));
    let ok = Sipp::new("register", &t.sub("sipp"))
        .target(k.addr())
        .service("1001")
        .arg("-au")
        .arg("1001")
        .arg("-ap")
        .arg("pw1001")
        .timeout(10)
        .stats()
        .run();
    assert!(ok.success(), "{}", ok.describe());
    assert_eq!(ok.stat("SuccessfulCall(C)"), Some(1), "{}", ok.stats);
    assert_eq!(ok.stat("FailedCall(C)"), Some(0), "{}", ok.stats);
    assert!(
        k.wait_registered("1001", Duration::from_secs(5)),
        "{}",
        k.log()
    );
    assert_eq!(k.count_requests("REGISTER", "1001"), 2);

    let bad = Sipp::new("register", &t.sub("sipp-bad"))
        .target(k.addr())
        .service("1003")
        .arg("-au")
        .arg("1003")
        .arg("-ap")
        .arg("wrong")
        .timeout(5)
        .run();
    assert!(
        !bad.success(),
        "wrong password registered:\n{}",
        bad.describe()
    );
    assert!(!k.registered("1003"));
}

#[test]
fn tone_detector_tells_frequencies_apart() {
    let t = TestDir::new("tb-tone");
    let wav = t.path().join("1000.wav");
    tone::write_sine_wav(&wav, 1000.0, 16000, 2.0);
    tone::assert_tone(&wav, 1000.0, 600.0);

    // A stereo float file made by sox, if sox is there (it is in the test deps).
    let sox = t.path().join("600.wav");
    let st = std::process::Command::new("sox")
        .args([
            "-n",
            "-r",
            "44100",
            "-c",
            "2",
            "-e",
            "floating-point",
            "-b",
            "32",
        ])
        .arg(&sox)
        .args(["synth", "1", "sine", "600"])
        .status()
        .expect("run sox");
    assert!(st.success());
    tone::assert_tone(&sox, 600.0, 1000.0);

    let silent = t.path().join("silence.wav");
    tone::write_sine_wav(&silent, 0.0, 8000, 1.0);
    let r = tone::analyze(&silent, &[1000.0]);
    assert!(r.rms < 1e-6 && r.share(1000.0) < 1e-6, "{r:?}");

    // μ-law encoder round trip sanity: silence and extremes.
    assert_eq!(tone::linear_to_ulaw(0), 0xff);
    assert_eq!(tone::linear_to_ulaw(i16::MAX), 0x80);
    assert_eq!(tone::linear_to_ulaw(i16::MIN), 0x00);
}

fn baresip_on(t: &TestDir, k: &Kamailio, user: &str, freq: f64) -> Baresip {
    let wav = t.path().join(format!("src-{user}.wav"));
    tone::write_sine_wav(&wav, freq, 8000, 60.0);
    let mut b = Baresip::start(
        &t.sub(&format!("baresip-{user}")),
        BaresipOpts {
            user: user.into(),
            registrar: Some(k.addr()),
            password: None,
            source_wav: wav,
            auto_answer: true,
            mediaenc: None,
            wideband: None,
        },
    );
    assert!(b.wait_registered(Duration::from_secs(10)), "{}", b.log());
    assert!(k.wait_registered(user, Duration::from_secs(5)));
    b
}

#[test]
fn sipp_uac_calls_baresip_with_media() {
    let t = TestDir::new("tb-uac");
    let k = Kamailio::start(&t.sub("kamailio"));
    let mut b = baresip_on(&t, &k, "1002", 600.0);
    let r = Sipp::new("uac_pcap", &t.sub("sipp"))
        .target(b.sip_addr())
        .service("1002")
        .timeout(20)
        .run();
    assert!(r.success(), "{}\n{}", r.describe(), b.log());
    // sndfile writes the WAV header when baresip closes the file.
    b.stop();
    let wavs = b.received_wavs();
    assert_eq!(wavs.len(), 1, "{wavs:?}");
    let rep = tone::analyze(&wavs[0], &[1000.0]);
    assert!(
        rep.rms > 0.01,
        "baresip received silence from the pcap: {rep:?}"
    );
}

#[test]
fn sipp_rtpstream_tone_reaches_baresip() {
    let t = TestDir::new("tb-rtpstream");
    let k = Kamailio::start(&t.sub("kamailio"));
    let mut b = baresip_on(&t, &k, "1004", 600.0);
    let dir = t.sub("sipp");
    tone::write_sine_ulaw(&dir.join("tone.ul"), 1000.0, 10.0);
    let r = Sipp::new("uac_rtpstream", &dir)
        .target(b.sip_addr())
        .service("1004")
        .arg("-d")
        .arg("2000")
        .timeout(20)
        .run();
    assert!(r.success(), "{}\n{}", r.describe(), b.log());
    // sndfile writes the WAV header when baresip closes the file.
    b.stop();
    let wavs = b.received_wavs();
    assert_eq!(wavs.len(), 1, "{wavs:?}");
    tone::assert_tone(&wavs[0], 1000.0, 600.0);
}

#[test]
fn baresip_through_kamailio_drives_every_uas_scenario() {
    let t = TestDir::new("tb-uas");
    let k = Kamailio::start(&t.sub("kamailio"));
    let mut b = baresip_on(&t, &k, "1005", 600.0);
    for (scenario, closed) in [("uas_486", "486"), ("uas_603", "603")] {
        let sipp = Sipp::new(scenario, &t.sub(scenario)).timeout(15).spawn();
        b.dial(&format!("sip:uas@{}", sipp.addr()));
        let r = sipp.wait(Duration::from_secs(20));
        assert!(r.success(), "{scenario}: {}\n{}", r.describe(), b.log());
        let ev = b.wait_event("CALL_CLOSED", Duration::from_secs(5));
        let param = ev.as_ref().and_then(|e| e["param"].as_str()).unwrap_or("");
        assert!(param.contains(closed), "{scenario}: {ev:?}");
        b.clear_events();
    }

    let sipp = Sipp::new("uas_noanswer", &t.sub("noanswer"))
        .timeout(15)
        .spawn();
    b.dial(&format!("sip:uas@{}", sipp.addr()));
    assert!(b
        .wait_event("CALL_RINGING", Duration::from_secs(5))
        .is_some());
    b.hangup();
    let r = sipp.wait(Duration::from_secs(20));
    assert!(r.success(), "noanswer: {}", r.describe());
    assert!(r.messages.contains("CANCEL sip:"), "{}", r.describe());
    b.clear_events();

    let sipp = Sipp::new("uas_answer", &t.sub("answer"))
        .arg("-rtp_echo")
        .timeout(15)
        .spawn();
    b.dial(&format!("sip:uas@{}", sipp.addr()));
    assert!(b
        .wait_event("CALL_ESTABLISHED", Duration::from_secs(5))
        .is_some());
    std::thread::sleep(Duration::from_secs(2));
    b.hangup();
    let r = sipp.wait(Duration::from_secs(20));
    assert!(r.success(), "answer: {}", r.describe());
    b.stop();
    // sipp echoed our 600 Hz back: it is in what baresip received.
    let wavs = b.received_wavs();
    assert!(!wavs.is_empty());
    let last = wavs.last().map(|p| p.to_path_buf()).unwrap_or_default();
    tone::assert_tone(&last, 600.0, 1000.0);
}
