//! `lambdaship dev`: build, serve over HTTP as an AWS front would, rebuild on change.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use lambdaship_build::Progress;
use lambdaship_dev::{DevOptions, DevReport, DevServer};
use lambdaship_project::Api;
use lambdaship_runtime::default_region;

/// Arguments of `lambdaship dev`.
#[derive(Args)]
pub struct DevArgs {
    /// The project directory (pyproject.toml + uv.lock, or requirements.txt).
    #[arg(default_value = ".")]
    project_dir: PathBuf,
    /// The function to serve, when the project has several.
    #[arg(long, value_name = "NAME")]
    function: Option<String>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 picks a free one; the URL is printed).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// The AWS front to emulate [default: [tool.lambdaship.http] api, else rest].
    #[arg(long, value_name = "rest|http|url|alb")]
    api: Option<Api>,
    /// The stage [default: [tool.lambdaship.http] stage; REST `dev`, HTTP API `$default`].
    #[arg(long, value_name = "NAME")]
    stage: Option<String>,
    /// Most execution environments at once; beyond it requests are throttled.
    #[arg(long, default_value_t = 4, value_name = "N")]
    concurrency: usize,
    /// Do not print the function's logs.
    #[arg(long)]
    quiet: bool,
    /// Start every environment from a fresh interpreter, as Lambda does, instead of
    /// forking it from one that has imported the dependencies (a faster reload).
    #[arg(long)]
    no_zygote: bool,
}

/// Runs `dev` until Ctrl-C or SIGTERM.
pub fn run(args: DevArgs) -> ExitCode {
    crate::serve_until_stopped(serve(args), crate::Threads::One)
}

async fn serve(args: DevArgs) -> Result<(), String> {
    let options = DevOptions {
        project_dir: args.project_dir,
        function: args.function,
        host: args.host,
        port: args.port,
        api: args.api,
        stage: args.stage,
        concurrency: args.concurrency,
        echo_logs: !args.quiet,
        region: default_region(),
        zygote: !args.no_zygote,
    };
    let report = Arc::new(Lines);
    let server = DevServer::start(options, report)
        .await
        .map_err(|e| e.to_string())?;
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "lambdaship dev serving {} on {}",
            server.description, server.url
        );
        let _ = writeln!(out, "  watching for changes; Ctrl-C stops");
        let _ = out.flush();
    }
    crate::server::wait_for_signal().await;
    server.stop().await;
    Ok(())
}

/// News and warnings as plain lines (a spinner would interleave with the function's logs).
struct Lines;

impl Progress for Lines {
    fn step(&self, _message: &str) {}
    fn warn(&self, message: &str) {
        eprintln!("warning: {message}");
    }
}

impl DevReport for Lines {
    fn news(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}
