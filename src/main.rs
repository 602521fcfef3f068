//! The `termphone` binary: CLI (docs/control.md "Running").
//!
//! `termphone --headless [--config FILE] [--control PATH]` runs the phone
//! and its control socket; `termphone` (no arguments) attaches the terminal
//! interface to the phone on the control socket, starting one in the
//! background first when none answers (`--background`: its own session,
//! logs in the state dir), and `termphone attach` only attaches. The
//! interface is a client of the socket: detaching or losing the terminal
//! leaves the phone and its calls running. `termphone ctl` talks to a
//! running phone; `termphone call URI` places one call and exits with its
//! outcome.

use clap::{CommandFactory, Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use termphone::command::Command;
use termphone::config::Config;
use termphone::control::client::{call_until_ended, ended_normally, run_ctl};
use termphone::control::launch::{write_pid, Launch};
use termphone::control::protocol::event_line;
use termphone::control::remote::{AttachError, Remote};
use termphone::control::server::{ensure_not_running, serve, ControlServer};
use termphone::phone::{PhoneHandle, Status};
use termphone::ui::Outcome;
use tokio::signal::unix::{signal, SignalKind};

#[derive(Debug, Parser)]
#[command(
    name = "termphone",
    version,
    about = "A keyboard-driven SIP softphone for the terminal"
)]
struct Cli {
    /// Config file (default: termphone/config.toml in the XDG config dir, if it exists).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Control socket path (default: $XDG_RUNTIME_DIR/termphone/control.sock).
    #[arg(long, global = true, value_name = "PATH")]
    control: Option<PathBuf>,
    /// Run without the terminal UI until SIGTERM/SIGINT or `quit`.
    #[arg(long)]
    headless: bool,
    /// Headless, in a session of its own (how `termphone` starts the phone
    /// it attaches to).
    #[arg(long, hide = true, conflicts_with = "headless")]
    background: bool,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// Send one command to a running termphone and print the JSON reply.
    #[command(after_help = termphone::control::cli::ctl_command_list())]
    Ctl {
        /// Control socket to talk to (default: from the config, else the default path).
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
        /// The command and its arguments, e.g. `dial 1002` or `transfer call=c1 to=1003`.
        #[arg(
            required = true,
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "CMD [ARGS]..."
        )]
        words: Vec<String>,
    },
    /// Call URI (headless) and exit when the call ends: 0 if it was answered
    /// and ended normally, 1 otherwise.
    Call {
        /// A number, a SIP URI or `echo`.
        uri: String,
    },
    /// Attach the terminal interface to the phone running on the control
    /// socket (exit 2 when none runs).
    Attach,
    /// Print the completion script for a shell (bash, zsh, fish, …), e.g.
    /// `source <(termphone completions bash)`.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `termphone man | man -l -`.
    Man,
    /// Check the set-up: the config, each account's registrar (resolved,
    /// asked with OPTIONS), audio, the control socket's directory and the
    /// local address; one line each, ok or the fix. Exit 1 when one fails.
    Doctor,
}

/// How long to wait for the phone to end its calls and unregister.
const QUIT_TIMEOUT: Duration = Duration::from_secs(10);

/// jemalloc with its background purging gives memory back to the system
/// after a burst of calls; glibc's allocator kept the peak (see README,
/// Benchmarks).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.background {
        // Away from the terminal that started us: no SIGHUP when it goes.
        // Fails only when we already lead a process group (then we are
        // detached enough).
        let _ = rustix::process::setsid();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("termphone: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Some(Sub::Completions { shell }) => {
            let mut out = std::io::stdout().lock();
            let written =
                termphone::control::cli::write_completions(shell, Cli::command(), &mut out);
            return written_or(written, "the completion script");
        }
        Some(Sub::Man) => {
            let mut out = std::io::stdout().lock();
            let written = termphone::control::cli::write_man_page(Cli::command(), &mut out);
            return written_or(written, "the man page");
        }
        _ => {}
    }
    if let Some(Sub::Ctl { socket, words }) = cli.command {
        let code = run_ctl(socket.or(cli.control), cli.config, words).await;
        return ExitCode::from(u8::try_from(code).unwrap_or(2));
    }
    if let Some(Sub::Doctor) = cli.command {
        return doctor(cli.config, cli.control).await;
    }
    let config_file = cli.config.clone();
    let mut config = match load_config(cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("termphone: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(control) = cli.control {
        config.control = Some(control);
    }
    match cli.command {
        Some(Sub::Call { uri }) => {
            init_tracing();
            call(config, &uri).await
        }
        _ if cli.background => {
            // Its own rotating log: stdout and stderr (only what comes before
            // this, or a panic) go to the same file by the launch.
            if init_file_tracing(&phone_log_path()).is_none() {
                init_tracing();
            }
            headless(config, true).await
        }
        _ if cli.headless => {
            init_tracing();
            headless(config, false).await
        }
        Some(Sub::Attach) => tui(config, None).await,
        _ => tui(config, Some(config_file)).await,
    }
}

/// `termphone doctor`: the config first (nothing else can be checked
/// without it), then the phone's checks; one line each.
async fn doctor(file: Option<PathBuf>, control: Option<PathBuf>) -> ExitCode {
    use termphone::phone::doctor::{self, Check};
    let shown = file
        .clone()
        .or_else(|| Config::default_path().filter(|p| p.is_file()));
    let mut config = match load_config(file) {
        Ok(c) => c,
        Err(e) => {
            let check = Check::fail(
                "config",
                e.to_string(),
                "correct the key at that line (docs/control.md lists the keys; `termphone man` too)",
            );
            println!("{}", check.line());
            return ExitCode::from(1);
        }
    };
    if let Some(control) = control {
        config.control = Some(control);
    }
    let source = match &shown {
        Some(p) => format!("{} parses", p.display()),
        None => "no config file: the direct-IP default".to_string(),
    };
    let mut checks = vec![Check::ok("config", source)];
    checks.extend(doctor::run(&config).await);
    for check in &checks {
        println!("{}", check.line());
    }
    if checks.iter().any(Check::failed) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Success, or the error of writing `what` to stdout (a closed pipe is no
/// error: the reader had enough).
fn written_or(written: std::io::Result<()>, what: &str) -> ExitCode {
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("termphone: cannot write {what}: {e}");
            ExitCode::from(1)
        }
    }
}

/// `--config`, else the default file if it exists, else the direct-IP default.
fn load_config(explicit: Option<PathBuf>) -> Result<Config, termphone::config::ConfigError> {
    match explicit.or_else(|| Config::default_path().filter(|p| p.is_file())) {
        Some(path) => Config::load(&path),
        None => Ok(Config::direct_ip_default()),
    }
}

/// What to log: `TERMPHONE_LOG` (a level, or `target=level` pairs such as
/// `info,termphone::sip=debug`), else `info`. A plain target list rather
/// than a regex-based filter keeps regex compilation out of start-up.
fn log_filter() -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let default = Targets::new().with_default(LevelFilter::INFO);
    match std::env::var("TERMPHONE_LOG") {
        Ok(spec) if !spec.trim().is_empty() => spec.parse().unwrap_or_else(|e| {
            eprintln!("termphone: TERMPHONE_LOG={spec:?} is not a log filter ({e}); using info");
            default
        }),
        _ => default,
    }
}

fn init_tracing() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none(),
        );
    tracing_subscriber::registry()
        .with(fmt)
        .with(log_filter())
        .init();
}

/// Where the logs go: `$XDG_STATE_HOME/termphone` (else the data dir, else
/// the temp dir).
fn log_dir() -> PathBuf {
    let dirs = directories::ProjectDirs::from("", "", "termphone");
    dirs.as_ref()
        .and_then(|d| d.state_dir().map(std::path::Path::to_path_buf))
        .or_else(|| dirs.as_ref().map(|d| d.data_local_dir().to_path_buf()))
        .unwrap_or_else(std::env::temp_dir)
}

/// The TUI's log: `termphone.log` in the log dir.
fn tui_log_path() -> PathBuf {
    log_dir().join("termphone.log")
}

/// The log of a phone started in the background: `phone.log` beside the
/// TUI's, so that each file has one writer that rotates it.
fn phone_log_path() -> PathBuf {
    log_dir().join("phone.log")
}

/// Logging to a rotating file at `path`, never to the screen. Returns the
/// file path.
fn init_file_tracing(path: &std::path::Path) -> Option<PathBuf> {
    let path = path.to_path_buf();
    // Rotates by size and keeps a few old files, all 0600 in a 0700 dir.
    use termphone::store::log_file::{RotatingLog, LOG_KEEP, LOG_MAX_BYTES};
    let file = RotatingLog::open(&path, LOG_MAX_BYTES, LOG_KEEP).ok()?;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false);
    tracing_subscriber::registry()
        .with(fmt)
        .with(log_filter())
        .try_init()
        .ok()?;
    Some(path)
}

/// The terminal interface, attached to the phone on the control socket.
/// `start`: when none answers, start one in the background (with this
/// config file) first; `None` (`termphone attach`): only attach.
async fn tui(config: Config, start: Option<Option<PathBuf>>) -> ExitCode {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "termphone: the terminal interface needs a terminal; use --headless to run without one"
        );
        return ExitCode::from(2);
    }
    let log = init_file_tracing(&tui_log_path());
    let path = config.control_path();
    let attached = match (Remote::attach(&path).await, start) {
        (Err(AttachError::Unreachable { .. }), Some(config_file)) => {
            let launch = Launch {
                exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("termphone")),
                config: config_file,
                control: path.clone(),
                log: phone_log_path(),
            };
            match tokio::task::spawn_blocking(move || launch.start()).await {
                Ok(Ok(pid)) => {
                    tracing::info!(pid, "started the phone in the background");
                    Remote::attach(&path).await
                }
                Ok(Err(e)) => {
                    eprintln!("termphone: {e}");
                    return ExitCode::from(1);
                }
                Err(e) => {
                    eprintln!("termphone: {e}");
                    return ExitCode::from(1);
                }
            }
        }
        (Err(AttachError::Unreachable { .. }), None) => {
            eprintln!(
                "termphone: no phone runs on {} (start one with `termphone` or `termphone --headless`)",
                path.display()
            );
            return ExitCode::from(2);
        }
        (attached, _) => attached,
    };
    let (remote, feed) = match attached {
        Ok(a) => a,
        Err(e) => {
            eprintln!("termphone: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = tokio::select! {
        r = termphone::ui::run(remote, feed, &config) => r,
        // SIGTERM, SIGINT or SIGHUP to the interface: it goes, the phone stays
        _ = termination() => Ok(Outcome::Detached),
        _ = hangup() => Ok(Outcome::Detached),
    };
    // Also when a signal dropped the interface mid-loop.
    ratatui::restore();
    match outcome {
        Ok(Outcome::Detached) => {
            tracing::info!("detached");
            // The terminal may be gone: a failed write is no error here.
            let _ = writeln!(
                std::io::stderr(),
                "termphone: detached; the phone and its calls go on (`termphone attach` returns, `termphone ctl quit` stops it)"
            );
            ExitCode::SUCCESS
        }
        Ok(Outcome::PhoneGone) => {
            if wait_gone(&path).await {
                tracing::info!("the phone has stopped");
            } else {
                let _ = writeln!(
                    std::io::stderr(),
                    "termphone: lost the connection to the phone; it still runs on {} (`termphone attach`)",
                    path.display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("termphone: terminal error: {e}");
            if let Some(log) = log {
                eprintln!("termphone: log in {}", log.display());
            }
            ExitCode::from(1)
        }
    }
}

/// After the phone closed our connection: waits (bounded) until it has
/// finished going away, so that whoever runs us next finds it gone. False
/// when it still answers (only our connection was lost).
async fn wait_gone(path: &std::path::Path) -> bool {
    let end = tokio::time::Instant::now() + QUIT_TIMEOUT;
    while tokio::net::UnixStream::connect(path).await.is_ok() || path.exists() {
        if tokio::time::Instant::now() >= end {
            tracing::warn!("the phone still answers on {}", path.display());
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// Starts the phone and (unless `optional_socket` and it fails) its control socket.
async fn start(
    config: Config,
    optional_socket: bool,
) -> Result<(PhoneHandle, Option<ControlServer>), ExitCode> {
    let control_path = config.control_path();
    if let Err(e) = ensure_not_running(&control_path).await {
        if !optional_socket {
            eprintln!("termphone: {e}");
            return Err(ExitCode::from(1));
        }
    }
    let phone = match PhoneHandle::start(config).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("termphone: {e:#}");
            return Err(ExitCode::from(1));
        }
    };
    let server = match serve(&control_path, phone.clone()).await {
        Ok(s) => Some(s),
        Err(e) if optional_socket => {
            tracing::warn!("no control socket: {e}");
            None
        }
        Err(e) => {
            eprintln!("termphone: {e}");
            stop(&phone).await;
            return Err(ExitCode::from(1));
        }
    };
    tracing::info!(
        sip = %phone.sip_addr(),
        control = %server.as_ref().map_or_else(|| "-".to_string(), |s| s.path().display().to_string()),
        "termphone is up"
    );
    Ok((phone, server))
}

/// Asks the phone to quit and waits (bounded) until it has.
async fn stop(phone: &PhoneHandle) {
    if let Err(e) = phone.execute(Command::Quit).await {
        tracing::warn!("quit: {e}");
    }
    if tokio::time::timeout(QUIT_TIMEOUT, phone.closed())
        .await
        .is_err()
    {
        tracing::warn!("the phone did not stop within {QUIT_TIMEOUT:?}");
    }
}

/// Resolves on the first SIGTERM or SIGINT.
async fn termination() {
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot install signal handlers; stop with `quit`");
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: stopping"),
        _ = int.recv() => tracing::info!("SIGINT: stopping"),
    }
}

/// Resolves on each SIGHUP (pending for ever when it cannot be caught).
async fn hangup() {
    match signal(SignalKind::hangup()) {
        Ok(mut hup) => {
            hup.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

/// Whether the phone has calls up (asked over its own command path).
async fn calls_up(phone: &PhoneHandle) -> bool {
    match phone.execute(Command::Status).await {
        Ok(v) => serde_json::from_value::<Status>(v).map_or(true, |s| !s.calls.is_empty()),
        Err(_) => false,
    }
}

/// The phone without an interface: until SIGTERM/SIGINT (calls ended with
/// BYE, accounts unregistered) or `quit`. A SIGHUP (its terminal went
/// away) stops it only while no call is up. `background`: started by
/// `termphone` to attach to; keeps its pid beside the control socket.
async fn headless(config: Config, background: bool) -> ExitCode {
    let control = config.control_path();
    let (phone, server) = match start(config, false).await {
        Ok(started) => started,
        Err(code) => return code,
    };
    let _pid = if background {
        match write_pid(&control) {
            Ok(pid) => Some(pid),
            Err(e) => {
                tracing::warn!("cannot write the pid file: {e}");
                None
            }
        }
    } else {
        None
    };
    loop {
        tokio::select! {
            _ = termination() => {
                stop(&phone).await;
                break;
            }
            _ = hangup() => {
                if calls_up(&phone).await {
                    tracing::info!("SIGHUP: calls are up, the phone stays");
                } else {
                    tracing::info!("SIGHUP: no call up, stopping");
                    stop(&phone).await;
                    break;
                }
            }
            _ = phone.closed() => {
                tracing::info!("the phone has stopped");
                break;
            }
        }
    }
    if let Some(server) = server {
        server.shutdown().await;
    }
    ExitCode::SUCCESS
}

async fn call(config: Config, uri: &str) -> ExitCode {
    let (phone, server) = match start(config, true).await {
        Ok(started) => started,
        Err(code) => return code,
    };
    let outcome = tokio::select! {
        r = call_until_ended(&phone, uri, |event| println!("{}", event_line(event))) => r,
        _ = termination() => Err(termphone::command::CommandError::new("interrupted", "stopped by a signal")),
    };
    stop(&phone).await;
    if let Some(server) = server {
        server.shutdown().await;
    }
    match outcome {
        Ok(call) if ended_normally(&call) => ExitCode::SUCCESS,
        Ok(call) => {
            eprintln!(
                "termphone: call {} {} ({})",
                call.id,
                if call.answered_at.is_some() {
                    "ended"
                } else {
                    "was not answered"
                },
                call.end_reason.as_deref().unwrap_or("no reason given")
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("termphone: {} ({})", e.message, e.code);
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("termphone").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn phone_options() {
        let cli = parse(&["--headless", "--config", "c.toml", "--control", "/r/c.sock"]);
        assert!(cli.headless);
        assert_eq!(cli.config, Some(PathBuf::from("c.toml")));
        assert_eq!(cli.control, Some(PathBuf::from("/r/c.sock")));
        assert!(cli.command.is_none());
    }

    #[test]
    fn ctl_takes_trailing_words_including_hyphens() {
        let cli = parse(&[
            "ctl",
            "--socket",
            "/s",
            "dtmf",
            "-1",
            "to=--x",
            "--not-an-option",
        ]);
        match cli.command {
            Some(Sub::Ctl { socket, words }) => {
                assert_eq!(socket, Some(PathBuf::from("/s")));
                assert_eq!(words, ["dtmf", "-1", "to=--x", "--not-an-option"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            Cli::try_parse_from(["termphone", "ctl"]).is_err(),
            "CMD is required"
        );
    }

    #[test]
    fn attach_and_the_background_phone() {
        let cli = parse(&["attach", "--control", "/r/c.sock"]);
        assert!(matches!(cli.command, Some(Sub::Attach)));
        assert_eq!(cli.control, Some(PathBuf::from("/r/c.sock")));
        let cli = parse(&[
            "--background",
            "--config",
            "/c.toml",
            "--control",
            "/r/c.sock",
        ]);
        assert!(cli.background && !cli.headless);
        assert!(
            Cli::try_parse_from(["termphone", "--background", "--headless"]).is_err(),
            "one or the other"
        );
        let launch = Launch {
            exe: "/bin/termphone".into(),
            config: Some("/c.toml".into()),
            control: "/r/c.sock".into(),
            log: "/l".into(),
        };
        let args: Vec<String> = launch
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        let cli = parse(&words);
        assert!(cli.background, "what termphone starts, the CLI takes");
        assert_eq!(cli.config, Some(PathBuf::from("/c.toml")));
    }

    #[test]
    fn call_with_config_after_the_uri() {
        let cli = parse(&["call", "sip:echo@127.0.0.1", "--config", "c.toml"]);
        assert_eq!(cli.config, Some(PathBuf::from("c.toml")));
        assert!(matches!(cli.command, Some(Sub::Call { uri }) if uri == "sip:echo@127.0.0.1"));
    }

    #[test]
    fn explicit_bad_config_is_an_error_with_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[phone]\ndnd = 3\n").unwrap();
        let err = load_config(Some(path.clone())).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}:2:7: ", path.display())),
            "{err}"
        );
    }
}
