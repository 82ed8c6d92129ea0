//! `lambdaship deploy`: puts a build's artifacts on AWS Lambda, or on any endpoint that
//! speaks the Lambda API (`lambdaship server`, an emulator), through the AWS SDK for Rust.
//!
//! Each step reads what is deployed first and writes only what differs: the execution
//! role, the dependency layer (published when its content changed), the configuration,
//! the code (sent when its SHA-256 differs from CodeSha256), a version and an alias, a
//! function URL and an HTTP API. A dry run does the reads and reports the writes.

mod clients;
mod ecr;
mod error;
mod function;
mod http_api;
mod image;
mod layer;
mod release;
pub mod remote;
pub mod report;
mod role;
mod trust;
mod upload;
mod url;
mod wait;

use lambdaship_build::{Artifact, ArtifactKind, BuildReport};
use lambdaship_project::{FunctionSpec, ImageRepository};

pub use clients::{Clients, Target};
pub use error::DeployError;
pub use report::{Change, DeployReport, FunctionReport};

/// Receives each step as it runs; the CLI prints it.
pub trait Progress: Sync {
    /// A step finished (or, in a dry run, was planned), e.g. `layer hello-layer: unchanged`.
    fn step(&self, line: &str);
}

/// Who may call a function URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlAuth {
    /// Anyone (AuthType NONE, with the two public permissions).
    Public,
    /// Callers signing with SigV4 whose policy allows it (AuthType AWS_IAM).
    Iam,
}

/// What to deploy besides the function itself.
#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    /// The execution role for every function, overriding `role` in the configuration.
    pub role: Option<String>,
    /// The bucket for code over the direct-upload limit, overriding `s3_bucket`.
    pub s3_bucket: Option<String>,
    /// The repository image functions are pushed to, overriding `image_repository`.
    pub image_repository: Option<ImageRepository>,
    /// Publish a version after the update.
    pub publish: bool,
    /// Point this alias at the published version (implies `publish`).
    pub alias: Option<String>,
    /// Create or update a function URL.
    pub url: Option<UrlAuth>,
    /// Create an API Gateway HTTP API in front of the function.
    pub http_api: bool,
    /// Read what is deployed and report the plan; write nothing.
    pub dry_run: bool,
}

/// Checks an alias name as Lambda does: 1-128 letters, digits, `-` or `_`, not all digits
/// (those are version numbers).
pub fn check_alias_name(alias: &str) -> Result<(), String> {
    let valid = !alias.is_empty()
        && alias.len() <= 128
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !alias.chars().all(|c| c.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{alias}` is not a valid alias name: use 1-128 letters, digits, `-` or `_`, not only digits"
        ))
    }
}

/// Checks an endpoint URL's scheme before the SDK is handed it.
pub fn check_endpoint_url(url: &str) -> Result<(), String> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(format!(
            "`{url}` is not an http:// or https:// URL (e.g. http://127.0.0.1:9001 for lambdaship server)"
        ))
    }
}

/// What each step can reach: the clients, the options, the progress.
pub(crate) struct Context<'a> {
    pub clients: &'a Clients,
    pub options: &'a DeployOptions,
    progress: &'a dyn Progress,
}

impl Context<'_> {
    /// A dry run: steps read and report, never write.
    pub fn dry_run(&self) -> bool {
        self.options.dry_run
    }

    /// Reports a step's outcome.
    pub fn tell(&self, what: &str, change: Change, detail: &str) {
        let detail = if detail.is_empty() {
            String::new()
        } else {
            format!(" {detail}")
        };
        self.progress
            .step(&format!("{what}: {}{detail}", change.word(self.dry_run())));
    }
}

/// The artifacts of one function in a build.
pub(crate) struct FunctionArtifacts<'a> {
    /// The function's code: the whole zip, the app archive of the layers layout, or the
    /// image.
    pub code: &'a Artifact,
    /// The layers lambdaship built for it (dependencies, or the web adapter).
    pub layers: Vec<&'a Artifact>,
}

impl FunctionArtifacts<'_> {
    /// Whether the code is a container image.
    fn is_image(&self) -> bool {
        self.code.kind == ArtifactKind::Image
    }
}

fn artifacts_of<'a>(
    report: &'a BuildReport,
    function: &str,
) -> Result<FunctionArtifacts<'a>, DeployError> {
    let mine = || report.artifacts.iter().filter(|a| a.function == function);
    let code = mine()
        .find(|a| {
            matches!(
                a.kind,
                ArtifactKind::Zip | ArtifactKind::App | ArtifactKind::Image
            )
        })
        .ok_or_else(|| {
            DeployError::Build(format!("the build wrote no code archive for `{function}`"))
        })?;
    Ok(FunctionArtifacts {
        code,
        layers: mine().filter(|a| a.kind == ArtifactKind::Layer).collect(),
    })
}

/// Deploys each function of `functions` from the artifacts in `build`.
pub async fn deploy(
    clients: &Clients,
    functions: &[&FunctionSpec],
    build: &BuildReport,
    options: &DeployOptions,
    progress: &dyn Progress,
) -> Result<DeployReport, DeployError> {
    let context = Context {
        clients,
        options,
        progress,
    };
    let mut reports = Vec::new();
    for spec in functions {
        let artifacts = artifacts_of(build, &spec.name)?;
        reports.push(deploy_function(&context, spec, &artifacts).await?);
    }
    Ok(DeployReport {
        destination: clients.destination(),
        region: clients.region.clone(),
        dry_run: options.dry_run,
        bytes_uploaded: reports.iter().map(FunctionReport::bytes_uploaded).sum(),
        functions: reports,
    })
}

async fn deploy_function(
    context: &Context<'_>,
    spec: &FunctionSpec,
    artifacts: &FunctionArtifacts<'_>,
) -> Result<FunctionReport, DeployError> {
    let package = if artifacts.is_image() {
        aws_sdk_lambda::types::PackageType::Image
    } else {
        aws_sdk_lambda::types::PackageType::Zip
    };
    let deployed = function::current(context, &spec.name, &package).await?;
    match deploy_steps(context, spec, artifacts, deployed).await {
        // Say what the failure left behind: which code runs, whether an update is stuck.
        Err(DeployError::Step {
            step,
            reason,
            function_state: None,
        }) if !context.dry_run() => Err(DeployError::Step {
            step,
            reason,
            function_state: Some(wait::describe_state(context, &spec.name).await),
        }),
        other => other,
    }
}

async fn deploy_steps(
    context: &Context<'_>,
    spec: &FunctionSpec,
    artifacts: &FunctionArtifacts<'_>,
    deployed: Option<function::Deployed>,
) -> Result<FunctionReport, DeployError> {
    // The image's registry first: it is where an endpoint without ECR fails, and before
    // a role is created.
    let image = match artifacts.is_image() {
        true => Some(image::prepare(context, spec, artifacts.code).await?),
        false => None,
    };
    let role = role::resolve(context, spec, deployed.as_ref()).await?;
    let mut layers = Vec::new();
    for artifact in &artifacts.layers {
        layers.push(layer::publish_if_changed(context, spec, artifact).await?);
    }
    let code = match &image {
        Some(image) => function::Code::Image(artifacts.code, image),
        None => function::Code::Archive(artifacts.code),
    };
    let outcome = function::upsert(context, spec, deployed, role.as_ref(), &layers, &code).await?;
    let mut report = FunctionReport {
        name: spec.name.clone(),
        arn: outcome.arn.clone(),
        role: role.map(|r| r.report),
        layers,
        code: outcome.code,
        configuration: outcome.configuration,
        version: None,
        alias: None,
        url: None,
        http_api: None,
    };
    let release = release::publish(context, spec, &report).await?;
    report.version = release.version;
    report.alias = release.alias;
    let qualifier = context.options.alias.clone();
    if let Some(auth) = context.options.url {
        report.url = Some(url::upsert(context, spec, qualifier.as_deref(), auth, &report).await?);
    }
    if context.options.http_api {
        report.http_api =
            Some(http_api::upsert(context, spec, qualifier.as_deref(), &report).await?);
    }
    Ok(report)
}

/// `CodeSha256` as Lambda reports it: the base64 of the SHA-256 the build gives in hex.
pub(crate) fn lambda_code_sha(artifact: &Artifact) -> String {
    use base64::Engine;
    let digest = hex::decode(&artifact.sha256).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// The ARN's fields: partition, region and account of a Lambda ARN.
pub(crate) struct ArnParts {
    pub partition: String,
    pub region: String,
    pub account: String,
}

/// Splits `arn:PARTITION:SERVICE:REGION:ACCOUNT:...`.
pub(crate) fn arn_parts(arn: &str) -> Option<ArnParts> {
    let mut parts = arn.split(':');
    if parts.next() != Some("arn") {
        return None;
    }
    let partition = parts.next()?.to_string();
    let _service = parts.next()?;
    Some(ArnParts {
        partition,
        region: parts.next()?.to_string(),
        account: parts.next()?.to_string(),
    })
}
