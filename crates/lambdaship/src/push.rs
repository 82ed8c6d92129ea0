//! `build --push REFERENCE`: the image just built goes to a registry through the
//! distribution API, only the blobs the registry lacks uploaded, the manifest last.

use lambdaship_build::{Artifact, ArtifactKind, BuildReport};
use lambdaship_image::{Reference, RegistryAuth, SavedImage, push_blocking};
use lambdaship_project::{Architecture, Project};
use serde::Serialize;

/// What a push did.
#[derive(Debug, Serialize)]
pub(crate) struct Pushed {
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

/// Parses `--push`: a registry reference with a tag (the manifest is pushed by tag).
pub(crate) fn parse_push_reference(value: &str) -> Result<Reference, String> {
    let reference: Reference = value.parse().map_err(|e| format!("{e}"))?;
    if reference.digest().is_some() {
        return Err(format!(
            "`{value}` names a digest: push to a tag, e.g. `{}/{}:v1` (the digest is the image's own)",
            reference.registry(),
            reference.repository()
        ));
    }
    Ok(reference)
}

/// Pushes the one image of `report` to `reference`.
pub(crate) fn push_image(
    project: &Project,
    report: &BuildReport,
    reference: &Reference,
) -> Result<Pushed, String> {
    let images: Vec<&Artifact> = report
        .artifacts
        .iter()
        .filter(|a| a.kind == ArtifactKind::Image)
        .collect();
    let image = match images.as_slice() {
        [one] => *one,
        [] => {
            return Err(
                "--push needs an image: set `layout = \"image\"` in [tool.lambdaship] or pass --layout image"
                    .to_string(),
            );
        }
        several => {
            let names: Vec<&str> = several.iter().map(|a| a.function.as_str()).collect();
            return Err(format!(
                "several functions built images ({}): pass --function NAME with --push",
                names.join(", ")
            ));
        }
    };
    let architecture = project
        .functions
        .iter()
        .find(|f| f.name == image.function)
        .map_or("amd64", |f| match f.architecture {
            Architecture::X86_64 => "amd64",
            Architecture::Arm64 => "arm64",
        });
    let saved = SavedImage::open(&image.path, architecture).map_err(|e| e.to_string())?;
    let auth = RegistryAuth::from_docker_config(reference.registry());
    let report = push_blocking(&saved.store, reference, saved.to_push(), &auth)
        .map_err(|e| format!("cannot push the image of `{}`: {e}", image.function))?;
    Ok(Pushed {
        function: image.function.clone(),
        reference: reference.to_string(),
        digest: report.manifest_digest.to_string(),
        uploaded: report.uploaded,
        skipped: report.skipped,
        bytes_sent: report.bytes_sent,
    })
}
