//! The `lambdaship` command: parses arguments, calls the library crates, renders results.

mod deploy;
mod dev;
mod invoke;
mod progress;
mod push;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use lambdaship_build::{BuildOptions, BuildReport, Pushed, build, push_image};
use lambdaship_image::Reference;
use lambdaship_project::{Architecture, BaseImageSource, Layout, Overrides, Project, Runtime};

/// Build, run and deploy Python on AWS Lambda.
#[derive(Parser)]
#[command(name = "lambdaship", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a project into Lambda zip or layer + app archives, or a container image.
    Build(BuildArgs),
    /// Build if needed, then run one event through a fresh local execution environment.
    Invoke(invoke::InvokeArgs),
    /// Build, then serve the function over HTTP as API Gateway, a Function URL or an ALB would, rebuilding on change.
    Dev(dev::DevArgs),
    /// Serve a local AWS Lambda API (aws CLI, boto3, SDKs via --endpoint-url) that runs functions here.
    Server(server::ServerArgs),
    /// Build, then create or update the functions on AWS Lambda (or any Lambda API endpoint), changing only what differs.
    Deploy(deploy::DeployArgs),
}

#[derive(Args)]
struct BuildArgs {
    /// The project directory (pyproject.toml + uv.lock, or requirements.txt).
    #[arg(default_value = ".")]
    project_dir: PathBuf,
    /// Build only this function.
    #[arg(long, value_name = "NAME")]
    function: Option<String>,
    /// The Python runtime, overriding [tool.lambdaship] runtime.
    #[arg(long, value_name = "python3.X")]
    runtime: Option<Runtime>,
    /// The architecture, overriding [tool.lambdaship] architecture.
    #[arg(long, value_name = "x86_64|arm64")]
    arch: Option<Architecture>,
    /// The artifact layout, overriding [tool.lambdaship] layout.
    #[arg(long, value_name = "zip|layers|image")]
    layout: Option<Layout>,
    /// The base image of the image layout, overriding [tool.lambdaship] base_image: an OCI
    /// image layout directory, a docker-archive tar, or a registry reference.
    #[arg(long, value_name = "PATH|REFERENCE", value_parser = parse_base_image)]
    base_image: Option<BaseImageSource>,
    /// With the image layout, also write each image as a docker-archive tar (`docker load`).
    #[arg(long)]
    docker_archive: bool,
    /// Push the image built to this registry reference (`host[:port]/name:tag`); only the
    /// blobs the registry lacks are uploaded. Credentials from ~/.docker/config.json.
    #[arg(long, value_name = "REFERENCE", value_parser = push::parse_push_reference)]
    push: Option<Reference>,
    /// Ask the registry for a base image's tag again instead of reusing the digest it
    /// resolved to before.
    #[arg(long)]
    pull: bool,
    /// The output directory [default: PROJECT_DIR/dist/lambda].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Build without bytecode.
    #[arg(long)]
    no_bytecode: bool,
    /// Print one JSON object describing the artifacts instead of a summary.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Build(args) => run_build(args),
        Command::Invoke(args) => invoke::run(args),
        Command::Dev(args) => dev::run(args),
        Command::Server(args) => server::run(args),
        Command::Deploy(args) => deploy::run(args),
    }
}

/// The threads a long-lived command's async tasks run on.
#[derive(Clone, Copy)]
enum Threads {
    /// All on the command's own thread: no wake-up crosses threads on a request's path, and
    /// the functions' work runs in their own processes (`dev`, one developer's requests).
    One,
    /// One worker per CPU (`server`, many clients and functions at once).
    PerCpu,
}

/// Runs a long-lived command (`dev`, `server`) on an async runtime: exit status 0 when it
/// ends well, 2 with its message otherwise.
fn serve_until_stopped(
    command: impl std::future::Future<Output = Result<(), String>>,
    threads: Threads,
) -> ExitCode {
    let mut builder = match threads {
        Threads::One => tokio::runtime::Builder::new_current_thread(),
        Threads::PerCpu => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run_build(args: BuildArgs) -> ExitCode {
    let progress = progress::TerminalProgress::new(!args.json);
    let overrides = Overrides {
        runtime: args.runtime,
        architecture: args.arch,
        layout: args.layout,
        base_image: args.base_image,
    };
    let options = BuildOptions {
        function: args.function,
        out_dir: args.out,
        no_bytecode: args.no_bytecode,
        cache_dir: None,
        docker_archive: args.docker_archive,
        pull: args.pull,
    };
    let project = match Project::load(&args.project_dir, &overrides) {
        Ok(project) => project,
        Err(error) => {
            progress.finish();
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = build(&project, &options, &progress);
    progress.finish();
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let pushed = match &args.push {
        Some(reference) => {
            if !args.json {
                eprintln!("Pushing to {reference}");
            }
            match push_image(&project, &report, reference) {
                Ok(pushed) => Some(pushed),
                Err(error) => {
                    eprintln!("error: {error}");
                    return ExitCode::FAILURE;
                }
            }
        }
        None => None,
    };
    if args.json {
        return print_json(&report, pushed.as_ref());
    }
    print_summary(&report);
    if let Some(pushed) = pushed {
        println!(
            "pushed {}@{}  {} blobs uploaded ({:.1} MB), {} already there",
            pushed.reference,
            pushed.digest,
            pushed.uploaded,
            pushed.bytes_sent as f64 / 1_048_576.0,
            pushed.skipped
        );
    }
    ExitCode::SUCCESS
}

fn print_json(report: &BuildReport, pushed: Option<&Pushed>) -> ExitCode {
    let mut value = match serde_json::to_value(report) {
        Ok(value) => value,
        Err(error) => {
            eprintln!("error: cannot render the report: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let (Some(pushed), Some(object)) = (pushed, value.as_object_mut()) {
        object.insert(
            "pushed".to_string(),
            serde_json::to_value(pushed).unwrap_or_default(),
        );
    }
    match serde_json::to_string_pretty(&value) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: cannot render the report: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `--base-image`: relative paths start where the command runs.
fn parse_base_image(value: &str) -> Result<BaseImageSource, String> {
    let here =
        std::env::current_dir().map_err(|e| format!("cannot read the current directory: {e}"))?;
    BaseImageSource::parse(value, &here)
}

fn print_summary(report: &BuildReport) {
    for artifact in &report.artifacts {
        if let Some(digest) = &artifact.digest {
            println!(
                "image  {}  {:.1} MB in blobs, {:.1} MB of files added  {digest}",
                artifact.path.display(),
                artifact.size as f64 / 1_048_576.0,
                artifact.unzipped_size as f64 / 1_048_576.0,
            );
            if let Some(tar) = &artifact.docker_archive {
                println!("       {} (docker load -i)", tar.display());
            }
            continue;
        }
        println!(
            "{:<6} {}  {:.1} MB zipped, {:.1} MB unzipped  sha256 {}",
            format!("{:?}", artifact.kind).to_lowercase(),
            artifact.path.display(),
            artifact.size as f64 / 1_048_576.0,
            artifact.unzipped_size as f64 / 1_048_576.0,
            &artifact.sha256[..16],
        );
    }
}
