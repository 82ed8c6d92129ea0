//! Pushing the image a build wrote: the one image artifact, opened from its OCI layout and
//! sent to a registry through the distribution API, only the blobs the registry lacks.

use lambdaship_image::{Reference, RegistryAuth, SavedImage, push_blocking};
use lambdaship_project::Project;
use serde::Serialize;

use crate::image::image_architecture;
use crate::{Artifact, ArtifactKind, BuildError, BuildReport};

/// What a push did.
#[derive(Debug, Clone, Serialize)]
pub struct Pushed {
    /// The function whose image it is.
    pub function: String,
    /// Where it went, by tag.
    pub reference: String,
    /// The image's manifest digest: `REPOSITORY@DIGEST` names it for Lambda's ImageUri.
    pub digest: String,
    /// Blobs uploaded.
    pub uploaded: usize,
    /// Blobs the registry already had.
    pub skipped: usize,
    /// Bytes of the blobs uploaded.
    pub bytes_sent: u64,
}

/// Pushes the one image of `report` to `reference`, with the credentials Docker saved for
/// its registry (anonymous when none).
pub fn push_image(
    project: &Project,
    report: &BuildReport,
    reference: &Reference,
) -> Result<Pushed, BuildError> {
    let images: Vec<&Artifact> = report
        .artifacts
        .iter()
        .filter(|a| a.kind == ArtifactKind::Image)
        .collect();
    let image = match images.as_slice() {
        [one] => *one,
        [] => {
            return Err(BuildError::Push(
                "--push needs an image: set `layout = \"image\"` in [tool.lambdaship] or pass --layout image"
                    .to_string(),
            ));
        }
        several => {
            let names: Vec<&str> = several.iter().map(|a| a.function.as_str()).collect();
            return Err(BuildError::Push(format!(
                "several functions built images ({}): pass --function NAME with --push",
                names.join(", ")
            )));
        }
    };
    let architecture = project
        .functions
        .iter()
        .find(|f| f.name == image.function)
        .map_or("amd64", |f| image_architecture(f.architecture));
    let saved =
        SavedImage::open(&image.path, architecture).map_err(|e| BuildError::Push(e.to_string()))?;
    let auth = RegistryAuth::from_docker_config(reference.registry());
    let report = push_blocking(&saved.store, reference, saved.to_push(), &auth).map_err(|e| {
        BuildError::Push(format!(
            "cannot push the image of `{}`: {e}",
            image.function
        ))
    })?;
    Ok(Pushed {
        function: image.function.clone(),
        reference: reference.to_string(),
        digest: report.manifest_digest.to_string(),
        uploaded: report.uploaded,
        skipped: report.skipped,
        bytes_sent: report.bytes_sent,
    })
}
