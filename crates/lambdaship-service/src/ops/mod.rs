//! The API's operations, grouped by resource, and what they share: resolving qualifiers,
//! taking in code, checking revisions, paging lists.

pub mod account;
pub mod aliases;
pub mod functions;
pub mod invoke;
pub mod layers;
pub mod permissions;
pub mod urls;
pub mod versions;

use base64::Engine;
use serde_json::Value;

use crate::Service;
use crate::error::ApiError;
use crate::http::{Call, Reply};
use crate::model::{Alias, CodeRef, FunctionDoc, FunctionVersion, LayerRef};
use crate::validate::{MAX_CODE_REQUEST_BYTES, MAX_LAYERS, MAX_UNZIPPED_BYTES, MAX_ZIP_BYTES};
use lambdaship_runtime::archive::{self, ArchiveProblem};

impl Service {
    /// `Function not found: ARN`, as Lambda words it.
    pub(crate) fn function_not_found(&self, name: &str, qualifier: Option<&str>) -> ApiError {
        let arn = match qualifier {
            Some(qualifier) => self.partition.qualified_arn(name, qualifier),
            None => self.partition.function_arn(name),
        };
        ApiError::not_found(format!("Function not found: {arn}"))
    }

    /// The stored function, or Lambda's not-found error.
    pub(crate) fn existing(
        &self,
        doc: Option<&FunctionDoc>,
        name: &str,
    ) -> Result<FunctionDoc, ApiError> {
        doc.cloned()
            .ok_or_else(|| self.function_not_found(name, None))
    }

    /// The version `qualifier` selects: `$LATEST` when absent, a version number, or an
    /// alias (whose routing weights pick between its versions).
    pub(crate) fn resolve<'a>(
        &self,
        doc: &'a FunctionDoc,
        qualifier: Option<&str>,
    ) -> Result<&'a FunctionVersion, ApiError> {
        let name = &doc.latest.name;
        let missing = || self.function_not_found(name, qualifier);
        match qualifier {
            None | Some("$LATEST") => Ok(&doc.latest),
            Some(number) if number.chars().all(|c| c.is_ascii_digit()) => {
                let number: u64 = number.parse().map_err(|_| missing())?;
                doc.versions.get(&number).ok_or_else(missing)
            }
            Some(alias_name) => {
                let alias = doc.aliases.get(alias_name).ok_or_else(missing)?;
                let chosen = pick_weighted(alias);
                if chosen == "$LATEST" {
                    return Ok(&doc.latest);
                }
                chosen
                    .parse::<u64>()
                    .ok()
                    .and_then(|n| doc.versions.get(&n))
                    .ok_or_else(missing)
            }
        }
    }

    /// Takes in a zip from a request (base64 in the JSON body): checks its size and its
    /// entries before anything is stored, then stores it by content.
    pub(crate) fn ingest_zip(&self, encoded: &str, operation: &str) -> Result<CodeRef, ApiError> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| {
                ApiError::invalid(format!(
                    "Could not unzip uploaded file. Please check your file, then try to upload again. (ZipFile is not valid base64: {e}; the aws CLI needs fileb:// for binary files)"
                ))
            })?;
        if bytes.len() > MAX_ZIP_BYTES {
            return Err(ApiError::too_large(
                "RequestEntityTooLargeException",
                MAX_CODE_REQUEST_BYTES,
                operation,
            ));
        }
        let summary = archive::inspect(&bytes, MAX_UNZIPPED_BYTES).map_err(|problem| match problem {
            ArchiveProblem::TooLarge { .. } => ApiError::invalid(format!(
                "Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
            )),
            other => ApiError::invalid(format!(
                "Could not unzip uploaded file. Please check your file, then try to upload again. ({other})"
            )),
        })?;
        let sha256 = self
            .blobs
            .put(&bytes)
            .map_err(|e| ApiError::service(format!("cannot store the archive: {e}")))?;
        Ok(CodeRef {
            sha256,
            size: bytes.len() as u64,
            unzipped_size: summary.unzipped_size,
        })
    }

    /// The layers a configuration names, in order: at most five, each published here, no
    /// layer twice.
    pub(crate) fn resolve_layers(&self, arns: &[String]) -> Result<Vec<LayerRef>, ApiError> {
        if arns.len() > MAX_LAYERS {
            return Err(ApiError::invalid(format!(
                "Cannot reference more than {MAX_LAYERS} layers."
            )));
        }
        let mut layers: Vec<LayerRef> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for arn in arns {
            let (name, number) = self.partition.parse_layer_version_arn(arn)?;
            if names.contains(&name) {
                return Err(ApiError::invalid(format!(
                    "Two different versions of the same layer are not allowed to be referenced in the same function. {arn}"
                )));
            }
            let version = self
                .store
                .layer(&name)
                .and_then(|layer| layer.versions.get(&number).cloned())
                .ok_or_else(|| ApiError::invalid(format!("Layer version {arn} does not exist.")))?;
            names.push(name);
            layers.push(LayerRef {
                arn: arn.clone(),
                code: version.code,
            });
        }
        Ok(layers)
    }
}

/// The function's code and layers fit Lambda's 250 MB unzipped.
pub(crate) fn check_unzipped_total(version: &FunctionVersion) -> Result<(), ApiError> {
    let total = version.code.unzipped_size
        + version
            .layers
            .iter()
            .map(|layer| layer.code.unzipped_size)
            .sum::<u64>();
    if total > MAX_UNZIPPED_BYTES {
        return Err(ApiError::invalid(format!(
            "Function code combined with layers exceeds the maximum allowed size of {MAX_UNZIPPED_BYTES} bytes. The actual size is {total} bytes."
        )));
    }
    Ok(())
}

/// A RevisionId precondition: absent, or the current one.
pub(crate) fn check_revision(
    given: Option<&str>,
    current: &str,
    api: &str,
) -> Result<(), ApiError> {
    match given {
        Some(given) if given != current => Err(ApiError::stale_revision(api)),
        _ => Ok(()),
    }
}

/// One page of a list as the answer `{KEY: [...], "NextMarker"}`: `Marker` is the index of
/// the first item, `MaxItems` the page size (50 by default).
pub(crate) fn paged(key: &str, items: Vec<Value>, call: &Call) -> Result<Reply, ApiError> {
    let start = match call.query("Marker") {
        Some(marker) => marker
            .parse::<usize>()
            .map_err(|_| ApiError::invalid(format!("Invalid Marker: {marker}")))?,
        None => 0,
    };
    let size = match call.query("MaxItems") {
        Some(max) => max
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| {
                ApiError::validation(
                    max,
                    "maxItems",
                    "Member must have value between 1 and 10000",
                )
            })?,
        None => 50,
    };
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(size).collect();
    let mut answer = serde_json::Map::new();
    answer.insert(key.to_string(), Value::Array(page));
    if start + size < total {
        answer.insert(
            "NextMarker".to_string(),
            Value::String((start + size).to_string()),
        );
    }
    Ok(Reply::json(200, &Value::Object(answer)))
}

/// The version an alias sends this invocation to, by its routing weights.
fn pick_weighted(alias: &Alias) -> &str {
    if alias.weights.is_empty() {
        return &alias.function_version;
    }
    // Random enough for traffic shifting: the low bits of a v4 UUID.
    let draw = (uuid::Uuid::new_v4().as_u128() & 0xFFFF_FFFF) as f64 / f64::from(u32::MAX);
    let mut edge = 0.0;
    for (version, weight) in &alias.weights {
        edge += weight;
        if draw < edge {
            return version;
        }
    }
    &alias.function_version
}
