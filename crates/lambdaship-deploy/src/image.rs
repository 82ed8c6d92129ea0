//! An image function's code: the built image, pushed to its repository and named by digest
//! in the function's ImageUri, so an unchanged image is recognised without a push.
//!
//! The repository is an ECR repository of the account (created when missing, logged in to
//! with GetAuthorizationToken), or a repository on any registry named by its host, with the
//! credentials Docker saved for it (Lambda emulators read such registries; AWS Lambda
//! itself only reads ECR).

use lambdaship_build::{Artifact, image_architecture};
use lambdaship_image::{Reference, RegistryAuth, SavedImage};
use lambdaship_project::{FunctionSpec, ImageRepository};

use crate::error::DeployError;
use crate::report::Change;
use crate::{Context, ecr};

/// The image, where it goes and how it is named there.
pub(crate) struct ImageCode {
    saved: SavedImage,
    /// The push's target, by a tag naming the digest (a push needs a tag).
    reference: Reference,
    auth: RegistryAuth,
    /// `HOST/REPOSITORY@sha256:HEX`: Lambda's ImageUri.
    pub uri: String,
    /// The manifest digest's hex.
    pub digest_hex: String,
}

impl std::fmt::Debug for ImageCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageCode")
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

/// Opens the built image of `spec` and settles its repository: an ECR repository is
/// created when missing (not in a dry run) and logged in to.
pub(crate) async fn prepare(
    context: &Context<'_>,
    spec: &FunctionSpec,
    artifact: &Artifact,
) -> Result<ImageCode, DeployError> {
    let saved = SavedImage::open(&artifact.path, image_architecture(spec.architecture))
        .map_err(|e| DeployError::Build(format!("the image of `{}`: {e}", spec.name)))?;
    let repository = match context
        .options
        .image_repository
        .as_ref()
        .or(spec.image_repository.as_ref())
    {
        Some(repository) => repository.clone(),
        None => ImageRepository::default_for(&spec.name).map_err(DeployError::Refused)?,
    };
    let (host, path, auth) = match repository {
        ImageRepository::Ecr(name) => {
            let (registry, auth) = ecr_login(context, &name).await?;
            (registry, name, auth)
        }
        ImageRepository::Registry { host, path } if ecr::is_ecr_host(&host) => {
            let (_, auth) = ecr_login(context, &path).await?;
            (host, path, auth)
        }
        ImageRepository::Registry { host, path } => {
            let auth = RegistryAuth::from_docker_config(&host);
            (host, path, auth)
        }
    };
    let digest_hex = saved.manifest_digest.hex();
    let tag = format!("sha256-{digest_hex}");
    let reference = Reference::new(&host, &path, Some(&tag), None).map_err(|e| {
        DeployError::Refused(format!(
            "the image repository {host}/{path} of `{}` is not valid: {}",
            spec.name,
            e.reason()
        ))
    })?;
    Ok(ImageCode {
        uri: format!("{host}/{path}@{}", saved.manifest_digest),
        saved,
        reference,
        auth,
        digest_hex,
    })
}

/// The ECR repository `name`, made sure of, and the registry's host and login.
async fn ecr_login(
    context: &Context<'_>,
    name: &str,
) -> Result<(String, RegistryAuth), DeployError> {
    let change = ecr::ensure_repository(context, name)
        .await
        .map_err(|e| with_emulator_hint(context, e))?;
    context.tell(&format!("ECR repository {name}"), change, "");
    let login = ecr::login(context)
        .await
        .map_err(|e| with_emulator_hint(context, e))?;
    Ok((
        login.registry,
        RegistryAuth::Basic {
            username: login.user,
            password: login.password,
        },
    ))
}

/// An endpoint without ECR (`lambdaship server` has none) fails the ECR calls: say how to
/// push to a registry of one's own instead.
fn with_emulator_hint(context: &Context<'_>, error: DeployError) -> DeployError {
    match (error, &context.clients.endpoint_url) {
        (
            DeployError::Step {
                step,
                reason,
                function_state,
            },
            Some(endpoint),
        ) => DeployError::Step {
            step,
            reason: format!(
                "{reason}\n  fix: if {endpoint} serves no ECR, push to a registry it can read: set image_repository = \"HOST:PORT/NAME\" in [tool.lambdaship] or pass --image-repository HOST:PORT/NAME"
            ),
            function_state,
        },
        (error, _) => error,
    }
}

/// Pushes the image (only the blobs the registry lacks); the bytes sent.
pub(crate) async fn push(
    context: &Context<'_>,
    function: &str,
    image: &ImageCode,
) -> Result<u64, DeployError> {
    let report = lambdaship_image::push(
        &image.saved.store,
        &image.reference,
        image.saved.to_push(),
        &image.auth,
    )
    .await
    .map_err(|e| DeployError::Step {
        step: format!("pushing the image of `{function}` to {}", image.reference),
        reason: e.to_string(),
        function_state: None,
    })?;
    context.tell(
        &format!("image {}", image.uri),
        Change::Updated,
        &format!(
            "({} blobs sent, {} already there, {})",
            report.uploaded,
            report.skipped,
            crate::report::human_bytes(report.bytes_sent)
        ),
    );
    Ok(report.bytes_sent)
}

/// The deployed image's URIs, as given and as resolved to a digest.
pub(crate) async fn deployed_uris(
    context: &Context<'_>,
    name: &str,
) -> Result<Vec<String>, DeployError> {
    let answer = context
        .clients
        .lambda
        .get_function()
        .function_name(name)
        .send()
        .await
        .map_err(|e| {
            crate::error::step_failed(
                format!("looking up the image of `{name}`"),
                "lambda:GetFunction",
                &e,
            )
        })?;
    Ok(answer
        .code()
        .into_iter()
        .flat_map(|code| [code.image_uri(), code.resolved_image_uri()])
        .flatten()
        .map(str::to_string)
        .collect())
}
