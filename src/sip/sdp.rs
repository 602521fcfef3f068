//! SDP (RFC 4566) parsing and printing for audio sessions, and the RFC 3264
//! offer/answer rules termphone needs: codec choice (PCMU, PCMA),
//! telephone-event, ptime 20, direction (hold: sendonly/inactive, and the old
//! `c=0.0.0.0` form). Pure: no IO; its result is in the
//! neutral types of [`crate::rtp_types`] (codec, direction, RTP parameters),
//! never in `media`'s.

use crate::rtp_types::{Codec, Direction, RtpParams};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Why an SDP body could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("SDP line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("SDP has no audio stream")]
    NoAudio,
    #[error("no common codec (offered: {0})")]
    NoCommonCodec(String),
    #[error("SDP has no connection address")]
    NoConnection,
}

/// One `a=rtpmap`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub payload_type: u8,
    pub name: String,
    pub clock_rate: u32,
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaDescription {
    pub kind: String,
    pub port: u16,
    pub proto: String,
    pub formats: Vec<u8>,
    pub rtpmaps: Vec<RtpMap>,
    pub connection: Option<IpAddr>,
    pub direction: Option<Direction>,
    pub ptime: Option<u32>,
    /// Other attribute lines, kept verbatim (without `a=`).
    pub other: Vec<String>,
}

impl MediaDescription {
    /// The encoding of a payload type: its rtpmap, else the static assignment.
    pub fn encoding(&self, pt: u8) -> Option<(String, u32)> {
        if let Some(m) = self.rtpmaps.iter().find(|m| m.payload_type == pt) {
            return Some((m.name.clone(), m.clock_rate));
        }
        match pt {
            0 => Some(("PCMU".into(), 8000)),
            8 => Some(("PCMA".into(), 8000)),
            9 => Some(("G722".into(), 8000)),
            _ => None,
        }
    }
}

/// A parsed session description.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionDescription {
    pub origin_user: String,
    pub session_id: u64,
    pub session_version: u64,
    pub origin_addr: String,
    pub connection: Option<IpAddr>,
    pub direction: Option<Direction>,
    pub media: Vec<MediaDescription>,
}

fn parse_direction(attr: &str) -> Option<Direction> {
    match attr {
        "sendrecv" => Some(Direction::SendRecv),
        "sendonly" => Some(Direction::SendOnly),
        "recvonly" => Some(Direction::RecvOnly),
        "inactive" => Some(Direction::Inactive),
        _ => None,
    }
}

fn direction_attr(d: Direction) -> &'static str {
    match d {
        Direction::SendRecv => "sendrecv",
        Direction::SendOnly => "sendonly",
        Direction::RecvOnly => "recvonly",
        Direction::Inactive => "inactive",
    }
}

/// The direction a peer's stated direction implies for us (RFC 3264 §6.1).
pub fn reverse(d: Direction) -> Direction {
    match d {
        Direction::SendOnly => Direction::RecvOnly,
        Direction::RecvOnly => Direction::SendOnly,
        other => other,
    }
}

fn parse_connection(value: &str, line: usize) -> Result<IpAddr, SdpError> {
    // c=IN IP4 192.0.2.1[/ttl]
    let mut parts = value.split_whitespace();
    let (_net, _kind, addr) = (parts.next(), parts.next(), parts.next());
    let addr = addr.ok_or_else(|| SdpError::Syntax {
        line,
        message: "c= needs 3 fields".into(),
    })?;
    let addr = addr.split('/').next().unwrap_or(addr);
    addr.parse().map_err(|_| SdpError::Syntax {
        line,
        message: format!("bad connection address `{addr}`"),
    })
}

impl SessionDescription {
    /// Parses an SDP body. Tolerates LF line ends and unknown lines.
    pub fn parse(text: &str) -> Result<SessionDescription, SdpError> {
        let mut sdp = SessionDescription {
            origin_user: "-".into(),
            session_id: 0,
            session_version: 0,
            origin_addr: String::new(),
            connection: None,
            direction: None,
            media: Vec::new(),
        };
        let mut saw_version = false;
        for (idx, raw) in text.lines().enumerate() {
            let line = idx + 1;
            let raw = raw.trim_end_matches('\r');
            if raw.is_empty() {
                continue;
            }
            let (kind, value) = raw.split_once('=').ok_or_else(|| SdpError::Syntax {
                line,
                message: format!("not a `x=value` line: `{raw}`"),
            })?;
            if kind.len() != 1 {
                return Err(SdpError::Syntax {
                    line,
                    message: format!("bad line type `{kind}`"),
                });
            }
            match kind {
                "v" => saw_version = true,
                "o" => {
                    let f: Vec<&str> = value.split_whitespace().collect();
                    if f.len() < 6 {
                        return Err(SdpError::Syntax {
                            line,
                            message: "o= needs 6 fields".into(),
                        });
                    }
                    sdp.origin_user = f[0].to_string();
                    sdp.session_id = f[1].parse().unwrap_or(0);
                    sdp.session_version = f[2].parse().unwrap_or(0);
                    sdp.origin_addr = f[5].to_string();
                }
                "c" => {
                    let addr = parse_connection(value, line)?;
                    match sdp.media.last_mut() {
                        Some(m) => m.connection = Some(addr),
                        None => sdp.connection = Some(addr),
                    }
                }
                "m" => {
                    let f: Vec<&str> = value.split_whitespace().collect();
                    if f.len() < 3 {
                        return Err(SdpError::Syntax {
                            line,
                            message: "m= needs at least 3 fields".into(),
                        });
                    }
                    let port_str = f[1].split('/').next().unwrap_or(f[1]);
                    let port = port_str.parse().map_err(|_| SdpError::Syntax {
                        line,
                        message: format!("bad port `{}`", f[1]),
                    })?;
                    let formats = f[3..].iter().filter_map(|p| p.parse::<u8>().ok()).collect();
                    sdp.media.push(MediaDescription {
                        kind: f[0].to_string(),
                        port,
                        proto: f[2].to_string(),
                        formats,
                        rtpmaps: Vec::new(),
                        connection: None,
                        direction: None,
                        ptime: None,
                        other: Vec::new(),
                    });
                }
                "a" => {
                    let (name, arg) = match value.split_once(':') {
                        Some((n, a)) => (n, Some(a)),
                        None => (value, None),
                    };
                    if let Some(dir) = parse_direction(name) {
                        match sdp.media.last_mut() {
                            Some(m) => m.direction = Some(dir),
                            None => sdp.direction = Some(dir),
                        }
                        continue;
                    }
                    let Some(m) = sdp.media.last_mut() else {
                        continue;
                    };
                    match (name, arg) {
                        ("rtpmap", Some(arg)) => {
                            // 96 telephone-event/8000[/1]
                            let mut it = arg.split_whitespace();
                            let pt = it.next().and_then(|p| p.parse::<u8>().ok());
                            let enc = it.next();
                            if let (Some(pt), Some(enc)) = (pt, enc) {
                                let mut e = enc.split('/');
                                let name = e.next().unwrap_or("").to_string();
                                let rate = e.next().and_then(|r| r.parse().ok()).unwrap_or(8000);
                                m.rtpmaps.push(RtpMap {
                                    payload_type: pt,
                                    name,
                                    clock_rate: rate,
                                });
                            }
                        }
                        ("ptime", Some(arg)) => m.ptime = arg.trim().parse().ok(),
                        _ => m.other.push(value.to_string()),
                    }
                }
                _ => {}
            }
        }
        if !saw_version {
            return Err(SdpError::Syntax {
                line: 1,
                message: "missing v= line".into(),
            });
        }
        Ok(sdp)
    }

    /// The first audio stream with a non-zero port.
    pub fn audio(&self) -> Option<&MediaDescription> {
        self.media.iter().find(|m| m.kind == "audio" && m.port != 0)
    }

    /// The audio stream's direction as the peer states it (media level wins).
    pub fn audio_direction(&self) -> Direction {
        let m = self.audio();
        let dir = m
            .and_then(|m| m.direction)
            .or(self.direction)
            .unwrap_or_default();
        // RFC 2543 hold: c=0.0.0.0 means "do not send to me".
        let conn = m.and_then(|m| m.connection).or(self.connection);
        match conn {
            Some(IpAddr::V4(ip)) if ip.is_unspecified() => match dir {
                Direction::SendRecv | Direction::SendOnly => Direction::SendOnly,
                _ => Direction::Inactive,
            },
            _ => dir,
        }
    }

    /// RTP address of the audio stream.
    pub fn audio_addr(&self) -> Result<SocketAddr, SdpError> {
        let m = self.audio().ok_or(SdpError::NoAudio)?;
        let ip = m
            .connection
            .or(self.connection)
            .ok_or(SdpError::NoConnection)?;
        Ok(SocketAddr::new(ip, m.port))
    }
}

/// What we put into our offers and answers.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalMedia {
    pub addr: SocketAddr,
    /// In order of preference.
    pub codecs: Vec<Codec>,
    pub dtmf_payload_type: u8,
    pub direction: Direction,
    pub session_id: u64,
    pub session_version: u64,
}

fn render(
    local: &LocalMedia,
    codecs: &[(u8, Codec)],
    dtmf: Option<u8>,
    direction: Direction,
) -> String {
    let ip = local.addr.ip();
    let kind = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut fmts: Vec<String> = codecs.iter().map(|(pt, _)| pt.to_string()).collect();
    if let Some(pt) = dtmf {
        fmts.push(pt.to_string());
    }
    let mut s = String::with_capacity(300);
    s.push_str("v=0\r\n");
    s.push_str(&format!(
        "o=termphone {} {} IN {kind} {ip}\r\n",
        local.session_id, local.session_version
    ));
    s.push_str("s=termphone\r\n");
    s.push_str(&format!("c=IN {kind} {ip}\r\n"));
    s.push_str("t=0 0\r\n");
    s.push_str(&format!(
        "m=audio {} RTP/AVP {}\r\n",
        local.addr.port(),
        fmts.join(" ")
    ));
    for (pt, c) in codecs {
        s.push_str(&format!(
            "a=rtpmap:{pt} {}/{}\r\n",
            c.name(),
            c.clock_rate()
        ));
    }
    if let Some(pt) = dtmf {
        s.push_str(&format!(
            "a=rtpmap:{pt} telephone-event/8000\r\na=fmtp:{pt} 0-16\r\n"
        ));
    }
    s.push_str("a=ptime:20\r\n");
    s.push_str(&format!("a={}\r\n", direction_attr(direction)));
    s
}

/// Our offer.
pub fn offer(local: &LocalMedia) -> String {
    let codecs: Vec<(u8, Codec)> = local
        .codecs
        .iter()
        .map(|c| (c.payload_type(), *c))
        .collect();
    render(
        local,
        &codecs,
        Some(local.dtmf_payload_type),
        local.direction,
    )
}

/// The outcome of negotiation.
#[derive(Debug, Clone, PartialEq)]
pub struct Negotiated {
    pub params: RtpParams,
    /// The peer asked us not to send to it / is not sending (held by the peer).
    pub remote_held: bool,
}

fn choose(
    remote: &MediaDescription,
    ours: &[Codec],
    prefer_remote_order: bool,
) -> Option<(u8, Codec)> {
    let remote_codecs: Vec<(u8, Codec)> = remote
        .formats
        .iter()
        .filter_map(|pt| {
            let (name, rate) = remote.encoding(*pt)?;
            Codec::from_name(&name, rate).map(|c| (*pt, c))
        })
        .collect();
    if prefer_remote_order {
        remote_codecs.into_iter().find(|(_, c)| ours.contains(c))
    } else {
        ours.iter()
            .find_map(|c| remote_codecs.iter().find(|(_, rc)| rc == c).copied())
    }
}

fn telephone_event(remote: &MediaDescription) -> Option<u8> {
    remote
        .rtpmaps
        .iter()
        .find(|m| m.name.eq_ignore_ascii_case("telephone-event") && m.clock_rate == 8000)
        .map(|m| m.payload_type)
}

fn negotiated(
    remote: &SessionDescription,
    pt: u8,
    codec: Codec,
    ours: Direction,
) -> Result<Negotiated, SdpError> {
    let audio = remote.audio().ok_or(SdpError::NoAudio)?;
    let peer_dir = remote.audio_direction();
    let mut addr = remote.audio_addr()?;
    if addr.ip().is_unspecified() {
        // Old-style hold: keep the port, nothing will be sent anyway.
        addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), addr.port());
    }
    let direction = intersect(ours, reverse(peer_dir));
    Ok(Negotiated {
        params: RtpParams {
            remote: addr,
            codec,
            payload_type: pt,
            dtmf_payload_type: telephone_event(audio),
            direction,
        },
        remote_held: matches!(peer_dir, Direction::SendOnly | Direction::Inactive),
    })
}

/// The direction allowed by both what we want and what the peer allows us.
pub fn intersect(ours: Direction, allowed: Direction) -> Direction {
    let send = matches!(ours, Direction::SendRecv | Direction::SendOnly)
        && matches!(allowed, Direction::SendRecv | Direction::SendOnly);
    let recv = matches!(ours, Direction::SendRecv | Direction::RecvOnly)
        && matches!(allowed, Direction::SendRecv | Direction::RecvOnly);
    match (send, recv) {
        (true, true) => Direction::SendRecv,
        (true, false) => Direction::SendOnly,
        (false, true) => Direction::RecvOnly,
        (false, false) => Direction::Inactive,
    }
}

/// Answers a remote offer: returns our SDP answer and the negotiated media.
pub fn answer(remote_offer: &str, local: &LocalMedia) -> Result<(String, Negotiated), SdpError> {
    let remote = SessionDescription::parse(remote_offer)?;
    let audio = remote.audio().ok_or(SdpError::NoAudio)?;
    let (pt, codec) = choose(audio, &local.codecs, true).ok_or_else(|| {
        let offered: Vec<String> = audio
            .formats
            .iter()
            .map(|pt| {
                audio
                    .encoding(*pt)
                    .map(|(n, _)| n)
                    .unwrap_or_else(|| pt.to_string())
            })
            .collect();
        SdpError::NoCommonCodec(offered.join(" "))
    })?;
    let neg = negotiated(&remote, pt, codec, local.direction)?;
    let dtmf = neg.params.dtmf_payload_type;
    let sdp = render(local, &[(pt, codec)], dtmf, neg.params.direction);
    Ok((sdp, neg))
}

/// Reads the peer's answer to our offer.
pub fn read_answer(remote_answer: &str, local: &LocalMedia) -> Result<Negotiated, SdpError> {
    let remote = SessionDescription::parse(remote_answer)?;
    let audio = remote.audio().ok_or(SdpError::NoAudio)?;
    let (pt, codec) = choose(audio, &local.codecs, true).ok_or_else(|| {
        SdpError::NoCommonCodec(
            audio
                .formats
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        )
    })?;
    negotiated(&remote, pt, codec, local.direction)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> LocalMedia {
        LocalMedia {
            addr: "127.0.0.1:4000".parse().unwrap(),
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            dtmf_payload_type: 101,
            direction: Direction::SendRecv,
            session_id: 1,
            session_version: 1,
        }
    }

    const BARESIP_OFFER: &str = "v=0\r\no=- 123 456 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 10000 RTP/AVP 9 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\na=sendrecv\r\n";

    #[test]
    fn offer_round_trips() {
        let text = offer(&local());
        let sdp = SessionDescription::parse(&text).unwrap();
        let audio = sdp.audio().unwrap();
        assert_eq!(audio.port, 4000);
        assert_eq!(audio.formats, vec![0, 8, 101]);
        assert_eq!(audio.ptime, Some(20));
        assert_eq!(sdp.audio_direction(), Direction::SendRecv);
        assert!(text.contains("a=rtpmap:101 telephone-event/8000\r\n"));
    }

    #[test]
    fn answer_picks_remote_preference_among_ours() {
        let (text, neg) = answer(BARESIP_OFFER, &local()).unwrap();
        assert_eq!(neg.params.codec, Codec::Pcma);
        assert_eq!(neg.params.payload_type, 8);
        assert_eq!(neg.params.dtmf_payload_type, Some(96));
        assert_eq!(neg.params.remote, "127.0.0.1:10000".parse().unwrap());
        assert!(!neg.remote_held);
        let ans = SessionDescription::parse(&text).unwrap();
        assert_eq!(ans.audio().unwrap().formats, vec![8, 96]);
    }

    #[test]
    fn hold_forms_are_understood() {
        let sendonly = BARESIP_OFFER.replace("a=sendrecv", "a=sendonly");
        let (text, neg) = answer(&sendonly, &local()).unwrap();
        assert!(neg.remote_held);
        assert_eq!(neg.params.direction, Direction::RecvOnly);
        assert!(text.contains("a=recvonly"));

        let inactive = BARESIP_OFFER.replace("a=sendrecv", "a=inactive");
        let (_, neg) = answer(&inactive, &local()).unwrap();
        assert!(neg.remote_held);
        assert_eq!(neg.params.direction, Direction::Inactive);

        let zero = BARESIP_OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
        let (_, neg) = answer(&zero, &local()).unwrap();
        assert!(neg.remote_held);
        assert_eq!(neg.params.direction, Direction::RecvOnly);
    }

    #[test]
    fn no_common_codec_is_an_error() {
        let g722 = BARESIP_OFFER.replace("RTP/AVP 9 8 0 96", "RTP/AVP 9 96");
        assert!(matches!(
            answer(&g722, &local()),
            Err(SdpError::NoCommonCodec(_))
        ));
    }

    #[test]
    fn garbage_is_rejected_without_panic() {
        for bad in [
            "",
            "hello",
            "v=0\r\nm=audio x RTP/AVP 0",
            "v=0\r\nc=IN IP4\r\n",
            "v=0\r\nm=\r\n",
            "\u{0}=\u{1}",
        ] {
            let _ = SessionDescription::parse(bad);
            let _ = answer(bad, &local());
        }
        assert!(SessionDescription::parse("v=0\r\nm=audio x RTP/AVP 0").is_err());
    }

    #[test]
    fn ipv6_offer() {
        let mut l = local();
        l.addr = "[::1]:4000".parse().unwrap();
        let text = offer(&l);
        assert!(text.contains("c=IN IP6 ::1"));
        let sdp = SessionDescription::parse(&text).unwrap();
        assert_eq!(sdp.audio_addr().unwrap(), "[::1]:4000".parse().unwrap());
    }
}
