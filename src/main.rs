//! The `termphone` binary: CLI (docs/control.md "Running").
//!
//! `termphone [--config FILE] [--control PATH] [--headless]` runs the phone
//! and its control socket, with the terminal interface unless `--headless`
//! (logs then go to a file: the terminal is the screen); `termphone ctl` talks to a running one;
//! `termphone call URI` places one call and exits with its outcome.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use termphone::command::Command;
use termphone::config::Config;
use termphone::control::client::{call_until_ended, ended_normally, run_ctl};
use termphone::control::protocol::event_line;
use termphone::control::server::{ensure_not_running, serve, ControlServer};
use termphone::phone::PhoneHandle;
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
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// Send one command to a running termphone and print the JSON reply.
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
    if let Some(Sub::Ctl { socket, words }) = cli.command {
        let code = run_ctl(socket.or(cli.control), cli.config, words).await;
        return ExitCode::from(u8::try_from(code).unwrap_or(2));
    }
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
        _ if cli.headless => {
            init_tracing();
            headless(config).await
        }
        _ => tui(config).await,
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

/// Where the TUI logs: `$XDG_STATE_HOME/termphone/termphone.log` (else the
/// data dir, else the temp dir).
fn tui_log_path() -> PathBuf {
    let dirs = directories::ProjectDirs::from("", "", "termphone");
    let dir = dirs
        .as_ref()
        .and_then(|d| d.state_dir().map(std::path::Path::to_path_buf))
        .or_else(|| dirs.as_ref().map(|d| d.data_local_dir().to_path_buf()))
        .unwrap_or_else(std::env::temp_dir);
    dir.join("termphone.log")
}

/// Logging for the TUI: to a rotating file, never to the screen. Returns
/// the file path.
fn init_file_tracing() -> Option<PathBuf> {
    let path = tui_log_path();
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

/// The terminal interface over the same phone and control socket as headless.
async fn tui(config: Config) -> ExitCode {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "termphone: the terminal interface needs a terminal; use --headless to run without one"
        );
        return ExitCode::from(2);
    }
    let log = init_file_tracing();
    let (phone, server) = match start(config.clone(), false).await {
        Ok(started) => started,
        Err(code) => return code,
    };
    let outcome = tokio::select! {
        r = termphone::ui::run(phone.clone(), &config) => r,
        _ = termination() => Ok(()),
    };
    // Also when a signal dropped the interface mid-loop.
    ratatui::restore();
    tracing::info!("interface closed");
    stop(&phone).await;
    tracing::info!("phone stopped");
    if let Some(server) = server {
        server.shutdown().await;
    }
    tracing::info!("control socket closed");
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("termphone: terminal error: {e}");
            if let Some(log) = log {
                eprintln!("termphone: log in {}", log.display());
            }
            ExitCode::from(1)
        }
    }
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

async fn headless(config: Config) -> ExitCode {
    let (phone, server) = match start(config, false).await {
        Ok(started) => started,
        Err(code) => return code,
    };
    tokio::select! {
        _ = termination() => stop(&phone).await,
        _ = phone.closed() => tracing::info!("the phone has stopped"),
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
    use clap::CommandFactory;

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
