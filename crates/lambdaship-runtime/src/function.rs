//! The function an environment runs: its configuration, as Lambda stores it.

use std::collections::BTreeMap;
use std::time::Duration;

use lambdaship_project::{Architecture, Runtime};

/// Which runtime starts the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeKind {
    /// A managed Python runtime: awslambdaric under the matching interpreter.
    Python(Runtime),
    /// `provided.al2` or `provided.al2023`: the archive's `bootstrap` executable.
    Provided {
        /// `true` for `provided.al2023`.
        al2023: bool,
    },
}

impl RuntimeKind {
    /// Parses a Lambda runtime identifier such as `python3.12` or `provided.al2023`.
    pub fn parse(name: &str) -> Option<RuntimeKind> {
        match name {
            "provided.al2" => Some(RuntimeKind::Provided { al2023: false }),
            "provided.al2023" => Some(RuntimeKind::Provided { al2023: true }),
            other => other.parse().ok().map(RuntimeKind::Python),
        }
    }

    /// The Lambda runtime identifier.
    pub fn name(self) -> String {
        match self {
            RuntimeKind::Python(runtime) => runtime.to_string(),
            RuntimeKind::Provided { al2023: true } => "provided.al2023".to_string(),
            RuntimeKind::Provided { al2023: false } => "provided.al2".to_string(),
        }
    }
}

/// A function's configuration, everything an execution environment needs besides its code.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    /// Function name.
    pub name: String,
    /// `$LATEST` or a published version number.
    pub version: String,
    /// Handler, e.g. `app.main.handler` (the `_HANDLER` variable). An image function's
    /// handler is its image's command instead (see [`crate::LocalRuntime::prepare`]).
    pub handler: String,
    /// The runtime; for an image function, the one used when the image does not say.
    pub runtime: RuntimeKind,
    /// Instruction set the code was built for.
    pub architecture: Architecture,
    /// Memory size, MB: the environment is killed above it.
    pub memory_mb: u32,
    /// The invoke phase's bound.
    pub timeout: Duration,
    /// The function's own environment variables.
    pub environment: BTreeMap<String, String>,
    /// Region reported in `AWS_REGION` and in ARNs.
    pub region: String,
    /// Account id in ARNs.
    pub account_id: String,
}

impl FunctionConfig {
    /// The ARN a caller invoked: with the qualifier when one was given.
    pub fn invoked_arn(&self, qualifier: Option<&str>) -> String {
        let base = format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.region, self.account_id, self.name
        );
        match qualifier {
            Some(qualifier) => format!("{base}:{qualifier}"),
            None => base,
        }
    }

    /// The function's log group, `/aws/lambda/NAME`.
    pub fn log_group(&self) -> String {
        format!("/aws/lambda/{}", self.name)
    }
}

impl FunctionConfig {
    /// The configuration of a function of a lambdaship project, as `$LATEST`.
    pub fn from_spec(spec: &lambdaship_project::FunctionSpec, region: &str) -> FunctionConfig {
        FunctionConfig {
            name: spec.name.clone(),
            version: "$LATEST".to_string(),
            handler: spec.lambda_handler(),
            runtime: RuntimeKind::Python(spec.runtime),
            architecture: spec.architecture,
            memory_mb: spec.memory_mb,
            timeout: Duration::from_secs(u64::from(spec.timeout_s)),
            environment: spec.environment.clone(),
            region: region.to_string(),
            account_id: DEFAULT_ACCOUNT_ID.to_string(),
        }
    }
}

/// The account id local functions report in their ARNs.
pub const DEFAULT_ACCOUNT_ID: &str = "000000000000";

/// The region local functions run in when none is configured: `AWS_REGION`, then
/// `AWS_DEFAULT_REGION`, then `us-east-1`.
pub fn default_region() -> String {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|key| std::env::var(key).ok().filter(|value| !value.is_empty()))
        .unwrap_or_else(|| "us-east-1".to_string())
}
