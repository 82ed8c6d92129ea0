//! `build --push REFERENCE`: the flag's value, checked as the CLI parses it (the push itself
//! is `lambdaship_build::push_image`).

use lambdaship_image::Reference;

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
