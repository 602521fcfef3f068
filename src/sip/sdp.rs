//! SDP (RFC 4566) parsing and printing for audio sessions, and the RFC 3264
//! offer/answer rules termphone needs: codec choice (PCMU, PCMA),
//! telephone-event, ptime 20, direction (hold: sendonly/inactive, and the old
//! `c=0.0.0.0` form), one answer line per offered line (the first usable
//! audio line taken, the others refused with port 0), the RTCP address of
//! `a=rtcp` (RFC 3605), and `c=` host names: kept as names here
//! ([`connection_hosts`]) and replaced by the addresses the caller resolved
//! ([`with_resolved_hosts`]). SRTP (SDES): the audio line's profile
//! (`RTP/SAVP`) and `a=crypto` lines as [`LocalMedia::crypto`] decides,
//! through [`super::sdp_crypto`]. RFC 2198 redundancy (`red`) offered and
//! taken as [`super::sdp_red`] decides; the peer's Opus receive
//! parameters read by [`super::sdp_opus`]. Pure: no IO; its result is in the
//! neutral types of [`crate::rtp_types`] (codec, direction, RTP parameters),
//! never in `media`'s.

use super::sdp_crypto::{self, AnswerMedia, CryptoAttr, EncryptionMismatch, LocalCrypto};
use super::sdp_opus;
use super::sdp_red::{self, Red};
use crate::rtp_types::{Codec, Direction, RtpParams, SrtpKeys};
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
    #[error("SDP connection address `{0}` could not be resolved")]
    Unresolved(String),
    /// The media encryption does not fit the account's `media_encryption`.
    #[error("incompatible media encryption: {0}")]
    Encryption(#[from] EncryptionMismatch),
}

/// An `a=rtcp` attribute (RFC 3605): the peer's RTCP port and, if given, address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpAttr {
    pub port: u16,
    pub addr: Option<IpAddr>,
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
    /// The format list as written (for refusing a line with the same formats).
    pub format_text: Vec<String>,
    pub rtpmaps: Vec<RtpMap>,
    pub connection: Option<IpAddr>,
    /// A `c=` host name not yet resolved (see [`with_resolved_hosts`]).
    pub connection_host: Option<String>,
    pub direction: Option<Direction>,
    pub rtcp: Option<RtcpAttr>,
    pub ptime: Option<u32>,
    /// Other attribute lines, kept verbatim (without `a=`).
    pub other: Vec<String>,
}

impl MediaDescription {
    /// The encoding of a payload type: its rtpmap, else the static assignment.
    /// The supported `a=crypto` lines of this section, in order.
    pub fn crypto(&self) -> Vec<CryptoAttr> {
        sdp_crypto::crypto_attrs(&self.other)
    }

    /// The value of this section's first `a=fmtp` for payload type `pt`
    /// (what follows `fmtp:<pt>` and white space, trimmed), if any.
    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        let pt = pt.to_string();
        self.other.iter().find_map(|a| {
            let rest = a.strip_prefix("fmtp:")?;
            let (num, value) = rest.split_once(|c: char| c.is_ascii_whitespace())?;
            (num == pt).then_some(value.trim())
        })
    }

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
    /// A session-level `c=` host name not yet resolved.
    pub connection_host: Option<String>,
    pub direction: Option<Direction>,
    pub media: Vec<MediaDescription>,
}

/// A `c=` address: a literal, or a host name left for the caller to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Connection {
    Ip(IpAddr),
    Host(String),
}

/// Whether `s` is a DNS host name (letters, digits, `-`, `.`, with a letter).
fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && s.chars().any(|c| c.is_ascii_alphabetic())
        && !s.starts_with(['-', '.'])
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

fn parse_connection(value: &str, line: usize) -> Result<Connection, SdpError> {
    // c=IN IP4 192.0.2.1[/ttl]
    let mut parts = value.split_whitespace();
    let (_net, _kind, addr) = (parts.next(), parts.next(), parts.next());
    let addr = addr.ok_or_else(|| SdpError::Syntax {
        line,
        message: "c= needs 3 fields".into(),
    })?;
    let addr = addr.split('/').next().unwrap_or(addr);
    if let Ok(ip) = addr.parse() {
        return Ok(Connection::Ip(ip));
    }
    if is_host_name(addr) {
        return Ok(Connection::Host(addr.to_ascii_lowercase()));
    }
    Err(SdpError::Syntax {
        line,
        message: format!("bad connection address `{addr}`"),
    })
}

/// `a=rtcp:PORT [IN IP4 addr]`; a host name or bad address leaves only the port.
fn parse_rtcp(arg: &str) -> Option<RtcpAttr> {
    let mut f = arg.split_whitespace();
    let port = f.next()?.parse().ok()?;
    let addr = f.nth(2).and_then(|a| a.parse().ok());
    Some(RtcpAttr { port, addr })
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
            connection_host: None,
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
                    let (ip, host) = match parse_connection(value, line)? {
                        Connection::Ip(ip) => (Some(ip), None),
                        Connection::Host(h) => (None, Some(h)),
                    };
                    match sdp.media.last_mut() {
                        Some(m) => (m.connection, m.connection_host) = (ip, host),
                        None => (sdp.connection, sdp.connection_host) = (ip, host),
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
                        format_text: f[3..].iter().map(|s| s.to_string()).collect(),
                        rtpmaps: Vec::new(),
                        connection: None,
                        connection_host: None,
                        direction: None,
                        rtcp: None,
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
                        ("rtcp", Some(arg)) => m.rtcp = parse_rtcp(arg),
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
        match self.audio() {
            Some(m) => self.direction_of(m),
            None => self.direction.unwrap_or_default(),
        }
    }

    /// A stream's direction as the peer states it (media level wins).
    pub fn direction_of(&self, m: &MediaDescription) -> Direction {
        let dir = m.direction.or(self.direction).unwrap_or_default();
        // RFC 2543 hold: c=0.0.0.0 means "do not send to me".
        let conn = m.connection.or(self.connection);
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
        self.addr_of(m)
    }

    /// RTP address of a stream: its `c=`, else the session's.
    pub fn addr_of(&self, m: &MediaDescription) -> Result<SocketAddr, SdpError> {
        let (ip, host) = if m.connection.is_some() || m.connection_host.is_some() {
            (m.connection, &m.connection_host)
        } else {
            (self.connection, &self.connection_host)
        };
        match (ip, host) {
            (Some(ip), _) => Ok(SocketAddr::new(ip, m.port)),
            (None, Some(h)) => Err(SdpError::Unresolved(h.clone())),
            (None, None) => Err(SdpError::NoConnection),
        }
    }

    /// RTCP address of a stream from its `a=rtcp` (RFC 3605), if it has one;
    /// without an address there, the RTP address's.
    pub fn rtcp_of(&self, m: &MediaDescription) -> Result<Option<SocketAddr>, SdpError> {
        let Some(attr) = m.rtcp else {
            return Ok(None);
        };
        let ip = match attr.addr {
            Some(ip) => ip,
            None => self.addr_of(m)?.ip(),
        };
        Ok(Some(SocketAddr::new(ip, attr.port)))
    }
}

/// The `c=` host names of an SDP body that must be resolved before it is used
/// (each once, in order of appearance); empty when it has only addresses or
/// does not parse.
pub fn connection_hosts(text: &str) -> Vec<String> {
    let Ok(sdp) = SessionDescription::parse(text) else {
        return Vec::new();
    };
    let mut hosts: Vec<String> = Vec::new();
    let all =
        std::iter::once(&sdp.connection_host).chain(sdp.media.iter().map(|m| &m.connection_host));
    for h in all.flatten() {
        if !hosts.contains(h) {
            hosts.push(h.clone());
        }
    }
    hosts
}

/// The SDP body with each `c=` host name replaced by its resolved address
/// (`IN IP4`/`IN IP6` following the address); other lines unchanged.
pub fn with_resolved_hosts(text: &str, resolved: &[(String, IpAddr)]) -> String {
    let mut out = String::with_capacity(text.len());
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\r', '\n']);
        let end = &raw[line.len()..];
        let replaced = line.strip_prefix("c=").and_then(|value| {
            let f: Vec<&str> = value.split_whitespace().collect();
            let addr = f.get(2)?;
            let (host, ttl) = match addr.split_once('/') {
                Some((h, t)) => (h, Some(t)),
                None => (*addr, None),
            };
            let (_, ip) = resolved
                .iter()
                .find(|(h, _)| h.eq_ignore_ascii_case(host))?;
            let kind = if ip.is_ipv4() { "IP4" } else { "IP6" };
            Some(match ttl {
                Some(t) if ip.is_ipv4() => format!("c={} {kind} {ip}/{t}", f[0]),
                _ => format!("c={} {kind} {ip}", f[0]),
            })
        });
        out.push_str(replaced.as_deref().unwrap_or(line));
        out.push_str(end);
    }
    out
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
    /// The media encryption policy and the keys our offers carry.
    pub crypto: LocalCrypto,
    /// Whether RFC 2198 redundancy is offered and taken (the account's `red`).
    pub red: bool,
}

/// The session part: v=, o=, s=, c=, t=.
fn render_session(local: &LocalMedia) -> String {
    let ip = local.addr.ip();
    let kind = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut s = String::with_capacity(300);
    s.push_str("v=0\r\n");
    s.push_str(&format!(
        "o=termphone {} {} IN {kind} {ip}\r\n",
        local.session_id, local.session_version
    ));
    s.push_str("s=termphone\r\n");
    s.push_str(&format!("c=IN {kind} {ip}\r\n"));
    s.push_str("t=0 0\r\n");
    s
}

/// The formats of our audio line: codecs, RED and telephone-event.
type Formats<'a> = (&'a [(u8, Codec)], Option<Red>, Option<u8>);

/// Our audio `m=` line and its attributes.
fn render_audio(
    s: &mut String,
    local: &LocalMedia,
    (codecs, red, dtmf): Formats<'_>,
    direction: Direction,
    (proto, crypto): (&str, &[CryptoAttr]),
) {
    let mut fmts: Vec<String> = codecs.iter().map(|(pt, _)| pt.to_string()).collect();
    if let Some(red) = red {
        fmts.push(red.payload_type.to_string());
    }
    if let Some(pt) = dtmf {
        fmts.push(pt.to_string());
    }
    s.push_str(&format!(
        "m=audio {} {proto} {}\r\n",
        local.addr.port(),
        fmts.join(" ")
    ));
    for attr in crypto {
        s.push_str(&format!("a=crypto:{}\r\n", sdp_crypto::format_crypto(attr)));
    }
    for (pt, c) in codecs {
        s.push_str(&format!("a=rtpmap:{pt} {}\r\n", c.rtpmap()));
        if let Some(fmtp) = c.fmtp() {
            s.push_str(&format!("a=fmtp:{pt} {fmtp}\r\n"));
        }
    }
    if let Some(red) = red {
        s.push_str(&format!(
            "a=rtpmap:{}\r\na=fmtp:{}\r\n",
            red.rtpmap(),
            red.fmtp()
        ));
    }
    if let Some(pt) = dtmf {
        s.push_str(&format!(
            "a=rtpmap:{pt} telephone-event/8000\r\na=fmtp:{pt} 0-16\r\n"
        ));
    }
    s.push_str("a=ptime:20\r\n");
    s.push_str(&format!("a={}\r\n", direction_attr(direction)));
}

fn render(local: &LocalMedia, formats: Formats<'_>, direction: Direction) -> String {
    let mut s = render_session(local);
    let offer = &local.crypto.offer;
    render_audio(
        &mut s,
        local,
        formats,
        direction,
        (offer.proto, &offer.crypto),
    );
    s
}

/// Our answer: one `m=` line per offered line, in order (RFC 3264 §6): ours
/// at `taken`, every other one refused with port 0 and its offered formats.
fn render_answer(
    local: &LocalMedia,
    offer: &SessionDescription,
    taken: usize,
    formats: Formats<'_>,
    direction: Direction,
    encryption: &AnswerMedia,
) -> String {
    let mut s = render_session(local);
    let (proto, crypto) = match encryption {
        AnswerMedia::Plain => (sdp_crypto::PROTO_PLAIN, None),
        AnswerMedia::Srtp { proto, crypto, .. } => (*proto, Some(crypto.clone())),
    };
    let crypto: Vec<CryptoAttr> = crypto.into_iter().collect();
    for (i, m) in offer.media.iter().enumerate() {
        if i == taken {
            render_audio(&mut s, local, formats, direction, (proto, &crypto));
        } else {
            let fmts = if m.format_text.is_empty() {
                "0".to_string()
            } else {
                m.format_text.join(" ")
            };
            s.push_str(&format!("m={} 0 {} {fmts}\r\n", m.kind, m.proto));
        }
    }
    s
}

/// Our offer.
pub fn offer(local: &LocalMedia) -> String {
    let codecs: Vec<(u8, Codec)> = local
        .codecs
        .iter()
        .map(|c| (c.payload_type(), *c))
        .collect();
    let red = sdp_red::offered(local.red, &codecs);
    render(
        local,
        (&codecs, red, Some(local.dtmf_payload_type)),
        local.direction,
    )
}

/// The outcome of negotiation.
#[derive(Debug, Clone, PartialEq)]
pub struct Negotiated {
    pub params: RtpParams,
    /// SRTP keys when the media are encrypted; `None`: plain RTP.
    pub srtp: Option<SrtpKeys>,
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

/// The first audio line we can use (a port and a codec in common): its index
/// and the codec; else why there is none.
fn pick_audio(remote: &SessionDescription, ours: &[Codec]) -> Result<(usize, u8, Codec), SdpError> {
    let mut audio = remote
        .media
        .iter()
        .enumerate()
        .filter(|(_, m)| m.kind == "audio" && m.port != 0)
        .peekable();
    let Some((_, first)) = audio.peek().copied() else {
        return Err(SdpError::NoAudio);
    };
    if let Some(found) = audio.find_map(|(i, m)| choose(m, ours, true).map(|(pt, c)| (i, pt, c))) {
        return Ok(found);
    }
    let offered: Vec<String> = first
        .formats
        .iter()
        .map(|pt| {
            first
                .encoding(*pt)
                .map(|(n, _)| n)
                .unwrap_or_else(|| pt.to_string())
        })
        .collect();
    Err(SdpError::NoCommonCodec(offered.join(" ")))
}

fn negotiated(
    remote: &SessionDescription,
    audio: &MediaDescription,
    pt: u8,
    codec: Codec,
    ours: Direction,
) -> Result<Negotiated, SdpError> {
    let peer_dir = remote.direction_of(audio);
    let mut addr = remote.addr_of(audio)?;
    let rtcp = remote.rtcp_of(audio)?;
    if addr.ip().is_unspecified() {
        // Old-style hold: keep the port, nothing will be sent anyway.
        addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), addr.port());
    }
    let direction = intersect(ours, reverse(peer_dir));
    Ok(Negotiated {
        srtp: None,
        params: RtpParams {
            remote: addr,
            rtcp,
            codec,
            payload_type: pt,
            dtmf_payload_type: telephone_event(audio),
            direction,
            red_payload_type: None,
            opus: match codec {
                Codec::Opus => sdp_opus::peer_params(audio, pt),
                _ => Default::default(),
            },
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
    let (taken, pt, codec) = pick_audio(&remote, &local.codecs)?;
    let audio = &remote.media[taken];
    let encryption = local.crypto.answer(&audio.proto, &audio.crypto())?;
    let mut neg = negotiated(&remote, audio, pt, codec, local.direction)?;
    if let AnswerMedia::Srtp { keys, .. } = &encryption {
        neg.srtp = Some(keys.clone());
    }
    let red = sdp_red::accepted(local.red, audio, pt, codec);
    neg.params.red_payload_type = red.map(|r| r.payload_type);
    let dtmf = neg.params.dtmf_payload_type;
    let sdp = render_answer(
        local,
        &remote,
        taken,
        (&[(pt, codec)], red, dtmf),
        neg.params.direction,
        &encryption,
    );
    Ok((sdp, neg))
}

/// Reads the peer's answer to our offer.
pub fn read_answer(remote_answer: &str, local: &LocalMedia) -> Result<Negotiated, SdpError> {
    let remote = SessionDescription::parse(remote_answer)?;
    let (taken, pt, codec) = pick_audio(&remote, &local.codecs)?;
    let audio = &remote.media[taken];
    let srtp = local.crypto.accept(&audio.crypto())?;
    let mut neg = negotiated(&remote, audio, pt, codec, local.direction)?;
    neg.srtp = srtp;
    neg.params.red_payload_type =
        sdp_red::accepted(local.red, audio, pt, codec).map(|r| r.payload_type);
    Ok(neg)
}

/// Whether an offer's encryption fits our policy, without answering it:
/// `Err` for an offer to refuse with 488 at once (before it rings). An
/// offer without a usable audio line passes here (its own check fails it).
pub fn check_offer_encryption(
    offer: &SessionDescription,
    local: &LocalMedia,
) -> Result<(), SdpError> {
    let Ok((taken, _, _)) = pick_audio(offer, &local.codecs) else {
        return Ok(());
    };
    let audio = &offer.media[taken];
    local.crypto.answer(&audio.proto, &audio.crypto())?;
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Our media on 127.0.0.1:4000, PCMU then PCMA, no crypto or RED.
    pub(in crate::sip) fn local() -> LocalMedia {
        LocalMedia {
            addr: "127.0.0.1:4000".parse().unwrap(),
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            dtmf_payload_type: 101,
            direction: Direction::SendRecv,
            session_id: 1,
            session_version: 1,
            crypto: LocalCrypto::default(),
            red: false,
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
    fn g722_is_offered_with_its_8000_clock_and_answered_in_the_offers_order() {
        let mut ours = local();
        ours.codecs.push(Codec::G722);
        let text = offer(&ours);
        assert!(
            text.contains("m=audio 4000 RTP/AVP 0 8 9 101\r\n"),
            "{text}"
        );
        assert!(text.contains("a=rtpmap:9 G722/8000\r\n"), "{text}");
        // baresip offers G.722 first: it is what we answer with.
        let (text, neg) = answer(BARESIP_OFFER, &ours).unwrap();
        assert_eq!(neg.params.codec, Codec::G722);
        assert_eq!(neg.params.payload_type, 9);
        assert_eq!(
            SessionDescription::parse(&text)
                .unwrap()
                .audio()
                .unwrap()
                .formats,
            vec![9, 96]
        );
        assert!(text.contains("a=rtpmap:9 G722/8000\r\n"), "{text}");
        // Our offer answered with G.722 (a static type, no rtpmap needed).
        let reply = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 10002 RTP/AVP 9\r\n";
        assert_eq!(read_answer(reply, &ours).unwrap().params.codec, Codec::G722);
        // Without G.722 among ours the offer gets G.711 as before.
        assert_eq!(
            answer(BARESIP_OFFER, &local()).unwrap().1.params.codec,
            Codec::Pcma
        );
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

    const AUDIO_VIDEO: &str =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
m=audio 20000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n\
m=video 20002 RTP/AVP 96 97\r\na=rtpmap:96 H264/90000\r\na=rtpmap:97 VP8/90000\r\n";

    fn m_lines(text: &str) -> Vec<&str> {
        text.lines().filter(|l| l.starts_with("m=")).collect()
    }

    #[test]
    fn audio_and_video_offer_gets_video_refused_with_port_zero() {
        let (text, neg) = answer(AUDIO_VIDEO, &local()).unwrap();
        assert_eq!(
            m_lines(&text),
            ["m=audio 4000 RTP/AVP 0 101", "m=video 0 RTP/AVP 96 97"]
        );
        assert_eq!(neg.params.remote, "192.0.2.5:20000".parse().unwrap());
        assert_eq!(neg.params.codec, Codec::Pcmu);
        assert_eq!(neg.params.rtcp, None);
        let ans = SessionDescription::parse(&text).unwrap();
        assert_eq!(ans.media.len(), 2);
    }

    #[test]
    fn video_first_keeps_the_order_of_the_offer() {
        let video_first =
            "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
m=video 20002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\nm=audio 20000 RTP/AVP 8\r\n";
        let (text, neg) = answer(video_first, &local()).unwrap();
        assert_eq!(
            m_lines(&text),
            ["m=video 0 RTP/AVP 96", "m=audio 4000 RTP/AVP 8"]
        );
        assert_eq!(neg.params.codec, Codec::Pcma);
    }

    #[test]
    fn of_two_audio_lines_the_first_usable_one_is_taken() {
        let both = "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
m=audio 20000 RTP/AVP 0\r\nm=audio 20010 RTP/AVP 8\r\n";
        let (text, neg) = answer(both, &local()).unwrap();
        assert_eq!(
            m_lines(&text),
            ["m=audio 4000 RTP/AVP 0", "m=audio 0 RTP/AVP 8"]
        );
        assert_eq!(neg.params.remote.port(), 20000);

        // The first has no codec of ours: the second is used, the first refused.
        let g722_first = both.replace("m=audio 20000 RTP/AVP 0", "m=audio 20000 RTP/AVP 9");
        let (text, neg) = answer(&g722_first, &local()).unwrap();
        assert_eq!(
            m_lines(&text),
            ["m=audio 0 RTP/AVP 9", "m=audio 4000 RTP/AVP 8"]
        );
        assert_eq!(neg.params.remote.port(), 20010);
        assert_eq!(neg.params.codec, Codec::Pcma);

        // An offered line with port 0 stays refused.
        let zero_first = both.replace("m=audio 20000", "m=audio 0");
        let (text, neg) = answer(&zero_first, &local()).unwrap();
        assert_eq!(
            m_lines(&text),
            ["m=audio 0 RTP/AVP 0", "m=audio 4000 RTP/AVP 8"]
        );
        assert_eq!(neg.params.remote.port(), 20010);
    }

    #[test]
    fn only_video_is_no_audio() {
        let video = "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
m=video 20002 RTP/AVP 96\r\n";
        assert_eq!(answer(video, &local()), Err(SdpError::NoAudio));
    }

    #[test]
    fn a_rtcp_names_the_rtcp_port_and_address() {
        let port_only = BARESIP_OFFER.replace("a=sendrecv", "a=rtcp:10005\r\na=sendrecv");
        let (_, neg) = answer(&port_only, &local()).unwrap();
        assert_eq!(neg.params.rtcp, Some("127.0.0.1:10005".parse().unwrap()));

        let with_addr =
            BARESIP_OFFER.replace("a=sendrecv", "a=rtcp:53020 IN IP4 192.0.2.9\r\na=sendrecv");
        let (_, neg) = answer(&with_addr, &local()).unwrap();
        assert_eq!(neg.params.rtcp, Some("192.0.2.9:53020".parse().unwrap()));
        assert_eq!(neg.params.remote, "127.0.0.1:10000".parse().unwrap());

        let v6 = BARESIP_OFFER.replace(
            "a=sendrecv",
            "a=rtcp:53020 IN IP6 2001:db8::9\r\na=sendrecv",
        );
        let (_, neg) = answer(&v6, &local()).unwrap();
        assert_eq!(
            neg.params.rtcp,
            Some("[2001:db8::9]:53020".parse().unwrap())
        );

        // Read from an answer to our offer too.
        let neg = read_answer(&with_addr, &local()).unwrap();
        assert_eq!(neg.params.rtcp, Some("192.0.2.9:53020".parse().unwrap()));

        // A bad one is ignored: RTCP goes to RTP port + 1.
        let bad = BARESIP_OFFER.replace("a=sendrecv", "a=rtcp:x\r\na=sendrecv");
        let (_, neg) = answer(&bad, &local()).unwrap();
        assert_eq!(neg.params.rtcp, None);
    }

    #[test]
    fn c_host_names_are_kept_for_the_caller_to_resolve() {
        let named = BARESIP_OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 Media.Example.test");
        let sdp = SessionDescription::parse(&named).unwrap();
        assert_eq!(sdp.connection, None);
        assert_eq!(sdp.connection_host.as_deref(), Some("media.example.test"));
        assert_eq!(connection_hosts(&named), ["media.example.test"]);
        assert_eq!(
            answer(&named, &local()),
            Err(SdpError::Unresolved("media.example.test".into()))
        );

        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let resolved = with_resolved_hosts(&named, &[("media.example.test".into(), ip)]);
        assert!(resolved.contains("c=IN IP4 192.0.2.7\r\n"));
        assert!(connection_hosts(&resolved).is_empty());
        let (_, neg) = answer(&resolved, &local()).unwrap();
        assert_eq!(neg.params.remote, "192.0.2.7:10000".parse().unwrap());

        // Media level, and an IPv6 result.
        let media_level = AUDIO_VIDEO.replace(
            "m=audio 20000 RTP/AVP 0 101\r\n",
            "m=audio 20000 RTP/AVP 0 101\r\nc=IN IP6 media6.example.test\r\n",
        );
        assert_eq!(connection_hosts(&media_level), ["media6.example.test"]);
        let ip6: IpAddr = "2001:db8::7".parse().unwrap();
        let resolved = with_resolved_hosts(&media_level, &[("media6.example.test".into(), ip6)]);
        let (_, neg) = answer(&resolved, &local()).unwrap();
        assert_eq!(neg.params.remote, "[2001:db8::7]:20000".parse().unwrap());

        // Literals need nothing; junk is still an error.
        assert!(connection_hosts(BARESIP_OFFER).is_empty());
        assert_eq!(with_resolved_hosts(BARESIP_OFFER, &[]), BARESIP_OFFER);
        for bad in ["c=IN IP4 bad_host!", "c=IN IP4 -lead", "c=IN IP4 1.2.3"] {
            let text = BARESIP_OFFER.replace("c=IN IP4 127.0.0.1", bad);
            assert!(
                SessionDescription::parse(&text).is_err(),
                "{bad} should be refused"
            );
        }
    }

    fn local_with(policy: sdp_crypto::MediaEncryption) -> LocalMedia {
        LocalMedia {
            crypto: LocalCrypto::new(policy),
            ..local()
        }
    }

    /// baresip 1.0's offer with `mediaenc=srtp-mand` (its key).
    const SRTP_OFFER: &str =
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
m=audio 10000 RTP/SAVP 0 96\r\na=rtpmap:96 telephone-event/8000\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n\
a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoxMjM0\r\n\
a=sendrecv\r\n";

    #[test]
    fn offers_carry_the_profile_and_keys_of_the_policy() {
        use sdp_crypto::MediaEncryption as P;
        for (policy, proto, lines) in [
            (P::None, "RTP/AVP", 0),
            (P::Srtp, "RTP/SAVP", 2),
            (P::SrtpOptional, "RTP/AVP", 2),
        ] {
            let local = local_with(policy);
            let text = offer(&local);
            let sdp = SessionDescription::parse(&text).unwrap();
            let audio = sdp.audio().unwrap();
            assert_eq!(audio.proto, proto, "{policy:?}");
            assert_eq!(audio.crypto(), local.crypto.offer.crypto, "{policy:?}");
            assert_eq!(audio.crypto().len(), lines, "{policy:?}");
            // A re-offer (hold) keeps the keys.
            let held = LocalMedia {
                direction: Direction::SendOnly,
                session_version: 2,
                ..local.clone()
            };
            let again = SessionDescription::parse(&offer(&held)).unwrap();
            assert_eq!(again.audio().unwrap().crypto(), audio.crypto());
        }
    }

    #[test]
    fn srtp_offers_are_answered_by_policy() {
        use sdp_crypto::{EncryptionMismatch as E, MediaEncryption as P};
        for policy in [P::Srtp, P::SrtpOptional] {
            let local = local_with(policy);
            let (text, neg) = answer(SRTP_OFFER, &local).unwrap();
            let ans = SessionDescription::parse(&text).unwrap();
            let audio = ans.audio().unwrap();
            assert_eq!(audio.proto, "RTP/SAVP");
            let crypto = audio.crypto();
            assert_eq!(crypto.len(), 1, "{text}");
            assert_eq!(crypto[0].tag, 1, "the first offered suite");
            let keys = neg.srtp.expect("SRTP negotiated");
            assert_eq!(keys.suite, sdp_crypto::CryptoSuite::AesCm128HmacSha1_32);
            assert_eq!(keys.local, crypto[0].keys);
            let offered = SessionDescription::parse(SRTP_OFFER).unwrap();
            assert_eq!(keys.remote, offered.audio().unwrap().crypto()[0].keys);
        }
        assert_eq!(
            answer(SRTP_OFFER, &local()),
            Err(SdpError::Encryption(E::SrtpNotEnabled))
        );
        assert_eq!(
            answer(BARESIP_OFFER, &local_with(P::Srtp)),
            Err(SdpError::Encryption(E::PlainOffered))
        );
        let (text, neg) = answer(BARESIP_OFFER, &local_with(P::SrtpOptional)).unwrap();
        assert!(neg.srtp.is_none());
        assert!(
            text.contains("RTP/AVP") && !text.contains("a=crypto"),
            "{text}"
        );
        let offered = SessionDescription::parse(SRTP_OFFER).unwrap();
        assert!(check_offer_encryption(&offered, &local_with(P::Srtp)).is_ok());
        assert!(check_offer_encryption(&offered, &local()).is_err());
    }

    #[test]
    fn answers_to_our_srtp_offer_are_checked() {
        use sdp_crypto::{EncryptionMismatch as E, MediaEncryption as P};
        let ours = local_with(P::Srtp);
        // The peer answers our offer's second line with its own key.
        let peer_key = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVoxMjM0";
        let srtp_answer = BARESIP_OFFER.replace("RTP/AVP 9 8 0 96", "RTP/SAVP 0 96")
            + &format!("a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:{peer_key}\r\n");
        let neg = read_answer(&srtp_answer, &ours).unwrap();
        let keys = neg.srtp.unwrap();
        assert_eq!(keys.local, ours.crypto.offer.crypto[1].keys);
        assert_eq!(
            read_answer(BARESIP_OFFER, &ours),
            Err(SdpError::Encryption(E::PlainAnswered))
        );
        let optional = local_with(P::SrtpOptional);
        assert!(read_answer(BARESIP_OFFER, &optional)
            .unwrap()
            .srtp
            .is_none());
        let wrong_tag = srtp_answer.replace("a=crypto:2", "a=crypto:7");
        assert_eq!(
            read_answer(&wrong_tag, &ours),
            Err(SdpError::Encryption(E::AnswerMismatch))
        );
    }
}
