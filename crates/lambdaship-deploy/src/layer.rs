//! A layer lambdaship built (dependencies, or the web adapter) published as a new version
//! only when the newest version holds other bytes.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, LayerVersionContentInput, Runtime};
use lambdaship_build::Artifact;
use lambdaship_project::FunctionSpec;

use crate::error::{DeployError, code_of, step_failed};
use crate::report::{Change, LayerReport};
use crate::upload::{self, CodeSource};
use crate::{Context, lambda_code_sha};

/// The layer's name: the archive's file name without `.zip` (`hello-layer`,
/// `hello-adapter-layer`), stable across deploys.
pub(crate) fn layer_name(artifact: &Artifact) -> String {
    artifact.path.file_stem().map_or_else(
        || artifact.function.clone(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// Publishes `artifact` unless the layer's newest version has the same CodeSha256.
pub(crate) async fn publish_if_changed(
    context: &Context<'_>,
    spec: &FunctionSpec,
    artifact: &Artifact,
) -> Result<LayerReport, DeployError> {
    let name = layer_name(artifact);
    let sha = lambda_code_sha(artifact);
    if let Some(arn) = newest_with_sha(context, &name, &sha).await? {
        context.tell(&format!("layer {arn}"), Change::Unchanged, "");
        return Ok(LayerReport {
            name,
            change: Change::Unchanged,
            arn: Some(arn),
            bytes_uploaded: 0,
        });
    }
    let prepared = upload::prepare(context, spec, artifact).await?;
    if context.dry_run() {
        context.tell(&format!("layer {name}"), Change::Created, "");
        return Ok(LayerReport {
            name,
            change: Change::Created,
            arn: None,
            bytes_uploaded: prepared.bytes_uploaded,
        });
    }
    let content = match prepared.source {
        CodeSource::Zip(bytes) => LayerVersionContentInput::builder().zip_file(Blob::new(bytes)),
        CodeSource::S3 { bucket, key } => LayerVersionContentInput::builder()
            .s3_bucket(bucket)
            .s3_key(key),
    }
    .build();
    let published = context
        .clients
        .lambda
        .publish_layer_version()
        .layer_name(&name)
        .description(format!("built by lambdaship for {}", spec.name))
        .content(content)
        .compatible_runtimes(Runtime::from(spec.runtime.to_string().as_str()))
        .compatible_architectures(Architecture::from(spec.architecture.to_string().as_str()))
        .send()
        .await
        .map_err(|e| {
            step_failed(
                format!("publishing the layer `{name}`"),
                "lambda:PublishLayerVersion",
                &e,
            )
        })?;
    let arn = published.layer_version_arn().map(str::to_string);
    context.tell(
        &format!("layer {}", arn.as_deref().unwrap_or(&name)),
        Change::Created,
        &crate::report::human_bytes(artifact.size),
    );
    Ok(LayerReport {
        name,
        change: Change::Created,
        arn,
        bytes_uploaded: prepared.bytes_uploaded,
    })
}

/// The ARN of the layer's newest version when its content is `sha`.
async fn newest_with_sha(
    context: &Context<'_>,
    name: &str,
    sha: &str,
) -> Result<Option<String>, DeployError> {
    let lambda = &context.clients.lambda;
    let listed = match lambda
        .list_layer_versions()
        .layer_name(name)
        .max_items(1)
        .send()
        .await
    {
        Ok(listed) => listed,
        Err(error) if code_of(&error) == Some("ResourceNotFoundException") => return Ok(None),
        Err(error) => {
            return Err(step_failed(
                format!("looking up the layer `{name}`"),
                "lambda:ListLayerVersions",
                &error,
            ));
        }
    };
    let Some(newest) = listed.layer_versions().first() else {
        return Ok(None);
    };
    let version = lambda
        .get_layer_version()
        .layer_name(name)
        .version_number(newest.version())
        .send()
        .await
        .map_err(|e| {
            step_failed(
                format!("reading the layer `{name}` version {}", newest.version()),
                "lambda:GetLayerVersion",
                &e,
            )
        })?;
    let deployed_sha = version.content().and_then(|c| c.code_sha256());
    Ok((deployed_sha == Some(sha))
        .then(|| newest.layer_version_arn().map(str::to_string))
        .flatten())
}
