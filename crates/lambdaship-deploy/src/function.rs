//! The function itself: created with its code and settings, or updated where the deployed
//! configuration or CodeSha256 differs, waiting for Lambda between the two updates.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, Environment, FunctionCode, PackageType, Runtime};
use lambdaship_build::Artifact;
use lambdaship_project::FunctionSpec;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error::{DeployError, code_of, step_failed};
use crate::image::{self, ImageCode};
use crate::report::{Change, CodeReport, ConfigurationReport, LayerReport};
use crate::role::RoleChoice;
use crate::upload::{self, CodeSource, Prepared};
use crate::{Context, lambda_code_sha, wait};

/// The deployed function's configuration.
pub(crate) type Deployed = GetFunctionConfigurationOutput;

/// How long a new role may take to become usable by Lambda (IAM propagates in seconds,
/// occasionally more).
const ROLE_PROPAGATION: Duration = Duration::from_secs(90);

/// The function as deployed, or `None` when it does not exist. Refuses a function of
/// another package type than `package`: Lambda cannot change it, and the update would fail
/// half-way.
pub(crate) async fn current(
    context: &Context<'_>,
    name: &str,
    package: &PackageType,
) -> Result<Option<Deployed>, DeployError> {
    let answer = context
        .clients
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await;
    let deployed = match answer {
        Ok(deployed) => deployed,
        Err(error) if code_of(&error) == Some("ResourceNotFoundException") => return Ok(None),
        Err(error) => {
            return Err(step_failed(
                format!("looking up the function `{name}`"),
                "lambda:GetFunctionConfiguration",
                &error,
            ));
        }
    };
    let deployed_package = deployed.package_type().unwrap_or(&PackageType::Zip);
    if deployed_package != package {
        let built = match package {
            PackageType::Image => "a container image (layout = \"image\")",
            _ => "a zip",
        };
        return Err(DeployError::Refused(format!(
            "the function `{name}` exists with package type {} and this build is {built}: Lambda cannot change a function's package type; delete it (aws lambda delete-function --function-name {name}) or deploy under another name",
            deployed_package.as_str()
        )));
    }
    Ok(Some(deployed))
}

/// What the function step did.
pub(crate) struct Outcome {
    /// The function ARN (absent in a dry run that would create it).
    pub arn: Option<String>,
    /// The code.
    pub code: CodeReport,
    /// The configuration.
    pub configuration: ConfigurationReport,
}

/// The code to deploy.
pub(crate) enum Code<'a> {
    /// A zip: the function's archive, or the app archive of the layers layout.
    Archive(&'a Artifact),
    /// A container image, already opened and its repository settled.
    Image(&'a Artifact, &'a ImageCode),
}

impl Code<'_> {
    fn artifact(&self) -> &Artifact {
        match self {
            Code::Archive(artifact) | Code::Image(artifact, _) => artifact,
        }
    }

    fn is_image(&self) -> bool {
        matches!(self, Code::Image(..))
    }

    /// The report of code sent now (or, in a dry run, to be sent).
    fn report(
        &self,
        change: Change,
        bytes_uploaded: u64,
        s3_location: Option<String>,
    ) -> CodeReport {
        match self {
            Code::Archive(artifact) => CodeReport {
                change,
                code_sha256: lambda_code_sha(artifact),
                bytes_uploaded,
                s3_location,
                image_uri: None,
            },
            Code::Image(_, image) => CodeReport {
                change,
                code_sha256: image.digest_hex.clone(),
                bytes_uploaded,
                s3_location: None,
                image_uri: Some(image.uri.clone()),
            },
        }
    }
}

/// The settings lambdaship manages, as Lambda names and holds them.
struct Settings {
    /// An image function: its handler and runtime are the image's, and it has no layers.
    image: bool,
    handler: String,
    runtime: String,
    memory: i32,
    timeout: i32,
    environment: BTreeMap<String, String>,
    /// Absent when a dry run would publish a layer: its ARN is not known yet.
    layers: Option<Vec<String>>,
    architecture: String,
    role: Option<String>,
}

impl Settings {
    fn of(
        spec: &FunctionSpec,
        role: Option<&RoleChoice>,
        layers: &[LayerReport],
        image: bool,
    ) -> Settings {
        let built: Option<Vec<String>> = layers.iter().map(|l| l.arn.clone()).collect();
        Settings {
            image,
            handler: spec.lambda_handler(),
            runtime: spec.runtime.to_string(),
            memory: i32::try_from(spec.memory_mb).unwrap_or(i32::MAX),
            timeout: i32::try_from(spec.timeout_s).unwrap_or(i32::MAX),
            environment: spec.environment.clone(),
            layers: built.map(|mut arns| {
                arns.extend(spec.layers.iter().cloned());
                arns
            }),
            architecture: spec.architecture.to_string(),
            role: role.and_then(|r| r.arn.clone()),
        }
    }

    /// The configuration fields that differ from `deployed` (architecture is code's).
    fn differences(&self, deployed: &Deployed) -> Vec<String> {
        let mut fields = Vec::new();
        let mut differs = |field: &str, different: bool| {
            if different {
                fields.push(field.to_string());
            }
        };
        if !self.image {
            differs("Handler", deployed.handler() != Some(self.handler.as_str()));
            differs(
                "Runtime",
                deployed.runtime().map(Runtime::as_str) != Some(self.runtime.as_str()),
            );
        }
        differs("MemorySize", deployed.memory_size() != Some(self.memory));
        differs("Timeout", deployed.timeout() != Some(self.timeout));
        let environment: BTreeMap<String, String> = deployed
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        differs("Environment", environment != self.environment);
        if !self.image {
            let layers: Vec<&str> = deployed.layers().iter().filter_map(|l| l.arn()).collect();
            differs(
                "Layers",
                self.layers
                    .as_ref()
                    .is_none_or(|want| want.iter().map(String::as_str).ne(layers.iter().copied())),
            );
        }
        if let Some(role) = &self.role {
            differs("Role", deployed.role() != Some(role.as_str()));
        }
        fields
    }

    /// The fields a new function gets.
    fn all_fields(&self) -> Vec<String> {
        let zip_only = ["Handler", "Runtime", "Layers"];
        [
            "Handler",
            "Runtime",
            "MemorySize",
            "Timeout",
            "Environment",
            "Layers",
            "Role",
        ]
        .into_iter()
        .filter(|field| !(self.image && zip_only.contains(field)))
        .map(String::from)
        .collect()
    }

    fn environment(&self) -> Environment {
        Environment::builder()
            .set_variables(Some(self.environment.clone().into_iter().collect()))
            .build()
    }
}

/// Creates the function, or updates what differs.
pub(crate) async fn upsert(
    context: &Context<'_>,
    spec: &FunctionSpec,
    deployed: Option<Deployed>,
    role: Option<&RoleChoice>,
    layers: &[LayerReport],
    code: &Code<'_>,
) -> Result<Outcome, DeployError> {
    let settings = Settings::of(spec, role, layers, code.is_image());
    match deployed {
        None => create(context, spec, &settings, role, code).await,
        Some(_) => update(context, spec, &settings, code).await,
    }
}

async fn create(
    context: &Context<'_>,
    spec: &FunctionSpec,
    settings: &Settings,
    role: Option<&RoleChoice>,
    code: &Code<'_>,
) -> Result<Outcome, DeployError> {
    let name = &spec.name;
    let prepared = send_code(context, spec, code).await?;
    let code_report =
        |sent: &SentCode| code.report(Change::Created, sent.bytes_uploaded(), sent.s3_location());
    let all_fields = settings.all_fields();
    if context.dry_run() {
        context.tell(&format!("function {name}"), Change::Created, "");
        return Ok(Outcome {
            arn: None,
            code: code_report(&prepared),
            configuration: ConfigurationReport {
                change: Change::Created,
                fields: all_fields,
            },
        });
    }
    let role_arn = settings.role.clone().ok_or_else(|| {
        DeployError::Refused(format!("no execution role for the new function `{name}`"))
    })?;
    let started = Instant::now();
    let mut pause = Duration::from_secs(1);
    let created = loop {
        let source = match &prepared {
            SentCode::Archive(Prepared {
                source: CodeSource::Zip(bytes),
                ..
            }) => FunctionCode::builder().zip_file(Blob::new(bytes.clone())),
            SentCode::Archive(Prepared {
                source: CodeSource::S3 { bucket, key },
                ..
            }) => FunctionCode::builder().s3_bucket(bucket).s3_key(key),
            SentCode::Image { uri, .. } => FunctionCode::builder().image_uri(uri),
        }
        .build();
        let request = context
            .clients
            .lambda
            .create_function()
            .function_name(name)
            .role(&role_arn)
            .memory_size(settings.memory)
            .timeout(settings.timeout)
            .environment(settings.environment())
            .architectures(Architecture::from(settings.architecture.as_str()))
            .code(source);
        // An image carries its runtime and handler (Cmd), and Lambda refuses layers on it.
        let request = if settings.image {
            request.package_type(PackageType::Image)
        } else {
            request
                .package_type(PackageType::Zip)
                .runtime(Runtime::from(settings.runtime.as_str()))
                .handler(&settings.handler)
                .set_layers(settings.layers.clone())
        };
        let answer = request.send().await;
        match answer {
            Ok(created) => break created,
            // A role IAM has just created is not assumable everywhere at once.
            Err(error)
                if role.is_some_and(|r| r.created_now)
                    && role_not_ready(&error)
                    && started.elapsed() < ROLE_PROPAGATION =>
            {
                context
                    .progress
                    .step(&format!("waiting for IAM to propagate the role {role_arn}"));
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(10));
            }
            Err(error) if role_not_ready(&error) => {
                return Err(DeployError::Refused(format!(
                    "Lambda cannot assume the role {role_arn}: its trust policy must allow the service lambda.amazonaws.com to call sts:AssumeRole (fix the role, or leave `role` unset and deploy creates one)"
                )));
            }
            Err(error) => {
                return Err(step_failed(
                    format!("creating the function `{name}`"),
                    "lambda:CreateFunction",
                    &error,
                ));
            }
        }
    };
    let arn = created.function_arn().map(str::to_string);
    context.tell(
        &format!("function {}", arn.as_deref().unwrap_or(name)),
        Change::Created,
        &crate::report::human_bytes(code.artifact().size),
    );
    wait::until_ready(context, name).await?;
    Ok(Outcome {
        arn,
        code: code_report(&prepared),
        configuration: ConfigurationReport {
            change: Change::Created,
            fields: all_fields,
        },
    })
}

fn role_not_ready<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    code_of(error) == Some("InvalidParameterValueException")
        && error
            .as_service_error()
            .and_then(ProvideErrorMetadata::message)
            .is_some_and(|m| m.contains("cannot be assumed"))
}

async fn update(
    context: &Context<'_>,
    spec: &FunctionSpec,
    settings: &Settings,
    code: &Code<'_>,
) -> Result<Outcome, DeployError> {
    let name = &spec.name;
    let deployed = wait::until_ready(context, name).await?;
    let arn = deployed.function_arn().map(str::to_string);
    let fields = settings.differences(&deployed);
    let configuration_change = if fields.is_empty() {
        Change::Unchanged
    } else {
        if !context.dry_run() {
            let request = context
                .clients
                .lambda
                .update_function_configuration()
                .function_name(name)
                .memory_size(settings.memory)
                .timeout(settings.timeout)
                .environment(settings.environment())
                .set_role(settings.role.clone());
            let request = if settings.image {
                request
            } else {
                request
                    .runtime(Runtime::from(settings.runtime.as_str()))
                    .handler(&settings.handler)
                    .set_layers(settings.layers.clone())
            };
            request.send().await.map_err(|e| {
                step_failed(
                    format!("updating the configuration of `{name}`"),
                    "lambda:UpdateFunctionConfiguration",
                    &e,
                )
            })?;
            wait::until_ready(context, name).await?;
        }
        Change::Updated
    };
    context.tell(
        &format!("configuration of {name}"),
        configuration_change,
        &fields.join(", "),
    );

    let architecture_differs = deployed
        .architectures()
        .iter()
        .map(Architecture::as_str)
        .ne([settings.architecture.as_str()]);
    let mut code_report = code.report(Change::Unchanged, 0, None);
    let code_differs = match code {
        Code::Archive(artifact) => {
            deployed.code_sha256() != Some(lambda_code_sha(artifact).as_str())
        }
        Code::Image(_, image) => !image::deployed_uris(context, name)
            .await?
            .contains(&image.uri),
    };
    if code_differs || architecture_differs {
        let prepared = send_code(context, spec, code).await?;
        code_report.change = Change::Updated;
        code_report.bytes_uploaded = prepared.bytes_uploaded();
        code_report.s3_location = prepared.s3_location();
        if !context.dry_run() {
            let request = context
                .clients
                .lambda
                .update_function_code()
                .function_name(name)
                .architectures(Architecture::from(settings.architecture.as_str()));
            let request = match prepared {
                SentCode::Archive(Prepared {
                    source: CodeSource::Zip(bytes),
                    ..
                }) => request.zip_file(Blob::new(bytes)),
                SentCode::Archive(Prepared {
                    source: CodeSource::S3 { bucket, key },
                    ..
                }) => request.s3_bucket(bucket).s3_key(key),
                SentCode::Image { uri, .. } => request.image_uri(uri),
            };
            request.send().await.map_err(|e| {
                step_failed(
                    format!("updating the code of `{name}`"),
                    "lambda:UpdateFunctionCode",
                    &e,
                )
            })?;
            wait::until_ready(context, name).await?;
        }
    }
    context.tell(
        &format!("code of {name}"),
        code_report.change,
        &if code_report.change == Change::Unchanged {
            String::new()
        } else {
            crate::report::human_bytes(code.artifact().size)
        },
    );
    Ok(Outcome {
        arn,
        code: code_report,
        configuration: ConfigurationReport {
            change: configuration_change,
            fields,
        },
    })
}

/// Code where Lambda can take it from.
enum SentCode {
    /// A zip, in the request or in S3.
    Archive(Prepared),
    /// An image in a registry.
    Image {
        /// Its ImageUri.
        uri: String,
        /// Blob bytes pushed (in a dry run, the image's size).
        bytes_uploaded: u64,
    },
}

impl SentCode {
    fn bytes_uploaded(&self) -> u64 {
        match self {
            SentCode::Archive(prepared) => prepared.bytes_uploaded,
            SentCode::Image { bytes_uploaded, .. } => *bytes_uploaded,
        }
    }

    fn s3_location(&self) -> Option<String> {
        match self {
            SentCode::Archive(prepared) => prepared.s3_location.clone(),
            SentCode::Image { .. } => None,
        }
    }
}

/// Gets the code where Lambda takes it from: a zip in the request or through S3, an image
/// pushed to its registry (not in a dry run, which reports the image's size).
async fn send_code(
    context: &Context<'_>,
    spec: &FunctionSpec,
    code: &Code<'_>,
) -> Result<SentCode, DeployError> {
    match code {
        Code::Archive(artifact) => Ok(SentCode::Archive(
            upload::prepare(context, spec, artifact).await?,
        )),
        Code::Image(artifact, image) => {
            let bytes_uploaded = if context.dry_run() {
                artifact.size
            } else {
                image::push(context, &spec.name, image).await?
            };
            Ok(SentCode::Image {
                uri: image.uri.clone(),
                bytes_uploaded,
            })
        }
    }
}
