//! RFC 2198 redundancy received by a session: Opus (the stateful path,
//! through the reorder stage) with RED, one packet lost and the next
//! carrying its frame, among malformed RED payloads that must be dropped.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_opus_packet_is_played_from_the_next_ones_red_block() {
    let (peer_rtp, ours, m, _keep) = opus_receiver("red-rx", Some(122)).await;
    let tone = sine(1000.0, 1.0, opus::RATE);
    let mut enc = opus::Encoder::new();
    let mut clock = tokio::time::interval(Duration::from_millis(20));
    let mut previous: Vec<u8> = Vec::new();
    let packet = |seq: u16, ts: u32, payload: Vec<u8>| rtp_bytes(122, seq, ts, 0x2198, payload);
    for (i, frame) in tone.chunks(opus::FRAME).enumerate().take(40) {
        let mut frame_bytes = Vec::new();
        enc.encode(frame, &mut frame_bytes);
        let prev = (!previous.is_empty()).then(|| crate::media::red::Previous {
            payload_type: 111,
            ts_offset: opus::FRAME as u32,
            data: &previous,
        });
        let mut payload = Vec::new();
        crate::media::red::packetize(111, &frame_bytes, prev, &mut payload);
        previous = frame_bytes;
        clock.tick().await;
        let seq = 3000 + i as u16;
        let ts = (i * opus::FRAME) as u32;
        if i == 10 {
            // Malformed RED: a header cut short, a block beyond the payload.
            for bad in [vec![0x80u8, 0x6f], vec![0xef, 0x00, 0x0f, 0xff, 0x6f, 1]] {
                peer_rtp.send_to(&packet(seq, ts, bad), ours).await.unwrap();
            }
        }
        if i == 20 {
            continue; // lost
        }
        peer_rtp
            .send_to(&packet(seq, ts, payload), ours)
            .await
            .unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut st = m.stats();
    while (st.red_recovered == 0 || st.rx_packets < 39) && std::time::Instant::now() < deadline {
        sleep(Duration::from_millis(50)).await;
        st = m.stats();
    }
    m.stop().await;
    // The malformed ones counted nowhere; the loss was filled by RED
    // before the reorder stage gave it up (so no FEC or concealment).
    assert_eq!(st.rx_packets, 39, "{st:?}");
    assert_eq!(st.lost, 1, "{st:?}");
    assert_eq!(st.red_recovered, 1, "{st:?}");
    assert_eq!(st.fec_recovered, 0, "{st:?}");
}
