//! Getting an archive to Lambda: in the request when it fits the direct-upload limit,
//! through S3 otherwise (the bucket created when missing, the object skipped when S3
//! already has these bytes under their digest).

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use lambdaship_build::{Artifact, DIRECT_UPLOAD_LIMIT_BYTES};
use lambdaship_project::FunctionSpec;

use crate::Context;
use crate::error::{DeployError, code_of, step_failed};
use crate::report::Change;

/// Where Lambda takes an archive from.
pub(crate) enum CodeSource {
    /// The zip's bytes, in the request.
    Zip(Vec<u8>),
    /// An S3 object.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
}

/// An archive ready to hand to Lambda.
pub(crate) struct Prepared {
    /// Where Lambda takes it from.
    pub source: CodeSource,
    /// Bytes sent to get it there (or, in a dry run, that would be).
    pub bytes_uploaded: u64,
    /// `s3://bucket/key` when it goes through S3.
    pub s3_location: Option<String>,
}

/// Readies `artifact` for a Lambda call: its bytes, or an S3 object holding them.
pub(crate) async fn prepare(
    context: &Context<'_>,
    spec: &FunctionSpec,
    artifact: &Artifact,
) -> Result<Prepared, DeployError> {
    if artifact.size <= DIRECT_UPLOAD_LIMIT_BYTES {
        let bytes = if context.dry_run() {
            Vec::new()
        } else {
            read(artifact)?
        };
        return Ok(Prepared {
            source: CodeSource::Zip(bytes),
            bytes_uploaded: artifact.size,
            s3_location: None,
        });
    }
    let bucket = match context
        .options
        .s3_bucket
        .as_ref()
        .or(spec.s3_bucket.as_ref())
    {
        Some(bucket) => bucket.clone(),
        None => default_bucket(context).await?,
    };
    ensure_bucket(context, &bucket).await?;
    let file_name = artifact
        .path
        .file_name()
        .map_or_else(|| "code.zip".into(), |n| n.to_string_lossy().into_owned());
    let key = format!("lambdaship/{}/{}/{file_name}", spec.name, artifact.sha256);
    let location = format!("s3://{bucket}/{key}");
    let s3 = &context.clients.s3;
    let present = match s3.head_object().bucket(&bucket).key(&key).send().await {
        Ok(_) => true,
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => false,
        Err(error) => {
            return Err(step_failed(
                format!("looking for {location}"),
                "s3:GetObject",
                &error,
            ));
        }
    };
    let bytes_uploaded = if present {
        context.tell(&format!("object {location}"), Change::Unchanged, "");
        0
    } else {
        if !context.dry_run() {
            let body = ByteStream::from_path(&artifact.path).await.map_err(|e| {
                DeployError::Build(format!("cannot read {}: {e}", artifact.path.display()))
            })?;
            s3.put_object()
                .bucket(&bucket)
                .key(&key)
                .body(body)
                .send()
                .await
                .map_err(|e| step_failed(format!("uploading {location}"), "s3:PutObject", &e))?;
        }
        context.tell(
            &format!("object {location}"),
            Change::Created,
            &crate::report::human_bytes(artifact.size),
        );
        artifact.size
    };
    Ok(Prepared {
        source: CodeSource::S3 { bucket, key },
        bytes_uploaded,
        s3_location: Some(location),
    })
}

fn read(artifact: &Artifact) -> Result<Vec<u8>, DeployError> {
    std::fs::read(&artifact.path).map_err(|e| {
        DeployError::Build(format!(
            "cannot read {}: {e} (run the deploy again to rebuild it)",
            artifact.path.display()
        ))
    })
}

/// `lambdaship-ACCOUNT-REGION`: one bucket per account and region, found again on every
/// deploy without configuration.
async fn default_bucket(context: &Context<'_>) -> Result<String, DeployError> {
    let identity = context
        .clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            step_failed(
                "finding the account for the default S3 bucket (or set `s3_bucket`, or pass --s3-bucket)",
                "sts:GetCallerIdentity",
                &e,
            )
        })?;
    let account = identity.account().unwrap_or("account");
    Ok(format!("lambdaship-{account}-{}", context.clients.region))
}

async fn ensure_bucket(context: &Context<'_>, bucket: &str) -> Result<(), DeployError> {
    let s3 = &context.clients.s3;
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => return Ok(()),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_not_found()) => {}
        Err(error) if matches!(code_of(&error), Some("Forbidden" | "AccessDenied")) => {
            return Err(DeployError::Refused(format!(
                "the S3 bucket `{bucket}` refuses access (it may belong to another account): choose another with --s3-bucket or `s3_bucket`"
            )));
        }
        // HeadBucket answers a bare 404 status, which the SDK may not map to NotFound.
        Err(error) if error.raw_response().map(|r| r.status().as_u16()) == Some(404) => {}
        Err(error) => {
            return Err(step_failed(
                format!("checking the S3 bucket `{bucket}`"),
                "s3:ListBucket",
                &error,
            ));
        }
    }
    context.tell(&format!("bucket {bucket}"), Change::Created, "");
    if context.dry_run() {
        return Ok(());
    }
    let mut create = s3.create_bucket().bucket(bucket);
    // us-east-1 is the one region that refuses an explicit location constraint.
    if context.clients.region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(
                    context.clients.region.as_str(),
                ))
                .build(),
        );
    }
    create.send().await.map_err(|e| {
        step_failed(
            format!("creating the S3 bucket `{bucket}`"),
            "s3:CreateBucket",
            &e,
        )
    })?;
    Ok(())
}
