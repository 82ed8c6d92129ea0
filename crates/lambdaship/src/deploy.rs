//! `lambdaship deploy`: build, then bring AWS Lambda (or any Lambda API endpoint) to the
//! build, changing only what differs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use lambdaship_build::{BuildOptions, build};
use lambdaship_deploy::{Clients, DeployOptions, Target, UrlAuth};
use lambdaship_project::{ImageRepository, Overrides, Project};

use crate::progress;

/// Arguments of `lambdaship deploy`.
#[derive(Args)]
pub struct DeployArgs {
    /// The project directory (pyproject.toml + uv.lock, or requirements.txt).
    #[arg(default_value = ".")]
    project_dir: PathBuf,
    /// Deploy only this function of the project.
    #[arg(long, value_name = "NAME")]
    function: Option<String>,
    /// Send every call to this endpoint (e.g. `lambdaship server`) instead of AWS [default: AWS_ENDPOINT_URL].
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// The AWS region [default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region].
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// The profile in ~/.aws/config and ~/.aws/credentials [default: AWS_PROFILE, default].
    #[arg(long, value_name = "NAME")]
    profile: Option<String>,
    /// The execution role (ARN or name), overriding [tool.lambdaship] role [default: keep the deployed one, or create lambdaship-FUNCTION].
    #[arg(long, value_name = "ARN")]
    role: Option<String>,
    /// The S3 bucket for archives over 50 MB, overriding [tool.lambdaship] s3_bucket [default: lambdaship-ACCOUNT-REGION].
    #[arg(long, value_name = "BUCKET")]
    s3_bucket: Option<String>,
    /// Where image functions are pushed, overriding [tool.lambdaship] image_repository: an ECR repository name, or HOST[:PORT]/NAME on any registry [default: the ECR repository named after the function].
    #[arg(long, value_name = "NAME|HOST/NAME", value_parser = ImageRepository::parse)]
    image_repository: Option<ImageRepository>,
    /// Publish a version once deployed.
    #[arg(long)]
    publish: bool,
    /// Point this alias at the published version (implies --publish).
    #[arg(long, value_name = "NAME")]
    alias: Option<String>,
    /// Create or update a function URL: public (none) or SigV4-signed callers only (iam).
    #[arg(long, value_name = "none|iam", num_args = 0..=1, default_missing_value = "none")]
    url: Option<UrlArg>,
    /// Put an API Gateway HTTP API in front of the function.
    #[arg(long)]
    http_api: bool,
    /// Show what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print one JSON object describing the deploy instead of a summary.
    #[arg(long)]
    json: bool,
}

/// `--url`'s auth type.
#[derive(Clone, Copy, ValueEnum)]
pub enum UrlArg {
    /// AuthType NONE: anyone may call it.
    None,
    /// AuthType AWS_IAM: callers sign with SigV4.
    Iam,
}

/// Runs the command: exit status 0 when deployed, 2 with a message otherwise.
pub fn run(args: DeployArgs) -> ExitCode {
    match deploy(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Prints each step on stderr as it finishes.
struct StepLines;

impl lambdaship_deploy::Progress for StepLines {
    fn step(&self, line: &str) {
        eprintln!("  {line}");
    }
}

fn deploy(args: DeployArgs) -> Result<(), String> {
    check_arguments(&args)?;
    let project =
        Project::load(&args.project_dir, &Overrides::default()).map_err(|e| e.to_string())?;
    let functions = project
        .select(args.function.as_deref())
        .map_err(|e| e.to_string())?;
    let build_progress = progress::TerminalProgress::new(!args.json);
    let options = BuildOptions {
        function: args.function.clone(),
        ..BuildOptions::default()
    };
    let built = build(&project, &options, &build_progress);
    build_progress.finish();
    let built = built.map_err(|e| e.to_string())?;

    let target = Target {
        endpoint_url: args.endpoint_url.clone(),
        region: args.region.clone(),
        profile: args.profile.clone(),
    };
    let options = DeployOptions {
        role: args.role.clone(),
        s3_bucket: args.s3_bucket.clone(),
        image_repository: args.image_repository.clone(),
        publish: args.publish || args.alias.is_some(),
        alias: args.alias.clone(),
        url: args.url.map(|url| match url {
            UrlArg::None => UrlAuth::Public,
            UrlArg::Iam => UrlAuth::Iam,
        }),
        http_api: args.http_api,
        dry_run: args.dry_run,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let report = runtime
        .block_on(async {
            let clients = Clients::connect(&target).await?;
            if !args.json {
                eprintln!(
                    "{} to {}",
                    if args.dry_run {
                        "planning a deploy"
                    } else {
                        "deploying"
                    },
                    clients.destination()
                );
            }
            lambdaship_deploy::deploy(&clients, &functions, &built, &options, &StepLines).await
        })
        .map_err(|e| e.to_string())?;
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| format!("cannot render the report: {e}"))?;
        println!("{text}");
    } else {
        for line in report.summary() {
            println!("{line}");
        }
    }
    Ok(())
}

/// Refuses flag values Lambda or IAM would refuse, before anything is built.
fn check_arguments(args: &DeployArgs) -> Result<(), String> {
    if let Some(role) = &args.role {
        lambdaship_project::check_role(role).map_err(|e| format!("--role: {e}"))?;
    }
    if let Some(bucket) = &args.s3_bucket {
        lambdaship_project::check_bucket_name(bucket).map_err(|e| format!("--s3-bucket: {e}"))?;
    }
    if let Some(alias) = &args.alias {
        lambdaship_deploy::check_alias_name(alias).map_err(|e| format!("--alias: {e}"))?;
    }
    if let Some(url) = &args.endpoint_url {
        lambdaship_deploy::check_endpoint_url(url).map_err(|e| format!("--endpoint-url: {e}"))?;
    }
    Ok(())
}
