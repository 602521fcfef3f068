//! Config loading: every key, defaults, and bad files whose errors must name
//! the file, the line and the key.

use super::*;
use std::sync::Mutex;

/// Tests that change or depend on environment variables run one at a time.
pub(crate) static ENV: Mutex<()> = Mutex::new(());

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

#[test]
fn full_config_is_resolved() {
    let path = fixture("full.toml");
    let dir = path.parent().unwrap().to_path_buf();
    let c = Config::load(&path).unwrap();
    assert_eq!(c.path.as_deref(), Some(path.as_path()));
    assert_eq!(c.control, Some(dir.join("run/control.sock")));
    assert_eq!(c.control_path(), dir.join("run/control.sock"));
    assert_eq!(c.history_path, dir.join("data/history.db"));
    assert_eq!(c.sip.listen, "127.0.0.1:5062".parse().unwrap());
    assert_eq!(c.accounts.len(), 2);
    let office = &c.accounts[0];
    assert_eq!(office.name, "office");
    assert_eq!(office.user, "1001");
    assert_eq!(office.domain, "test.local");
    assert_eq!(office.proxy.as_deref(), Some("sip:127.0.0.1:5070"));
    assert_eq!(office.password.as_deref(), Some("pw1001"));
    assert!(office.register);
    assert_eq!(office.expires, 600);
    let home = &c.accounts[1];
    assert_eq!(home.password.as_deref(), Some("from-cmd"));
    assert_eq!(home.display_name.as_deref(), Some("Home Line"));
    assert_eq!(home.auth_user.as_deref(), Some("auth2001"));
    assert!(!home.register, "no proxy: register defaults to false");
    assert_eq!(home.expires, 120);
    assert_eq!(c.audio.backend, BackendKind::File);
    assert_eq!(c.audio.input, Some(dir.join("speech.wav")));
    assert_eq!(c.audio.output_dir, Some(dir.join("rec/")));
    assert_eq!(
        c.phone,
        PhoneConfig {
            call_waiting: false,
            dnd: true,
            auto_answer: true,
            max_calls: 3,
            ring_timeout_s: 15,
            ..PhoneConfig::default()
        }
    );
    assert_eq!(
        c.blf,
        vec![
            BlfTarget {
                target: "1002".into(),
                label: Some("Reception".into()),
                presence: true,
            },
            BlfTarget {
                target: "sip:1003@test.local".into(),
                label: None,
                presence: false,
            },
        ]
    );
}

#[test]
fn password_never_in_debug_output() {
    let c = Config::load(&fixture("full.toml")).unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("pw1001"), "{shown}");
    assert!(!shown.contains("from-cmd"), "{shown}");
    assert!(shown.contains("<redacted>"));
}

#[test]
fn empty_file_gets_defaults_and_the_direct_account() {
    let c = Config::parse("", Path::new("/etc/termphone/config.toml")).unwrap();
    assert_eq!(c.sip.listen, "127.0.0.1:0".parse().unwrap());
    assert_eq!(c.accounts.len(), 1);
    assert_eq!(c.accounts[0].name, "direct");
    assert_eq!(c.accounts[0].domain, "127.0.0.1");
    assert_eq!(c.audio.backend, BackendKind::Cpal);
    assert_eq!(c.phone, PhoneConfig::default());
    assert!(c.control.is_none());
    assert!(c.blf.is_empty());
}

#[test]
fn register_defaults_follow_proxy_and_can_be_overridden() {
    let text = r#"
[[account]]
name = "a"
user = "1"
domain = "d"
proxy = "sip:127.0.0.1:5070"
register = false
[[account]]
name = "b"
user = "2"
domain = "d"
proxy = "sip:127.0.0.1:5070"
"#;
    let c = Config::parse(text, Path::new("/x/c.toml")).unwrap();
    assert!(!c.accounts[0].register);
    assert!(c.accounts[1].register);
}

#[test]
fn absolute_paths_are_kept() {
    let text = "control = \"/run/x.sock\"\nhistory = \"/var/h.db\"\n[audio]\ninput = \"/a.wav\"\n";
    let c = Config::parse(text, Path::new("/etc/t/c.toml")).unwrap();
    assert_eq!(c.control, Some(PathBuf::from("/run/x.sock")));
    assert_eq!(c.history_path, PathBuf::from("/var/h.db"));
    assert_eq!(c.audio.input, Some(PathBuf::from("/a.wav")));
}

/// (fixture, line, column, substrings the message must contain)
const BAD: &[(&str, usize, usize, &[&str])] = &[
    (
        "unknown_top.toml",
        2,
        1,
        &["unknown field `colour`", "expected one of", "`control`"],
    ),
    (
        "unknown_phone.toml",
        3,
        1,
        &[
            "unknown field `auto_anser`",
            "in table `phone`",
            "`auto_answer`",
        ],
    ),
    (
        "unknown_account_key.toml",
        5,
        1,
        &["unknown field `registrar`", "in table `account`"],
    ),
    (
        "wrong_type.toml",
        3,
        15,
        &[
            "invalid type: string \"yes\", expected a boolean",
            "for key `phone.auto_answer`",
        ],
    ),
    ("bad_listen.toml", 3, 10, &["`sip.listen`", "`localhost`"]),
    (
        "bad_proxy.toml",
        5,
        9,
        &[
            "account `office`",
            "`account.proxy`",
            "`127.0.0.1:5070`",
            "sip:",
        ],
    ),
    (
        "duplicate_account.toml",
        7,
        8,
        &["duplicate account name `office`"],
    ),
    ("missing_user.toml", 1, 1, &["missing field `user`"]),
    (
        "bad_backend.toml",
        2,
        11,
        &[
            "unknown variant `alsa`",
            "`cpal`",
            "for key `audio.backend`",
        ],
    ),
    (
        "password_cmd_fails.toml",
        5,
        16,
        &[
            "account `office`",
            "password_cmd failed (exit status 1)",
            "not in the password store",
        ],
    ),
    ("syntax.toml", 2, 22, &["invalid basic string"]),
];

#[test]
fn bad_configs_name_file_line_and_key() {
    for (name, line, column, needles) in BAD {
        let path = fixture(&format!("bad/{name}"));
        let err = Config::load(&path).unwrap_err();
        let shown = err.to_string();
        match &err {
            ConfigError::Invalid {
                path: p,
                line: l,
                column: c,
                message,
            } => {
                assert_eq!(p, &path, "{name}");
                assert_eq!((*l, *c), (*line, *column), "{name}: {shown}");
                for needle in *needles {
                    assert!(
                        message.contains(needle),
                        "{name}: `{needle}` not in: {message}"
                    );
                }
                assert!(
                    shown.starts_with(&format!("{}:{line}:{column}: ", path.display())),
                    "{shown}"
                );
                assert!(!shown.contains('\n'), "one line: {shown}");
            }
            other => panic!("{name}: expected Invalid, got {other:?}"),
        }
        assert!(!shown.contains("hunter2"), "password leaked: {shown}");
    }
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let path = fixture("bad/does_not_exist.toml");
    let err = Config::load(&path).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }));
    assert!(err.to_string().contains("does_not_exist.toml"));
}

#[test]
fn control_only_reads_just_that_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(
        &path,
        "control = \"ctl.sock\"\n[[account]]\nname = \"a\"\nuser = \"1\"\ndomain = \"d\"\npassword_cmd = \"exit 1\"\n",
    )
    .unwrap();
    assert_eq!(
        Config::load_control_path(&path).unwrap(),
        Some(dir.path().join("ctl.sock"))
    );
    std::fs::write(&path, "[phone]\ndnd = true\n").unwrap();
    assert_eq!(Config::load_control_path(&path).unwrap(), None);
    std::fs::write(&path, "control = 5\n").unwrap();
    let err = Config::load_control_path(&path).unwrap_err();
    assert!(err.to_string().contains(":1:11: "), "{err}");
    assert!(err.to_string().contains("for key `control`"), "{err}");
}

#[test]
fn xdg_variables_place_default_paths() {
    let _guard = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let saved: Vec<_> = ["XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR"]
        .iter()
        .map(|k| (*k, std::env::var_os(k)))
        .collect();
    std::env::set_var("XDG_CONFIG_HOME", "/xdg/config");
    std::env::set_var("XDG_DATA_HOME", "/xdg/data");
    std::env::set_var("XDG_RUNTIME_DIR", "/xdg/run");
    let config_path = Config::default_path();
    let direct = Config::direct_ip_default();
    let control = direct.control_path();
    std::env::remove_var("XDG_RUNTIME_DIR");
    let control_tmp = direct.control_path();
    for (k, v) in saved {
        match v {
            Some(v) => std::env::set_var(k, v),
            None => std::env::remove_var(k),
        }
    }
    assert_eq!(
        config_path,
        Some(PathBuf::from("/xdg/config/termphone/config.toml"))
    );
    assert_eq!(
        direct.history_path,
        PathBuf::from("/xdg/data/termphone/history.db")
    );
    assert_eq!(control, PathBuf::from("/xdg/run/termphone/control.sock"));
    let uid = rustix::process::getuid().as_raw();
    assert_eq!(
        control_tmp,
        std::env::temp_dir()
            .join(format!("termphone-{uid}"))
            .join("control.sock")
    );
}

#[test]
fn direct_ip_default_is_a_local_unregistered_account() {
    let c = Config::direct_ip_default();
    assert_eq!(c.path, None);
    assert_eq!(c.sip.listen, "127.0.0.1:0".parse().unwrap());
    assert_eq!(c.accounts.len(), 1);
    let a = &c.accounts[0];
    assert_eq!(a.name, "direct");
    assert_eq!(a.domain, "127.0.0.1");
    assert!(!a.user.is_empty());
    assert_eq!(a.proxy, None);
    assert!(!a.register);
    assert_eq!(c.audio.backend, BackendKind::Cpal);
}

#[test]
fn ui_table_is_optional_and_checked() {
    let path = Path::new("/cfg/config.toml");
    let c = Config::parse("", path).unwrap();
    assert_eq!(c.ui, UiConfig::default());
    assert_eq!(c.ui.theme, "default");
    assert!(c.ui.bell && !c.ui.notify);
    let c = Config::parse(
        "[ui]\ntheme = \"light\"\nbell = false\nnotify = true\n",
        path,
    )
    .unwrap();
    assert_eq!(c.ui.theme, "light");
    assert!(!c.ui.bell && c.ui.notify);
    let err = Config::parse("[ui]\ntheme = \"../x\"\n", path)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("/cfg/config.toml:2:9: "), "{err}");
    assert!(err.contains("ui.theme"), "{err}");
    let err = Config::parse("[ui]\ncolour = 1\n", path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("colour"), "{err}");
}

#[test]
fn pbx_profile_and_policy_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        dir.path().join("mine.toml"),
        "description = \"Site PBX\"\ngroup_pickup = \"*0\"\n",
    )
    .unwrap();
    let text = r#"
[[account]]
name = "office"
user = "1001"
domain = "test.local"
voicemail = "8500"
mwi = true

[[account]]
name = "home"
user = "2001"
domain = "home.example"

[phone]
dnd_code = 603
dnd_allow = ["1003", " sip:boss@corp.example ", ""]
internal_pattern = "3-5"

[pbx]
profile = "asterisk"
profile_file = "mine.toml"
dnd_on = "*99"
"#;
    let c = Config::parse(text, &path).unwrap();
    assert_eq!(c.accounts[0].voicemail.as_deref(), Some("8500"));
    assert!(c.accounts[0].mwi);
    assert_eq!(c.accounts[1].voicemail, None);
    assert!(!c.accounts[1].mwi);
    assert_eq!(c.phone.dnd_code, 603);
    assert_eq!(c.phone.dnd_allow, vec!["1003", "sip:boss@corp.example"]);
    assert_eq!(
        c.phone.internal_pattern.kind,
        crate::config::InternalKind::ExtensionLength { min: 3, max: 5 }
    );
    assert_eq!(c.pbx.profile, "asterisk");
    assert_eq!(c.pbx.description.as_deref(), Some("Site PBX"));
    // Built-in code, file override, inline override.
    assert_eq!(c.pbx.codes.dnd_off.as_deref(), Some("*79"));
    assert_eq!(c.pbx.codes.group_pickup.as_deref(), Some("*0"));
    assert_eq!(c.pbx.codes.dnd_on.as_deref(), Some("*99"));
    // A profile file of one's own is unverified unless it says so.
    assert!(!c.pbx.verified);
}

#[test]
fn profiles_say_whether_their_codes_are_verified() {
    let path = Path::new("/nonexistent/config.toml");
    let verified = |text: &str| Config::parse(text, path).unwrap().pbx.verified;
    assert!(!verified("[pbx]\nprofile = \"openscape4000\"\n"));
    assert!(verified("[pbx]\nprofile = \"asterisk\"\n"));
    assert!(verified("[pbx]\nprofile = \"generic\"\n"));
    assert!(verified(""));
    assert_eq!(PbxConfig::default().verified, verified(""));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mine.toml"), "verified = true\n").unwrap();
    let c = Config::parse(
        "[pbx]\nprofile = \"openscape4000\"\nprofile_file = \"mine.toml\"\n",
        &dir.path().join("config.toml"),
    )
    .unwrap();
    assert!(c.pbx.verified, "the site's own file is taken at its word");
}

#[test]
fn pbx_and_policy_defaults_and_errors() {
    let path = Path::new("/nonexistent/config.toml");
    let c = Config::parse("[phone]\ndnd = true\n", path).unwrap();
    assert_eq!(c.phone.dnd_code, 486);
    assert!(c.phone.dnd_allow.is_empty());
    assert_eq!(c.phone.internal_pattern, InternalPattern::default());
    assert_eq!(c.pbx.profile, "generic");
    assert_eq!(c.pbx.codes, FeatureCodes::default());
    assert_eq!(Config::direct_ip_default().pbx, PbxConfig::default());

    for (text, needle) in [
        ("[pbx]\nprofile = \"nortel\"\n", "pbx.profile"),
        (
            "[pbx]\nprofile_file = \"missing.toml\"\n",
            "pbx.profile_file",
        ),
        ("[pbx]\nbogus_code = \"*1\"\n", "bogus_code"),
        ("[phone]\ndnd_code = 200\n", "phone.dnd_code"),
        (
            "[phone]\ninternal_pattern = \"9-2\"\n",
            "phone.internal_pattern",
        ),
    ] {
        let err = Config::parse(text, path).unwrap_err().to_string();
        assert!(err.contains(needle), "{text}: {err}");
        assert!(err.contains("config.toml:"), "{err}");
    }
}

#[test]
fn every_shipped_example_config_loads() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        // Secrets come from the user's password store: stand in a password.
        let text = std::fs::read_to_string(&path).unwrap();
        let text: String = text
            .lines()
            .map(|l| {
                if l.trim_start().starts_with("password_cmd") {
                    "password = \"x\""
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let c = Config::parse(&text, &path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!c.accounts.is_empty(), "{}", path.display());
        seen += 1;
    }
    assert!(seen >= 4, "only {seen} examples");
}

#[test]
fn session_timer_keys() {
    let path = Path::new("/nonexistent/config.toml");
    let d = Config::parse("", path).unwrap().phone;
    assert_eq!((d.session_expires_s, d.min_se_s), (1800, 90));
    for (text, want) in [
        ("[phone]\nsession_expires_s = 0\n", (0, 90)),
        ("[phone]\nsession_expires_s = 600\n", (600, 90)),
        ("[phone]\nsession_expires_s = 4\nmin_se_s = 2\n", (4, 2)),
        // A Min-SE above the default interval raises it.
        ("[phone]\nmin_se_s = 3600\n", (3600, 3600)),
    ] {
        let p = Config::parse(text, path).unwrap().phone;
        assert_eq!((p.session_expires_s, p.min_se_s), want, "{text}");
    }
    for (text, needle) in [
        ("[phone]\nmin_se_s = 0\n", "phone.min_se_s"),
        (
            "[phone]\nsession_expires_s = 60\n",
            "phone.session_expires_s",
        ),
        ("[phone]\nsession_expires_s = -1\n", "session_expires_s"),
    ] {
        let err = Config::parse(text, path).unwrap_err().to_string();
        assert!(err.contains(needle), "{text}: {err}");
    }
}

#[test]
fn dns_servers_take_ip_and_port_or_a_bare_ip() {
    let c = Config::parse("", Path::new("/x/c.toml")).unwrap();
    assert!(c.sip.dns_servers.is_empty());
    let text = "[sip]\ndns_servers = [\"127.0.0.1:5353\", \"192.0.2.53\", \"[::1]:53\"]\n";
    let c = Config::parse(text, Path::new("/x/c.toml")).unwrap();
    let want: Vec<std::net::SocketAddr> = ["127.0.0.1:5353", "192.0.2.53:53", "[::1]:53"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(c.sip.dns_servers, want);
    let err = Config::parse(
        "[sip]\ndns_servers = [\"ns.test\"]\n",
        Path::new("/x/c.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("/x/c.toml:2:") && err.contains("`sip.dns_servers`"),
        "{err}"
    );
}

#[test]
fn realm_takes_one_string_or_a_list() {
    let path = Path::new("/x/c.toml");
    let account = |realm: &str| {
        format!("[[account]]\nname = \"a\"\nuser = \"1001\"\ndomain = \"test.local\"\n{realm}\n")
    };
    let c = Config::parse(&account(""), path).unwrap();
    assert!(c.accounts[0].realms.is_empty(), "default: learned");
    let c = Config::parse(&account("realm = \"pbx\""), path).unwrap();
    assert_eq!(c.accounts[0].realms, vec!["pbx"]);
    let c = Config::parse(&account("realm = [\"pbx\", \"trunk\"]"), path).unwrap();
    assert_eq!(c.accounts[0].realms, vec!["pbx", "trunk"]);
    let err = Config::parse(&account("realm = \"\""), path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("account.realm") && err.contains(":5"), "{err}");
    assert!(Config::parse(&account("realm = 5"), path).is_err());
}

#[test]
fn symmetric_rtp_is_on_unless_turned_off() {
    let path = Path::new("/x/c.toml");
    for (text, want) in [
        ("", true),
        ("[phone]\nsymmetric_rtp = true\n", true),
        ("[phone]\nsymmetric_rtp = false\n", false),
    ] {
        assert_eq!(
            Config::parse(text, path).unwrap().phone.symmetric_rtp,
            want,
            "{text}"
        );
    }
    let err = Config::parse("[phone]\nsymmetric_rtp = \"yes\"\n", path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("symmetric_rtp"), "{err}");
}

#[test]
fn stun_server_is_a_host_and_port() {
    let c = Config::parse("", Path::new("/x/c.toml")).unwrap();
    assert_eq!(c.sip.stun_server, None);
    for ok in [
        "192.0.2.10:3478",
        "stun.example.com:3478",
        "[2001:db8::1]:3478",
    ] {
        let text = format!("[sip]\nstun_server = \"{ok}\"\n");
        let c = Config::parse(&text, Path::new("/x/c.toml")).unwrap();
        assert_eq!(c.sip.stun_server.as_deref(), Some(ok), "{text}");
    }
    for bad in [
        "stun.example.com",
        "192.0.2.10",
        ":3478",
        "host:0",
        "2001:db8::1:3478",
        "a b:1",
    ] {
        let text = format!("[sip]\nstun_server = \"{bad}\"\n");
        let err = Config::parse(&text, Path::new("/x/c.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/x/c.toml:2:") && err.contains("`sip.stun_server`"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn keepalive_defaults_to_20_seconds_and_0_turns_it_off() {
    let account = |extra: &str| {
        let text =
            format!("[[account]]\nname = \"a\"\nuser = \"1001\"\ndomain = \"test.local\"\n{extra}");
        Config::parse(&text, Path::new("/x/c.toml"))
            .unwrap()
            .accounts[0]
            .keepalive_s
    };
    assert_eq!(account(""), 20);
    assert_eq!(account("keepalive_s = 5\n"), 5);
    assert_eq!(account("keepalive_s = 0\n"), 0);
}

#[test]
fn rtp_timeout_defaults_to_30_s_and_0_turns_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    assert_eq!(Config::parse("", &path).unwrap().phone.rtp_timeout_s, 30);
    let off = Config::parse("[phone]\nrtp_timeout_s = 0\n", &path).unwrap();
    assert_eq!(off.phone.rtp_timeout_s, 0);
    let short = Config::parse("[phone]\nrtp_timeout_s = 3\n", &path).unwrap();
    assert_eq!(short.phone.rtp_timeout_s, 3);
    let err = Config::parse("[phone]\nrtp_timeout_s = -1\n", &path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("c.toml:2:"), "{err}");
}

#[test]
fn sip_limits_default_and_override_and_refuse_zero() {
    let c = Config::parse("", Path::new("/x/c.toml")).unwrap();
    assert_eq!(c.sip.limits, SipLimits::default());
    let text = "[sip]\ntcp_max_connections = 10\ntcp_max_connections_per_source = 2\n\
                tcp_idle_timeout_s = 5\ntcp_read_timeout_s = 3\nmax_transactions = 100\n\
                max_requests_per_source = 7\n";
    let c = Config::parse(text, Path::new("/x/c.toml")).unwrap();
    assert_eq!(
        c.sip.limits,
        SipLimits {
            tcp_max_connections: 10,
            tcp_max_connections_per_source: 2,
            tcp_idle_timeout_s: 5,
            tcp_read_timeout_s: 3,
            max_transactions: 100,
            max_requests_per_source: 7,
        }
    );
    let err = Config::parse("[sip]\nmax_transactions = 0\n", Path::new("/x/c.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/x/c.toml:2:") && err.contains("`sip.max_transactions` must be at least 1"),
        "{err}"
    );
}

#[test]
fn a_config_with_a_password_that_others_may_write_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "[[account]]\nname = \"a\"\nuser = \"1001\"\ndomain = \"test\"\npassword = \"pw\"\n",
    )
    .unwrap();
    let chmod = |m: u32| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m));
    chmod(0o666).unwrap();
    let err = Config::load(&path).unwrap_err().to_string();
    assert!(
        err.contains(&path.display().to_string())
            && err.contains("everyone may change")
            && err.contains("chmod go-w"),
        "{err}"
    );
    chmod(0o620).unwrap();
    let err = Config::load(&path).unwrap_err().to_string();
    assert!(err.contains("its group may change"), "{err}");
    chmod(0o600).unwrap();
    assert_eq!(
        Config::load(&path).unwrap().accounts[0].password.as_deref(),
        Some("pw")
    );
    // A password_cmd that others may write is never run.
    let marker = dir.path().join("ran");
    std::fs::write(
        &path,
        format!(
            "[[account]]\nname = \"a\"\nuser = \"1\"\ndomain = \"t\"\npassword_cmd = \"touch {}; echo pw\"\n",
            marker.display()
        ),
    )
    .unwrap();
    chmod(0o646).unwrap();
    assert!(Config::load(&path).is_err());
    assert!(!marker.exists(), "the password_cmd ran");
}

#[test]
fn tls_files_are_relative_to_the_config_and_come_in_pairs() {
    let text = "[sip]\ntls_ca_file = \"ca.pem\"\n\n[[account]]\nname = \"office\"\nuser = \"1001\"\n\
domain = \"pbx.test\"\nproxy = \"sips:pbx.test\"\ntls_cert = \"me.pem\"\ntls_key = \"/keys/me.key\"\n";
    let c = Config::parse(text, Path::new("/x/c.toml")).unwrap();
    assert_eq!(c.sip.tls_ca_file, Some("/x/ca.pem".into()));
    assert_eq!(c.accounts[0].tls_cert, Some("/x/me.pem".into()));
    assert_eq!(c.accounts[0].tls_key, Some("/keys/me.key".into()));
    let plain = Config::parse("", Path::new("/x/c.toml")).unwrap();
    assert_eq!(plain.sip.tls_ca_file, None);
    let half = text.replace("tls_key = \"/keys/me.key\"\n", "");
    let err = Config::parse(&half, Path::new("/x/c.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("tls_cert") && err.contains("tls_key"), "{err}");
}

#[test]
fn media_encryption_is_none_unless_set() {
    use super::MediaEncryption;
    let path = Path::new("/x/c.toml");
    let account = |key: &str| {
        format!("[[account]]\nname = \"a\"\nuser = \"1001\"\ndomain = \"test.local\"\n{key}\n")
    };
    for (key, want) in [
        ("", MediaEncryption::None),
        ("media_encryption = \"none\"", MediaEncryption::None),
        ("media_encryption = \"srtp\"", MediaEncryption::Srtp),
        (
            "media_encryption = \"srtp-optional\"",
            MediaEncryption::SrtpOptional,
        ),
    ] {
        let c = Config::parse(&account(key), path).unwrap();
        assert_eq!(c.accounts[0].media_encryption, want, "{key}");
    }
    assert_eq!(
        Config::parse("", path).unwrap().accounts[0].media_encryption,
        MediaEncryption::None,
        "the direct account"
    );
    let err = Config::parse(&account("media_encryption = \"zrtp\""), path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/x/c.toml:5:")
            && err.contains("account.media_encryption")
            && err.contains("zrtp")
            && err.contains("srtp-optional"),
        "{err}"
    );
    assert!(Config::parse(&account("media_encryption = true"), path).is_err());
}

#[test]
fn dial_plan_keys_make_the_accounts_plan() {
    let text = r#"
[[account]]
name = "office"
user = "1"
domain = "d"
country_code = "+49"
area_code = "89"
outside_line = "0"
internal_digits = 5
[[account]]
name = "plain"
user = "2"
domain = "d"
"#;
    let c = Config::parse(text, Path::new("/x/c.toml")).unwrap();
    let plan = c.accounts[0].dial_plan.clone().unwrap();
    assert_eq!(
        plan,
        DialPlan {
            country_code: Some("49".into()),
            area_code: Some("89".into()),
            international_prefix: "00".into(),
            national_prefix: "0".into(),
            outside_line: Some("0".into()),
            internal_digits: Some(5),
        }
    );
    assert_eq!(
        plan.normalize("+49 89 1234-567").unwrap().target,
        "00891234567"
    );
    assert_eq!(c.accounts[1].dial_plan, None, "no key, no plan");

    let bad = "[[account]]\nname = \"o\"\nuser = \"1\"\ndomain = \"d\"\narea_code = \"8x\"\n";
    let err = Config::parse(bad, Path::new("/x/c.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("/x/c.toml:2:8: "), "{err}");
    assert!(
        err.contains("account `o`: key `account.area_code` must be digits"),
        "{err}"
    );
}

#[test]
fn directories_are_vcard_paths_beside_the_file() {
    let text = "[[directory]]\nkind = \"vcard\"\npath = \"contacts\"\n[[directory]]\nkind = \"vcard\"\npath = \"/abs/team.vcf\"\n";
    let c = Config::parse(text, Path::new("/x/c.toml")).unwrap();
    assert_eq!(
        c.directories,
        [
            DirectoryConfig::Vcard {
                path: PathBuf::from("/x/contacts")
            },
            DirectoryConfig::Vcard {
                path: PathBuf::from("/abs/team.vcf")
            },
        ]
    );
    for (bad, needle) in [
        (
            "[[directory]]\nkind = \"vcard\"\n",
            "`directory.path` is needed",
        ),
        (
            "[[directory]]\nkind = \"ldap\"\n",
            "`directory.url` is needed",
        ),
        (
            "[[directory]]\nkind = \"carddav\"\n",
            "`directory.kind` is \"vcard\" or \"ldap\", not `carddav`",
        ),
        (
            "[[directory]]\nkind = \"vcard\"\npath = \"x\"\nurl = \"y\"\n",
            "are for kind \"ldap\"",
        ),
        (
            "[[directory]]\nkind = \"vcard\"\npath = \"x\"\nuri = \"y\"\n",
            "unknown field `uri`",
        ),
        (
            "[[directory]]\nkind = \"ldap\"\nurl = \"http://x\"\nbase = \"dc=x\"\n",
            "must start with ldap:// or ldaps://",
        ),
        (
            "[[directory]]\nkind = \"ldap\"\nurl = \"ldap://x\"\n",
            "`directory.base` is needed",
        ),
        (
            "[[directory]]\nkind = \"ldap\"\nurl = \"ldap://x\"\nbase = \"dc=x\"\npassword = \"a\"\npassword_cmd = \"echo a\"\n",
            "either `password` or `password_cmd`",
        ),
        (
            "[[directory]]\nkind = \"ldap\"\nurl = \"ldap://x\"\nbase = \"dc=x\"\nfilter = \"(cn=x)\"\n",
            "must hold `{q}`",
        ),
        (
            "[[directory]]\nkind = \"ldap\"\nurl = \"ldap://x\"\nbase = \"dc=x\"\npassword_cmd = \"exit 3\"\n",
            "password_cmd",
        ),
    ] {
        let err = Config::parse(bad, Path::new("/x/c.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{err}");
        assert!(err.starts_with("/x/c.toml:"), "{err}");
    }
    assert!(Config::direct_ip_default().directories.is_empty());
}

#[test]
fn conference_leave_overrides_conference_hangup() {
    let p = Path::new("/x/c.toml");
    let get = |toml: &str| Config::parse(toml, p).unwrap().phone.conference_hangup;
    assert_eq!(get(""), ConferenceHangup::End);
    assert_eq!(
        get("[phone]\nconference_hangup = \"transfer\""),
        ConferenceHangup::Transfer
    );
    for (v, want) in [
        ("end", ConferenceHangup::End),
        ("transfer", ConferenceHangup::Transfer),
        ("keep", ConferenceHangup::Keep),
        ("auto", ConferenceHangup::Auto),
    ] {
        let toml = format!("[phone]\nconference_hangup = \"transfer\"\nconference_leave = \"{v}\"");
        assert_eq!(get(&toml), want, "{v}");
    }
    let err = Config::parse("[phone]\nconference_leave = \"stay\"", p)
        .unwrap_err()
        .to_string();
    assert!(err.contains("phone.conference_leave"), "{err}");
    // `conference_hangup` still knows only its two values.
    assert!(Config::parse("[phone]\nconference_hangup = \"keep\"", p).is_err());
}

#[test]
fn leaving_a_conference_by_members_and_setting() {
    use ConferenceHangup::*;
    use ConferenceLeave as L;
    let table = [
        (End, 2, L::End),
        (End, 3, L::End),
        (Transfer, 2, L::Transfer),
        (Transfer, 3, L::End),
        (Keep, 2, L::Keep),
        (Keep, 4, L::Keep),
        (Auto, 2, L::Transfer),
        (Auto, 3, L::Keep),
        (Auto, 5, L::Keep),
        (Keep, 1, L::End),
        (Auto, 1, L::End),
    ];
    for (setting, members, want) in table {
        assert_eq!(setting.on_leave(members), want, "{setting:?} {members}");
    }
}

#[test]
fn codecs_default_to_g711_first_and_bad_lists_name_the_line() {
    use super::AudioCodec;
    let path = Path::new("/x/c.toml");
    let account = |key: &str| {
        format!("[[account]]\nname = \"a\"\nuser = \"1001\"\ndomain = \"test.local\"\n{key}\n")
    };
    let c = Config::parse(&account(""), path).unwrap();
    assert_eq!(c.accounts[0].codecs, AudioCodec::DEFAULT.to_vec());
    let c = Config::parse(&account("codecs = [\"G722\", \"PCMA\"]"), path).unwrap();
    assert_eq!(
        c.accounts[0].codecs,
        vec![AudioCodec::G722, AudioCodec::Pcma]
    );
    let err = Config::parse(&account("codecs = [\"G722\", \"iLBC\"]"), path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/x/c.toml:5:") && err.contains("account.codecs") && err.contains("iLBC"),
        "{err}"
    );
    assert!(Config::parse(&account("codecs = []"), path).is_err());
    assert!(Config::parse(&account("codecs = \"PCMU\""), path).is_err());
}

#[test]
fn ldap_directories_get_defaults_and_run_password_cmd() {
    let text = "[[directory]]\nkind = \"ldap\"\nurl = \"ldaps://ad.example:636\"\nbase = \"dc=example,dc=com\"\nbind_dn = \"cn=phone,dc=example,dc=com\"\npassword_cmd = \"printf 's3cret'\"\n\n[[directory]]\nkind = \"ldap\"\nurl = \"ldap://127.0.0.1:3389\"\nbase = \"ou=people,dc=x\"\nfilter = \"(&(objectClass=person)(cn=*{q}*))\"\nname_attributes = [\"cn\"]\nnumber_attributes = [\"telephoneNumber\"]\n";
    let c = Config::parse(text, Path::new("/x/c.toml")).unwrap();
    let [DirectoryConfig::Ldap(ad), DirectoryConfig::Ldap(open)] = c.directories.as_slice() else {
        panic!("{:?}", c.directories);
    };
    assert_eq!(ad.url, "ldaps://ad.example:636");
    assert_eq!(ad.base, "dc=example,dc=com");
    assert_eq!(ad.bind_dn.as_deref(), Some("cn=phone,dc=example,dc=com"));
    assert_eq!(ad.password.as_deref(), Some("s3cret"));
    assert_eq!(ad.filter, LdapDirectory::DEFAULT_FILTER);
    assert_eq!(ad.name_attributes, ["displayName", "cn"]);
    assert_eq!(
        ad.number_attributes,
        ["telephoneNumber", "mobile", "ipPhone", "homePhone"]
    );
    assert!(!format!("{ad:?}").contains("s3cret"));
    assert_eq!(open.bind_dn, None);
    assert_eq!(open.password, None);
    assert_eq!(open.filter, "(&(objectClass=person)(cn=*{q}*))");
    assert_eq!(open.name_attributes, ["cn"]);
    assert_eq!(open.number_attributes, ["telephoneNumber"]);
}

#[test]
fn audio_processing_switches_and_the_room() {
    let c = Config::parse("", Path::new("/etc/t/c.toml")).unwrap();
    assert_eq!(c.audio.processing, VoiceProcessing::default());
    assert_eq!(c.audio.processing.echo_cancel, Switch::Auto);
    assert_eq!(c.audio.room_echo, None);
    let text = "[audio]\necho_cancel = \"off\"\nnoise_suppression = \"on\"\nroom_echo_ms = 60\n";
    let c = Config::parse(text, Path::new("/etc/t/c.toml")).unwrap();
    assert_eq!(
        c.audio.processing,
        VoiceProcessing {
            echo_cancel: Switch::Off,
            noise_suppression: Switch::On,
            auto_gain: Switch::Auto,
        }
    );
    assert_eq!(
        c.audio.room_echo,
        Some(RoomEcho {
            delay_ms: 60,
            level_db: -10.0,
        })
    );
    for (text, needle) in [
        (
            "[audio]\necho_cancel = \"maybe\"\n",
            "unknown variant `maybe`",
        ),
        (
            "[audio]\nroom_echo_ms = 0\n",
            "room_echo_ms` must be between 1 and 2000",
        ),
        (
            "[audio]\nroom_echo_ms = 60\nroom_echo_db = 3.0\n",
            "room_echo_db` must be between -120 and 0",
        ),
    ] {
        let err = Config::parse(text, Path::new("/etc/t/c.toml")).unwrap_err();
        assert!(err.to_string().contains(needle), "{text}: {err}");
    }
}

#[test]
fn red_is_off_unless_the_account_turns_it_on() {
    let path = Path::new("/x/c.toml");
    let account = |key: &str| {
        format!("[[account]]\nname = \"a\"\nuser = \"1001\"\ndomain = \"test.local\"\n{key}\n")
    };
    assert!(!Config::parse(&account(""), path).unwrap().accounts[0].red);
    assert!(
        Config::parse(&account("red = true"), path)
            .unwrap()
            .accounts[0]
            .red
    );
    assert!(
        !Config::parse(&account("red = false"), path)
            .unwrap()
            .accounts[0]
            .red
    );
    assert!(Config::parse(&account("red = \"yes\""), path).is_err());
}
