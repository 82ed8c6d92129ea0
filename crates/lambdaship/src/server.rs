//! `lambdaship server`: the local Lambda API on a port, until interrupted.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use lambdaship_runtime::{DEFAULT_ACCOUNT_ID, PoolOptions, default_region};
use lambdaship_service::names::Partition;
use lambdaship_service::{Service, ServiceOptions};

/// Arguments of `lambdaship server`.
#[derive(Args)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 picks a free one; the address is printed).
    #[arg(long, default_value_t = 9001)]
    port: u16,
    /// State directory (functions, layers, code, logs) [default: ~/.local/state/lambdaship/server].
    #[arg(long, value_name = "DIR")]
    state: Option<PathBuf>,
    /// Most execution environments per function; beyond it invocations are throttled (429).
    #[arg(long, default_value_t = 32, value_name = "N")]
    concurrency: usize,
    /// How long an idle environment stays warm.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    keep_alive: Duration,
    /// Waits before the second and third attempts of a failed asynchronous invocation.
    #[arg(long, default_value = "1m,2m", value_delimiter = ',', value_parser = humantime::parse_duration, value_name = "DURATIONS")]
    retry_delays: Vec<Duration>,
    /// Region in ARNs and AWS_REGION [default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1].
    #[arg(long)]
    region: Option<String>,
    /// Run environments in their own mount namespace with Lambda's paths.
    #[arg(long)]
    isolate: bool,
    /// Do not print function logs (they are still written under the state directory).
    #[arg(long)]
    quiet: bool,
}

/// Runs the server until Ctrl-C or SIGTERM.
pub fn run(args: ServerArgs) -> ExitCode {
    crate::serve_until_stopped(serve(args), crate::Threads::PerCpu)
}

async fn serve(args: ServerArgs) -> Result<(), String> {
    let state_dir = args.state.clone().unwrap_or_else(default_state_dir);
    let cache = lambdaship_build::Cache::open(&lambdaship_build::Cache::default_root())
        .map_err(|e| e.to_string())?;
    let options = ServiceOptions {
        state_dir: state_dir.clone(),
        cache,
        pool: PoolOptions {
            concurrency: args.concurrency.max(1),
            keep_alive: args.keep_alive,
            isolate: args.isolate,
            ..PoolOptions::default()
        },
        partition: Partition {
            region: args.region.clone().unwrap_or_else(default_region),
            account: DEFAULT_ACCOUNT_ID.to_string(),
        },
        echo_logs: !args.quiet,
        retry_delays: args.retry_delays.clone(),
        credentials: url_credentials(),
    };
    let service = Service::open(options).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .map_err(|e| {
            format!(
                "cannot listen on {}:{}: {e} (pass another --port, or --port 0 for a free one)",
                args.host, args.port
            )
        })?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "lambdaship server listening on http://{address} (state: {})",
            state_dir.display()
        );
        let _ = writeln!(
            out,
            "  try: aws lambda list-functions --endpoint-url http://{address}"
        );
        let _ = out.flush();
    }
    let served = tokio::spawn(service.clone().serve(listener));
    wait_for_signal().await;
    served.abort();
    service.shutdown().await;
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The credentials AWS_IAM Function URLs accept: the ones this process was given, as the
/// aws CLI and boto3 on this machine will sign with them.
fn url_credentials() -> Vec<lambdaship_sigv4::Credentials> {
    match (
        std::env::var("AWS_ACCESS_KEY_ID"),
        std::env::var("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Ok(access_key_id), Ok(secret_access_key)) if !access_key_id.is_empty() => {
            vec![lambdaship_sigv4::Credentials {
                access_key_id,
                secret_access_key,
            }]
        }
        _ => Vec::new(),
    }
}

/// `$XDG_STATE_HOME/lambdaship/server`, else `~/.local/state/lambdaship/server`.
fn default_state_dir() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local").join("state"))
        })
        .unwrap_or_else(|| PathBuf::from(".lambdaship-state"));
    base.join("lambdaship").join("server")
}
