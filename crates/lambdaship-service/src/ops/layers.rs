//! PublishLayerVersion, GetLayerVersion, GetLayerVersionByArn, ListLayers,
//! ListLayerVersions and DeleteLayerVersion.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::paged;
use crate::Service;
use crate::error::ApiError;
use crate::http::{Call, Reply};
use crate::model::{LayerDoc, LayerVersion, timestamp_now};
use crate::store::Write;
use crate::validate;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct LayerInput {
    description: Option<String>,
    content: Option<super::functions::CodeInput>,
    compatible_runtimes: Option<Vec<String>>,
    compatible_architectures: Option<Vec<String>>,
    license_info: Option<String>,
}

impl Service {
    /// `POST /2018-10-31/layers/{layer}/versions`.
    pub(crate) fn publish_layer_version(
        &self,
        call: &Call,
        layer: &str,
    ) -> Result<Reply, ApiError> {
        let layer = self.partition.parse_layer_name(layer)?;
        let input: LayerInput = call.json()?;
        let description = input.description.clone().unwrap_or_default();
        validate::description(&description)?;
        let runtimes = input.compatible_runtimes.clone().unwrap_or_default();
        if runtimes.len() > 15 {
            return Err(ApiError::validation(
                &format!("[{}]", runtimes.join(", ")),
                "compatibleRuntimes",
                "Member must have length less than or equal to 15",
            ));
        }
        for runtime in &runtimes {
            known_runtime(runtime)?;
        }
        let architectures = input.compatible_architectures.clone().unwrap_or_default();
        if architectures.len() > 2 || architectures.iter().any(|a| a != "x86_64" && a != "arm64") {
            return Err(ApiError::validation(
                &format!("[{}]", architectures.join(", ")),
                "compatibleArchitectures",
                "Member must have length less than or equal to 2 and each member must satisfy enum value set: [x86_64, arm64]",
            ));
        }
        if input
            .license_info
            .as_ref()
            .is_some_and(|l| l.chars().count() > 512)
        {
            return Err(ApiError::validation(
                "...",
                "licenseInfo",
                "Member must have length less than or equal to 512",
            ));
        }
        let content = input
            .content
            .as_ref()
            .ok_or_else(|| ApiError::validation("null", "content", "Member must not be null"))?;
        if content.s3_bucket.is_some() || content.s3_key.is_some() {
            return Err(ApiError::invalid(
                "lambdaship server has no S3: pass the zip itself (ZipFile, or --zip-file fileb://PATH with the aws CLI).",
            ));
        }
        let zip = content
            .zip_file
            .as_deref()
            .ok_or_else(|| ApiError::invalid("Please provide a source for the layer (ZipFile)."))?;
        let code = self.ingest_zip(zip, "PublishLayerVersion")?;
        let published = self.store.change_layer(&layer, |current| {
            let mut doc = current.cloned().unwrap_or_else(|| LayerDoc {
                name: layer.clone(),
                last_version: 0,
                versions: BTreeMap::new(),
            });
            doc.last_version += 1;
            let version = LayerVersion {
                version: doc.last_version,
                description,
                compatible_runtimes: runtimes,
                compatible_architectures: architectures,
                license_info: input.license_info.clone(),
                created: timestamp_now(),
                code,
            };
            doc.versions.insert(version.version, version.clone());
            Ok((Write::Put(doc), version))
        })?;
        Ok(Reply::json(
            201,
            &self.layer_document(call, &layer, &published),
        ))
    }

    /// `GET /2018-10-31/layers/{layer}/versions/{number}`.
    pub(crate) fn get_layer_version(
        &self,
        call: &Call,
        layer: &str,
        number: &str,
    ) -> Result<Reply, ApiError> {
        let layer = self.partition.parse_layer_name(layer)?;
        let number: u64 = number.parse().map_err(|_| {
            ApiError::validation(number, "versionNumber", "Member must be a number")
        })?;
        self.layer_version_reply(call, &layer, number)
    }

    /// `GET /2018-10-31/layers?find=LayerVersion&Arn=...`.
    pub(crate) fn get_layer_version_by_arn(&self, call: &Call) -> Result<Reply, ApiError> {
        let arn = call
            .query("Arn")
            .ok_or_else(|| ApiError::validation("null", "arn", "Member must not be null"))?;
        let (layer, number) = self.partition.parse_layer_version_arn(arn).map_err(|e| {
            if e.status == 400 && e.code == "InvalidParameterValueException" {
                ApiError::not_found("The resource you requested does not exist.")
            } else {
                e
            }
        })?;
        self.layer_version_reply(call, &layer, number)
    }

    fn layer_version_reply(
        &self,
        call: &Call,
        layer: &str,
        number: u64,
    ) -> Result<Reply, ApiError> {
        let version = self
            .store
            .layer(layer)
            .and_then(|doc| doc.versions.get(&number).cloned())
            .ok_or_else(|| ApiError::not_found("The resource you requested does not exist."))?;
        Ok(Reply::json(
            200,
            &self.layer_document(call, layer, &version),
        ))
    }

    /// `GET /2018-10-31/layers`.
    pub(crate) fn list_layers(&self, call: &Call) -> Result<Reply, ApiError> {
        let runtime = call.query("CompatibleRuntime");
        let architecture = call.query("CompatibleArchitecture");
        let items: Vec<Value> = self
            .store
            .layers()
            .iter()
            .filter_map(|doc| {
                let latest = doc
                    .versions
                    .values()
                    .rev()
                    .find(|v| v.matches(runtime, architecture))?;
                Some(json!({
                    "LayerName": doc.name,
                    "LayerArn": self.partition.layer_arn(&doc.name),
                    "LatestMatchingVersion": latest.list_item(&self.partition, &doc.name),
                }))
            })
            .collect();
        paged("Layers", items, call)
    }

    /// `GET /2018-10-31/layers/{layer}/versions`: newest first.
    pub(crate) fn list_layer_versions(&self, call: &Call, layer: &str) -> Result<Reply, ApiError> {
        let layer = self.partition.parse_layer_name(layer)?;
        let runtime = call.query("CompatibleRuntime");
        let architecture = call.query("CompatibleArchitecture");
        let items: Vec<Value> = self
            .store
            .layer(&layer)
            .map(|doc| {
                doc.versions
                    .values()
                    .rev()
                    .filter(|v| v.matches(runtime, architecture))
                    .map(|v| v.list_item(&self.partition, &layer))
                    .collect()
            })
            .unwrap_or_default();
        paged("LayerVersions", items, call)
    }

    /// `DELETE /2018-10-31/layers/{layer}/versions/{number}`: functions using the version
    /// keep their copy, as on Lambda.
    pub(crate) fn delete_layer_version(
        &self,
        layer: &str,
        number: &str,
    ) -> Result<Reply, ApiError> {
        let layer = self.partition.parse_layer_name(layer)?;
        let number: u64 = number.parse().map_err(|_| {
            ApiError::validation(number, "versionNumber", "Member must be a number")
        })?;
        self.store.change_layer(&layer, |current| match current {
            Some(doc) if doc.versions.contains_key(&number) => {
                let mut doc = doc.clone();
                doc.versions.remove(&number);
                Ok((Write::Put(doc), ()))
            }
            _ => Ok((Write::Keep, ())),
        })?;
        Ok(Reply::empty(204))
    }

    fn layer_document(&self, call: &Call, layer: &str, version: &LayerVersion) -> Value {
        let location = format!("{}/_lambdaship/code/{}", call.origin(), version.code.sha256);
        version.document(&self.partition, layer, location)
    }
}

/// A runtime Lambda knows (layers may declare runtimes this machine does not run).
fn known_runtime(runtime: &str) -> Result<(), ApiError> {
    match validate::runtime(runtime) {
        Err(error) if error.code == "ValidationException" => Err(error),
        _ => Ok(()),
    }
}
