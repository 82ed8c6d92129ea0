//! A Lambda function definition, as the build and the later stages see it.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use crate::base_image::BaseImageSource;
use crate::http::HttpConfig;
use crate::image_repository::ImageRepository;
use crate::target::{Architecture, Layout, Runtime};
use crate::web::{WEB_HANDLER, WebApp};

/// One Lambda function of a project, with every setting resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    /// The Lambda function name.
    pub name: String,
    /// The handler, `module.function`.
    pub handler: Handler,
    /// The Python runtime.
    pub runtime: Runtime,
    /// The instruction set architecture.
    pub architecture: Architecture,
    /// Memory in MB (128-10240).
    pub memory_mb: u32,
    /// Timeout in seconds (1-900).
    pub timeout_s: u32,
    /// How the code is split into artifacts.
    pub layout: Layout,
    /// The base image of the `image` layout; unset, the AWS Python base image of the runtime
    /// ([`BaseImageSource::default_for`]).
    pub base_image: Option<BaseImageSource>,
    /// Paths, relative to the project directory, copied to the task root.
    pub include: Vec<String>,
    /// Glob patterns of archive paths left out of the artifacts.
    pub exclude: Vec<String>,
    /// The function's own environment variables.
    pub environment: BTreeMap<String, String>,
    /// Third-party packages that may be built from an sdist (normalized names).
    pub build_from_source: Vec<String>,
    /// Extra layer ARNs the function attaches besides the ones lambdaship builds.
    pub layers: Vec<String>,
    /// How `lambdaship dev` serves it over HTTP.
    pub http: HttpConfig,
    /// Set for a web app run behind the adapter (`web = "..."`) instead of `handler`.
    pub web: Option<WebApp>,
    /// The execution role `deploy` gives the function: an IAM role ARN or name; unset, deploy
    /// keeps the deployed function's role or creates one.
    pub role: Option<String>,
    /// The S3 bucket `deploy` uploads code over the direct-upload limit to.
    pub s3_bucket: Option<String>,
    /// The repository `deploy` pushes the `image` layout's image to; unset, the ECR
    /// repository named after the function.
    pub image_repository: Option<ImageRepository>,
}

impl FunctionSpec {
    /// The base image of the `image` layout: `base_image`, or the AWS Python base image for
    /// the function's runtime and architecture.
    pub fn base_image_source(&self) -> BaseImageSource {
        self.base_image
            .clone()
            .unwrap_or_else(|| BaseImageSource::default_for(self.runtime, self.architecture))
    }

    /// The function's `Handler` setting on Lambda: the handler, or for a web app the script
    /// the exec wrapper runs.
    pub fn lambda_handler(&self) -> String {
        match &self.web {
            Some(_) => WEB_HANDLER.to_string(),
            None => self.handler.to_string(),
        }
    }
}

/// A Lambda handler: the module to import and the function in it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Handler {
    module: String,
    function: String,
}

impl Handler {
    /// The dotted module path, e.g. `app.main`.
    pub fn module(&self) -> &str {
        &self.module
    }

    /// The function (attribute) name, e.g. `handler`.
    pub fn function(&self) -> &str {
        &self.function
    }

    /// The module's top-level package or module name, e.g. `app`.
    pub fn top_level(&self) -> &str {
        self.module.split('.').next().unwrap_or(&self.module)
    }

    /// The files that could hold the module, relative to an import root, e.g.
    /// `app/main.py` and `app/main/__init__.py`.
    pub fn module_file_candidates(&self) -> Vec<String> {
        let base = self.module.replace('.', "/");
        vec![format!("{base}.py"), format!("{base}/__init__.py")]
    }
}

impl fmt::Display for Handler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.module, self.function)
    }
}

fn is_identifier(part: &str) -> bool {
    let mut chars = part.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

impl FromStr for Handler {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let invalid = || {
            format!(
                "invalid handler `{value}`: expected `module.function`, e.g. `app.main.handler`"
            )
        };
        let (module, function) = value.rsplit_once('.').ok_or_else(invalid)?;
        if !module.split('.').all(is_identifier) || !is_identifier(function) {
            return Err(invalid());
        }
        Ok(Handler {
            module: module.to_string(),
            function: function.to_string(),
        })
    }
}

impl TryFrom<String> for Handler {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

/// Memory size in MB, checked against Lambda's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Memory(pub u32);

impl TryFrom<i64> for Memory {
    type Error = String;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        match u32::try_from(value) {
            Ok(mb @ 128..=10240) => Ok(Memory(mb)),
            _ => Err(format!(
                "memory {value} MB is out of range: Lambda allows 128 to 10240 MB"
            )),
        }
    }
}

/// Timeout in seconds, checked against Lambda's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Timeout(pub u32);

impl TryFrom<i64> for Timeout {
    type Error = String;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        match u32::try_from(value) {
            Ok(s @ 1..=900) => Ok(Timeout(s)),
            _ => Err(format!(
                "timeout {value} s is out of range: Lambda allows 1 to 900 seconds"
            )),
        }
    }
}

/// Checks a Lambda function name: 1-64 letters, digits, `-` or `_`.
pub fn check_function_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid Lambda function name: use 1-64 letters, digits, `-` or `_`"
        ))
    }
}

/// Checks a `role` setting: an IAM role ARN (`arn:PARTITION:iam::ACCOUNT:role/NAME`) or a
/// role name (1-64 of letters, digits and `+=,.@_-`).
pub fn check_role(role: &str) -> Result<(), String> {
    let name = match role.strip_prefix("arn:") {
        Some(rest) => {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let well_formed = parts.len() == 5
                && parts[0].starts_with("aws")
                && parts[1] == "iam"
                && parts[2].is_empty()
                && parts[3].len() == 12
                && parts[3].chars().all(|c| c.is_ascii_digit())
                && parts[4].starts_with("role/");
            if !well_formed {
                return Err(format!(
                    "`{role}` is not an IAM role ARN: write `arn:aws:iam::123456789012:role/NAME`, or just the role name"
                ));
            }
            parts[4].rsplit('/').next().unwrap_or_default()
        }
        None => role,
    };
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid IAM role name: use 1-64 letters, digits or `+=,.@_-`"
        ))
    }
}

/// Checks an `s3_bucket` setting against S3's bucket naming rules.
pub fn check_bucket_name(bucket: &str) -> Result<(), String> {
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !bucket.contains("..");
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{bucket}` is not a valid S3 bucket name: use 3-63 lowercase letters, digits, `.` and `-`, starting and ending with a letter or digit"
        ))
    }
}

/// A valid function name made from a project or directory name: other characters become
/// `-`, and the result is cut to 64 characters.
pub fn sanitize_function_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed: String = cleaned.trim_matches('-').chars().take(64).collect();
    if trimmed.is_empty() {
        "function".to_string()
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_splits_module_and_function() {
        let handler: Handler = "app.main.handler".parse().expect("valid handler");
        assert_eq!(handler.module(), "app.main");
        assert_eq!(handler.function(), "handler");
        assert_eq!(handler.top_level(), "app");
        assert_eq!(
            handler.module_file_candidates(),
            ["app/main.py", "app/main/__init__.py"]
        );
    }

    #[test]
    fn bad_handlers_are_rejected() {
        for bad in ["handler", "app.", ".handler", "app/main.handler", "1app.h"] {
            assert!(bad.parse::<Handler>().is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_are_checked() {
        assert!(Memory::try_from(64).is_err());
        assert!(Memory::try_from(10240).is_ok());
        assert!(Timeout::try_from(0).is_err());
        assert!(Timeout::try_from(901).is_err());
        assert!(check_function_name("hello-fastapi").is_ok());
        assert!(check_function_name("my.app").is_err());
        assert_eq!(sanitize_function_name(".tmp.x1"), "tmp-x1");
    }
}
