//! The config file as written: serde structs that reject unknown keys, and
//! their resolution into the typed [`Config`]. Errors carry the file, line,
//! column and key.

mod ldap;

use super::limits::RawSipLimits;
use super::pbx::{self, FeatureCodes, InternalPattern, PbxConfig};
use super::{paths, proxy, secret};
use super::{
    Account, AudioConfig, BackendKind, BlfTarget, ConferenceHangup, Config, ConfigError, DialPlan,
    DirectoryConfig, LineDnd, MediaEncryption, OnAnswerOther, PhoneConfig, RoomEcho, SipConfig,
    Switch, UiConfig, VoiceProcessing,
};
use serde::Deserialize;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// Default registration lifetime (seconds).
pub(crate) const DEFAULT_EXPIRES: u32 = 600;
/// Seconds between keep-alives behind a NAT: within the 30 s after which
/// common NATs forget a quiet UDP binding.
pub(crate) const DEFAULT_KEEPALIVE_S: u32 = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    control: Option<Spanned<String>>,
    history: Option<Spanned<String>>,
    #[serde(default)]
    sip: RawSip,
    #[serde(default)]
    account: Vec<RawAccount>,
    #[serde(default)]
    audio: RawAudio,
    #[serde(default)]
    phone: RawPhone,
    #[serde(default)]
    blf: Vec<RawBlf>,
    #[serde(default)]
    ui: RawUi,
    pbx: Option<RawPbx>,
    #[serde(default)]
    directory: Vec<RawDirectory>,
}

/// One `[[directory]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDirectory {
    kind: Spanned<String>,
    path: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    base: Option<String>,
    bind_dn: Option<String>,
    password: Option<String>,
    password_cmd: Option<Spanned<String>>,
    filter: Option<String>,
    name_attributes: Option<Vec<String>>,
    number_attributes: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawUi {
    theme: Option<Spanned<String>>,
    bell: Option<bool>,
    notify: Option<bool>,
}

/// `[pbx]`: a built-in profile or a profile file, and single codes on top.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPbx {
    profile: Option<Spanned<String>>,
    profile_file: Option<Spanned<String>>,
    #[serde(flatten)]
    codes: FeatureCodes,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSip {
    listen: Option<Spanned<String>>,
    dns_servers: Option<Vec<Spanned<String>>>,
    stun_server: Option<Spanned<String>>,
    tcp_max_connections: Option<Spanned<usize>>,
    tcp_max_connections_per_source: Option<Spanned<usize>>,
    tcp_idle_timeout_s: Option<Spanned<u64>>,
    tcp_read_timeout_s: Option<Spanned<u64>>,
    max_transactions: Option<Spanned<usize>>,
    max_requests_per_source: Option<Spanned<u32>>,
    tls_ca_file: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    name: Spanned<String>,
    user: Spanned<String>,
    domain: Spanned<String>,
    proxy: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    password_cmd: Option<Spanned<String>>,
    register: Option<bool>,
    display_name: Option<String>,
    auth_user: Option<String>,
    expires: Option<Spanned<u32>>,
    voicemail: Option<String>,
    #[serde(default)]
    mwi: bool,
    tls_cert: Option<String>,
    tls_key: Option<Spanned<String>>,
    keepalive_s: Option<u32>,
    realm: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    trust_asserted_identity: bool,
    media_encryption: Option<Spanned<String>>,
    codecs: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    red: bool,
    country_code: Option<String>,
    area_code: Option<String>,
    international_prefix: Option<String>,
    national_prefix: Option<String>,
    outside_line: Option<String>,
    internal_digits: Option<usize>,
}

/// A key that takes one string or a list of them (`realm`).
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAudio {
    backend: Option<BackendKind>,
    input: Option<String>,
    output_dir: Option<String>,
    input_device: Option<String>,
    output_device: Option<String>,
    ring_device: Option<String>,
    echo_cancel: Option<Switch>,
    noise_suppression: Option<Switch>,
    auto_gain: Option<Switch>,
    room_echo_ms: Option<Spanned<u32>>,
    room_echo_db: Option<Spanned<f32>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPhone {
    call_waiting: Option<bool>,
    dnd: Option<bool>,
    auto_answer: Option<bool>,
    max_calls: Option<Spanned<usize>>,
    ring_timeout_s: Option<Spanned<u64>>,
    rtp_timeout_s: Option<u64>,
    dnd_code: Option<Spanned<u16>>,
    #[serde(default)]
    dnd_allow: Vec<String>,
    internal_pattern: Option<Spanned<String>>,
    #[serde(default)]
    internal_numbers: Vec<Spanned<String>>,
    #[serde(default)]
    external_prefixes: Vec<Spanned<String>>,
    conference_hangup: Option<Spanned<String>>,
    conference_leave: Option<Spanned<String>>,
    on_answer_other: Option<Spanned<String>>,
    dnd_via: Option<Spanned<String>>,
    session_expires_s: Option<Spanned<u32>>,
    min_se_s: Option<Spanned<u32>>,
    symmetric_rtp: Option<bool>,
    callback_expiry_s: Option<Spanned<u64>>,
    callback_auto_dial: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBlf {
    target: Spanned<String>,
    label: Option<String>,
    #[serde(default = "yes")]
    presence: bool,
}

fn yes() -> bool {
    true
}

/// Only the `control` key; everything else is ignored.
#[derive(Deserialize)]
struct ControlOnly {
    control: Option<Spanned<String>>,
}

/// Builds errors that point into one file.
struct Source<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Source<'_> {
    fn at(&self, span: Range<usize>, message: String) -> ConfigError {
        let (line, column) = line_col(self.text, span.start);
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            line,
            column,
            message,
        }
    }

    fn toml_error(&self, err: toml::de::Error) -> ConfigError {
        let span = err.span().unwrap_or(0..0);
        let message = describe_toml_error(&err);
        self.at(span, message)
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// toml's message plus the key it is about. toml keeps the key path private
/// and prints it (as a last line "in `a.b`") only when the error carries no
/// input, so a copy without input is printed to read it.
fn describe_toml_error(err: &toml::de::Error) -> String {
    let mut bare = err.clone();
    bare.set_input(None);
    let shown = bare.to_string();
    let keys = shown
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("in `"))
        .and_then(|l| l.strip_suffix('`'))
        .map(str::to_string);
    let message = err.message().trim_end().replace('\n', "; ");
    match keys {
        None => message,
        Some(keys)
            if message.starts_with("unknown field") || message.starts_with("missing field") =>
        {
            format!("{message} in table `{keys}`")
        }
        Some(keys) => format!("{message} for key `{keys}`"),
    }
}

/// Parses and resolves a whole config file.
pub(crate) fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let src = Source { text, path };
    let raw: RawConfig = toml::from_str(text).map_err(|e| src.toml_error(e))?;

    let listen = match &raw.sip.listen {
        None => SocketAddr::from(([127, 0, 0, 1], 0)),
        Some(s) => s.get_ref().parse::<SocketAddr>().map_err(|_| {
            src.at(
                s.span(),
                format!(
                    "invalid value for key `sip.listen`: `{}` is not an IP address and port like `127.0.0.1:5062`",
                    s.get_ref()
                ),
            )
        })?,
    };

    let dns_servers = dns_servers(&src, raw.sip.dns_servers.unwrap_or_default())?;
    let stun_server = match &raw.sip.stun_server {
        Some(s) => Some(stun_server(&src, s)?),
        None => None,
    };
    let limits = RawSipLimits {
        tcp_max_connections: raw.sip.tcp_max_connections,
        tcp_max_connections_per_source: raw.sip.tcp_max_connections_per_source,
        tcp_idle_timeout_s: raw.sip.tcp_idle_timeout_s,
        tcp_read_timeout_s: raw.sip.tcp_read_timeout_s,
        max_transactions: raw.sip.max_transactions,
        max_requests_per_source: raw.sip.max_requests_per_source,
    }
    .resolve()
    .map_err(|(span, message)| src.at(span, message))?;

    let mut accounts = Vec::new();
    let mut pending_cmds = Vec::new();
    let mut names = HashSet::new();
    for a in raw.account {
        let name = a.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(src.at(a.name.span(), "key `account.name` must not be empty".into()));
        }
        if !names.insert(name.clone()) {
            return Err(src.at(
                a.name.span(),
                format!("duplicate account name `{name}` (key `account.name`)"),
            ));
        }
        for (key, v) in [("user", &a.user), ("domain", &a.domain)] {
            if v.get_ref().trim().is_empty() || v.get_ref().contains(char::is_whitespace) {
                return Err(src.at(
                    v.span(),
                    format!("account `{name}`: key `account.{key}` must be non-empty and without spaces"),
                ));
            }
        }
        if let Some(p) = &a.proxy {
            proxy::check(p.get_ref()).map_err(|why| {
                src.at(
                    p.span(),
                    format!(
                        "account `{name}`: invalid value for key `account.proxy`: `{}` is not a SIP URI like `sip:host[:port]`: {why}",
                        p.get_ref()
                    ),
                )
            })?;
        }
        if let (Some(_), Some(cmd)) = (&a.password, &a.password_cmd) {
            return Err(src.at(
                cmd.span(),
                format!("account `{name}`: set either `password` or `password_cmd`, not both"),
            ));
        }
        let expires = match &a.expires {
            Some(e) if *e.get_ref() == 0 => {
                return Err(src.at(
                    e.span(),
                    format!("account `{name}`: key `account.expires` must be at least 1 second"),
                ))
            }
            Some(e) => *e.get_ref(),
            None => DEFAULT_EXPIRES,
        };
        if a.tls_key.is_some() != a.tls_cert.is_some() {
            return Err(src.at(
                a.name.span(),
                format!("account `{name}`: set both `tls_cert` and `tls_key`, or neither"),
            ));
        }
        if let Some(cmd) = &a.password_cmd {
            pending_cmds.push((accounts.len(), cmd.clone()));
        }
        let dial_plan = dial_plan(&a)
            .map_err(|why| src.at(a.name.span(), format!("account `{name}`: {why}")))?;
        let realms = match a.realm {
            Some(r) => {
                let span = r.span();
                let realms = r.into_inner().into_vec();
                if realms.iter().any(|r| r.trim().is_empty()) {
                    return Err(src.at(
                        span,
                        format!("account `{name}`: key `account.realm` must not be empty"),
                    ));
                }
                realms
            }
            None => Vec::new(),
        };
        let media_encryption = match &a.media_encryption {
            Some(v) => MediaEncryption::parse(v.get_ref()).ok_or_else(|| {
                src.at(
                    v.span(),
                    format!(
                        "account `{name}`: invalid value for key `account.media_encryption`: `{}` (expected {})",
                        v.get_ref(),
                        MediaEncryption::VALUES
                    ),
                )
            })?,
            None => MediaEncryption::None,
        };
        let codecs = match &a.codecs {
            Some(v) => super::AudioCodec::parse_list(v.get_ref()).map_err(|why| {
                src.at(
                    v.span(),
                    format!("account `{name}`: key `account.codecs` {why}"),
                )
            })?,
            None => super::AudioCodec::DEFAULT.to_vec(),
        };
        accounts.push(Account {
            media_encryption,
            codecs,
            red: a.red,
            dial_plan,
            register: a.register.unwrap_or(a.proxy.is_some()),
            proxy: a.proxy.map(Spanned::into_inner),
            password: a.password.map(Spanned::into_inner),
            user: a.user.into_inner(),
            domain: a.domain.into_inner(),
            display_name: a.display_name,
            auth_user: a.auth_user,
            expires,
            voicemail: a
                .voicemail
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
            mwi: a.mwi,
            realms,
            keepalive_s: a.keepalive_s.unwrap_or(DEFAULT_KEEPALIVE_S),
            trust_asserted_identity: a.trust_asserted_identity,
            tls_cert: a.tls_cert.map(|p| paths::resolve(path, &p)),
            tls_key: a.tls_key.map(|p| paths::resolve(path, p.get_ref())),
            name,
        });
    }

    let phone = resolve_phone(&src, raw.phone)?;
    let room_echo = room_echo(&src, &raw.audio)?;
    let ui = resolve_ui(&src, raw.ui)?;
    let pbx = match raw.pbx {
        Some(p) => resolve_pbx(&src, p)?,
        None => PbxConfig::default(),
    };

    let mut blf = Vec::new();
    for b in raw.blf {
        if b.target.get_ref().trim().is_empty() {
            return Err(src.at(b.target.span(), "key `blf.target` must not be empty".into()));
        }
        blf.push(BlfTarget {
            target: b.target.into_inner().trim().to_string(),
            label: b.label,
            presence: b.presence,
        });
    }

    // Secrets last: a mistake elsewhere in the file is reported without
    // running any command.
    for (index, cmd) in pending_cmds {
        let Some(account) = accounts.get_mut(index) else {
            continue;
        };
        let password = secret::run_password_cmd(cmd.get_ref()).map_err(|why| {
            src.at(
                cmd.span(),
                format!("account `{}`: password_cmd {why}", account.name),
            )
        })?;
        account.password = Some(password);
    }

    if accounts.is_empty() {
        accounts.push(Account::direct());
    }

    let mut directories = Vec::new();
    for d in raw.directory {
        match d.kind.get_ref().trim() {
            "vcard" => match d.path {
                _ if ldap::has_ldap_keys(&d) => {
                    return Err(src.at(
                        d.kind.span(),
                        "keys `url`, `base`, `bind_dn`, `password`, `password_cmd`, `filter` and the attribute lists are for kind \"ldap\"; a vCard source has only `path`".into(),
                    ))
                }
                Some(p) if !p.get_ref().trim().is_empty() => {
                    directories.push(DirectoryConfig::Vcard {
                        path: paths::resolve(path, p.get_ref().trim()),
                    });
                }
                _ => {
                    return Err(src.at(
                        d.kind.span(),
                        "key `directory.path` is needed for kind \"vcard\" (a .vcf file or a folder of them)"
                            .into(),
                    ))
                }
            },
            "ldap" => directories.push(DirectoryConfig::Ldap(ldap::ldap_directory(&src, d)?)),
            other => {
                return Err(src.at(
                    d.kind.span(),
                    format!("key `directory.kind` is \"vcard\" or \"ldap\", not `{other}`"),
                ))
            }
        }
    }

    Ok(Config {
        directories,
        path: Some(path.to_path_buf()),
        control: raw.control.map(|c| paths::resolve(path, c.get_ref())),
        sip: SipConfig {
            listen,
            dns_servers,
            stun_server,
            limits,
            tls_ca_file: raw.sip.tls_ca_file.map(|p| paths::resolve(path, &p)),
        },
        accounts,
        audio: AudioConfig {
            backend: raw.audio.backend.unwrap_or_default(),
            input: raw.audio.input.map(|p| paths::resolve(path, &p)),
            output_dir: raw.audio.output_dir.map(|p| paths::resolve(path, &p)),
            input_device: raw.audio.input_device,
            output_device: raw.audio.output_device,
            ring_device: raw.audio.ring_device,
            processing: VoiceProcessing {
                echo_cancel: raw.audio.echo_cancel.unwrap_or_default(),
                noise_suppression: raw.audio.noise_suppression.unwrap_or_default(),
                auto_gain: raw.audio.auto_gain.unwrap_or_default(),
            },
            room_echo,
        },
        phone,
        history_path: match raw.history {
            Some(h) => paths::resolve(path, h.get_ref()),
            None => paths::default_history_path(),
        },
        blf,
        ui,
        pbx,
    })
}

/// `[sip] stun_server`: `host:port` (a name or an IP address, `[v6]:port`).
fn stun_server(src: &Source<'_>, raw: &Spanned<String>) -> Result<String, ConfigError> {
    let text = raw.get_ref().trim();
    let ok = text.parse::<SocketAddr>().is_ok()
        || text.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty()
                && !host.contains(':')
                && !host.contains(char::is_whitespace)
                && port.parse::<u16>().is_ok_and(|p| p != 0)
        });
    if ok {
        Ok(text.to_string())
    } else {
        Err(src.at(
            raw.span(),
            format!(
                "invalid value for key `sip.stun_server`: `{text}` is not a host and port like `stun.example.com:3478` or `192.0.2.10:3478`"
            ),
        ))
    }
}

/// `[sip] dns_servers`: `ip:port` or a bare IP (port 53).
fn dns_servers(
    src: &Source<'_>,
    raw: Vec<Spanned<String>>,
) -> Result<Vec<SocketAddr>, ConfigError> {
    raw.iter()
        .map(|s| {
            let text = s.get_ref().trim();
            text.parse::<SocketAddr>()
                .or_else(|_| {
                    text.parse::<std::net::IpAddr>()
                        .map(|ip| SocketAddr::new(ip, 53))
                })
                .map_err(|_| {
                    src.at(
                        s.span(),
                        format!(
                            "invalid value for key `sip.dns_servers`: `{text}` is not an IP address like `127.0.0.1:5353` or `192.0.2.53`"
                        ),
                    )
                })
        })
        .collect()
}

fn resolve_pbx(src: &Source<'_>, raw: RawPbx) -> Result<PbxConfig, ConfigError> {
    let (name, base) = match &raw.profile {
        Some(p) => (
            p.get_ref().trim().to_ascii_lowercase(),
            pbx::builtin_profile(p.get_ref())
                .map_err(|e| src.at(p.span(), format!("key `pbx.profile`: {e}")))?,
        ),
        None => (
            "generic".to_string(),
            pbx::ProfileFile {
                verified: pbx::builtin_profile("generic").is_ok_and(|p| p.verified),
                ..pbx::ProfileFile::default()
            },
        ),
    };
    let base = match &raw.profile_file {
        Some(f) => {
            let file = paths::resolve(src.path, f.get_ref());
            let user = pbx::load_profile_file(&file)
                .map_err(|e| src.at(f.span(), format!("key `pbx.profile_file`: {e}")))?;
            pbx::ProfileFile {
                description: user.description.or(base.description),
                verified: user.verified,
                codes: base.codes.overridden_by(&user.codes),
            }
        }
        None => base,
    };
    Ok(PbxConfig {
        profile: name,
        description: base.description,
        verified: base.verified,
        codes: base.codes.overridden_by(&raw.codes),
    })
}

fn resolve_ui(src: &Source<'_>, raw: RawUi) -> Result<UiConfig, ConfigError> {
    let mut ui = UiConfig::default();
    if let Some(theme) = raw.theme {
        let name = theme.get_ref().trim();
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            return Err(src.at(
                theme.span(),
                format!(
                    "invalid value for key `ui.theme`: `{}` is not a theme name like `default`, `light` or `high-contrast`",
                    theme.get_ref()
                ),
            ));
        }
        ui.theme = name.to_string();
    }
    ui.bell = raw.bell.unwrap_or(ui.bell);
    ui.notify = raw.notify.unwrap_or(ui.notify);
    Ok(ui)
}

/// `[audio] room_echo_ms` / `room_echo_db`: a delay of 1 ms to 2 s, an
/// attenuation (0 dB or less, default -10 dB); no delay, no room.
fn room_echo(src: &Source<'_>, raw: &RawAudio) -> Result<Option<RoomEcho>, ConfigError> {
    let level_db = match &raw.room_echo_db {
        Some(db) if !(-120.0..=0.0).contains(db.get_ref()) => {
            return Err(src.at(
                db.span(),
                "key `audio.room_echo_db` must be between -120 and 0".into(),
            ))
        }
        Some(db) => *db.get_ref(),
        None => -10.0,
    };
    let Some(ms) = &raw.room_echo_ms else {
        return Ok(None);
    };
    if !(1..=2000).contains(ms.get_ref()) {
        return Err(src.at(
            ms.span(),
            "key `audio.room_echo_ms` must be between 1 and 2000".into(),
        ));
    }
    Ok(Some(RoomEcho {
        delay_ms: *ms.get_ref(),
        level_db,
    }))
}

fn resolve_phone(src: &Source<'_>, raw: RawPhone) -> Result<PhoneConfig, ConfigError> {
    let d = PhoneConfig::default();
    if let Some(m) = &raw.max_calls {
        if *m.get_ref() == 0 {
            return Err(src.at(m.span(), "key `phone.max_calls` must be at least 1".into()));
        }
    }
    if let Some(t) = &raw.ring_timeout_s {
        if *t.get_ref() == 0 {
            return Err(src.at(
                t.span(),
                "key `phone.ring_timeout_s` must be at least 1 second".into(),
            ));
        }
    }
    let callback_expiry_s = match &raw.callback_expiry_s {
        Some(t) if *t.get_ref() == 0 => {
            return Err(src.at(
                t.span(),
                "key `phone.callback_expiry_s` must be at least 1 second".into(),
            ))
        }
        Some(t) => *t.get_ref(),
        None => d.callback_expiry_s,
    };
    let dnd_code = match &raw.dnd_code {
        Some(c) if !(400..700).contains(c.get_ref()) => {
            return Err(src.at(
                c.span(),
                "key `phone.dnd_code` must be a 4xx, 5xx or 6xx response code".into(),
            ))
        }
        Some(c) => *c.get_ref(),
        None => d.dnd_code,
    };
    let conference_hangup = match raw.conference_hangup.as_ref().map(|v| (v, v.get_ref().as_str())) {
        None | Some((_, "end")) => ConferenceHangup::End,
        Some((_, "transfer")) => ConferenceHangup::Transfer,
        Some((v, other)) => {
            return Err(src.at(
                v.span(),
                format!("invalid value `{other}` for key `phone.conference_hangup`, expected `end` or `transfer`"),
            ))
        }
    };
    let conference_hangup = match raw.conference_leave.as_ref().map(|v| (v, v.get_ref().as_str())) {
        None => conference_hangup,
        Some((_, "end")) => ConferenceHangup::End,
        Some((_, "transfer")) => ConferenceHangup::Transfer,
        Some((_, "keep")) => ConferenceHangup::Keep,
        Some((_, "auto")) => ConferenceHangup::Auto,
        Some((v, other)) => {
            return Err(src.at(
                v.span(),
                format!("invalid value `{other}` for key `phone.conference_leave`, expected `end`, `transfer`, `keep` or `auto`"),
            ))
        }
    };
    let on_answer_other = match raw.on_answer_other.as_ref().map(|v| (v, v.get_ref().as_str())) {
        None | Some((_, "hold")) => OnAnswerOther::Hold,
        Some((_, "hangup")) => OnAnswerOther::Hangup,
        Some((v, other)) => {
            return Err(src.at(
                v.span(),
                format!("invalid value `{other}` for key `phone.on_answer_other`, expected `hold` or `hangup`"),
            ))
        }
    };
    let dnd_via = match raw.dnd_via.as_ref().map(|v| (v, v.get_ref().as_str())) {
        None | Some((_, "line")) => LineDnd::Line,
        Some((_, "feature_code")) => LineDnd::FeatureCode,
        Some((_, "both")) => LineDnd::Both,
        Some((v, other)) => {
            return Err(src.at(
                v.span(),
                format!("invalid value `{other}` for key `phone.dnd_via`, expected `line`, `feature_code` or `both`"),
            ))
        }
    };
    let internal_pattern = match &raw.internal_pattern {
        Some(p) => InternalPattern::parse(p.get_ref()).map_err(|e| {
            src.at(
                p.span(),
                format!("invalid value for key `phone.internal_pattern`: {e}"),
            )
        })?,
        None => d.internal_pattern,
    };
    let mut internal_pattern = internal_pattern;
    for n in &raw.internal_numbers {
        let range = crate::config::NumberRange::parse(n.get_ref()).map_err(|e| {
            src.at(
                n.span(),
                format!("invalid value for key `phone.internal_numbers`: {e}"),
            )
        })?;
        internal_pattern.numbers.push(range);
    }
    for p in &raw.external_prefixes {
        let prefix = p.get_ref().trim();
        if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_digit() || c == '+') {
            return Err(src.at(
                p.span(),
                format!(
                    "invalid value `{}` for key `phone.external_prefixes`: a prefix is digits or `+` (e.g. \"0\", \"00\", \"+\")",
                    p.get_ref()
                ),
            ));
        }
        internal_pattern.external_prefixes.push(prefix.to_string());
    }
    let min_se_s = match &raw.min_se_s {
        Some(m) if *m.get_ref() == 0 => {
            return Err(src.at(
                m.span(),
                "key `phone.min_se_s` must be at least 1 second".into(),
            ))
        }
        Some(m) => *m.get_ref(),
        None => d.min_se_s,
    };
    let session_expires_s = match &raw.session_expires_s {
        Some(e) if *e.get_ref() != 0 && *e.get_ref() < min_se_s => {
            return Err(src.at(
                e.span(),
                format!("key `phone.session_expires_s` must be 0 (off) or at least `phone.min_se_s` ({min_se_s})"),
            ))
        }
        Some(e) => *e.get_ref(),
        None if min_se_s > d.session_expires_s => min_se_s,
        None => d.session_expires_s,
    };
    Ok(PhoneConfig {
        session_expires_s,
        min_se_s,
        symmetric_rtp: raw.symmetric_rtp.unwrap_or(d.symmetric_rtp),
        conference_hangup,
        on_answer_other,
        dnd_via,
        dnd_code,
        dnd_allow: raw
            .dnd_allow
            .into_iter()
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .collect(),
        internal_pattern,
        call_waiting: raw.call_waiting.unwrap_or(d.call_waiting),
        dnd: raw.dnd.unwrap_or(d.dnd),
        auto_answer: raw.auto_answer.unwrap_or(d.auto_answer),
        max_calls: raw.max_calls.map_or(d.max_calls, Spanned::into_inner),
        ring_timeout_s: raw
            .ring_timeout_s
            .map_or(d.ring_timeout_s, Spanned::into_inner),
        rtp_timeout_s: raw.rtp_timeout_s.unwrap_or(d.rtp_timeout_s),
        callback_expiry_s,
        callback_auto_dial: raw.callback_auto_dial.unwrap_or(d.callback_auto_dial),
    })
}

/// The `control` key only (for `termphone ctl`).
pub(crate) fn control_only(
    text: &str,
    path: &Path,
) -> Result<Option<std::path::PathBuf>, ConfigError> {
    let src = Source { text, path };
    let raw: ControlOnly = toml::from_str(text).map_err(|e| src.toml_error(e))?;
    Ok(raw.control.map(|c| paths::resolve(path, c.get_ref())))
}

/// The account's dial plan: `None` when it sets none of the keys.
fn dial_plan(a: &RawAccount) -> Result<Option<DialPlan>, String> {
    let trimmed = |v: &Option<String>| v.as_deref().map(|s| s.trim().to_string());
    if a.country_code.is_none()
        && a.area_code.is_none()
        && a.international_prefix.is_none()
        && a.national_prefix.is_none()
        && a.outside_line.is_none()
        && a.internal_digits.is_none()
    {
        return Ok(None);
    }
    let defaults = DialPlan::default();
    let plan = DialPlan {
        country_code: trimmed(&a.country_code).map(|c| c.trim_start_matches('+').to_string()),
        area_code: trimmed(&a.area_code),
        international_prefix: trimmed(&a.international_prefix)
            .unwrap_or(defaults.international_prefix),
        national_prefix: trimmed(&a.national_prefix).unwrap_or(defaults.national_prefix),
        outside_line: trimmed(&a.outside_line),
        internal_digits: a.internal_digits,
    };
    plan.check()?;
    Ok(Some(plan))
}

#[cfg(test)]
mod tests {
    use super::line_col;
    use crate::config::OnAnswerOther;
    use std::path::Path;

    #[test]
    fn on_answer_other_is_hold_unless_set_to_hangup() {
        let parse = |t: &str| super::parse(t, Path::new("t.toml"));
        let hold = parse("").expect("empty config");
        assert_eq!(hold.phone.on_answer_other, OnAnswerOther::Hold);
        let cfg = parse("[phone]\non_answer_other = \"hangup\"\n").expect("hangup");
        assert_eq!(cfg.phone.on_answer_other, OnAnswerOther::Hangup);
        let cfg = parse("[phone]\non_answer_other = \"hold\"\n").expect("hold");
        assert_eq!(cfg.phone.on_answer_other, OnAnswerOther::Hold);
        let err = parse("[phone]\non_answer_other = \"end\"\n").expect_err("bad value");
        assert!(err.to_string().contains("phone.on_answer_other"), "{err}");
    }

    #[test]
    fn line_and_column_are_one_based_in_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        // byte offset of `=` on line 2: "bé " is 4 bytes, 3 characters
        assert_eq!(line_col(text, 10), (2, 4));
        assert_eq!(line_col(text, 1000), (3, 1));
    }
}
