//! What the service stores, and the JSON the API returns for it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::names::Partition;

/// A code archive in the blob store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRef {
    /// SHA-256 of the zip, hex: the blob's name.
    pub sha256: String,
    /// Zip size, bytes (`CodeSize`).
    pub size: u64,
    /// Unzipped size, bytes (for the 250 MB limit).
    pub unzipped_size: u64,
}

impl CodeRef {
    /// `CodeSha256` as the API reports it: base64 of the digest.
    pub fn sha256_base64(&self) -> String {
        use base64::Engine;
        let digest = hex::decode(&self.sha256).unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(digest)
    }
}

/// The container image of a `PackageType: Image` function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    /// `Code.ImageUri`, as given.
    pub uri: String,
    /// `REPOSITORY@sha256:…`: the image the URI named when the code was set, which the
    /// function runs until its code is updated (a tag moved later changes nothing, as on
    /// Lambda).
    pub resolved_uri: String,
    /// Its manifest's digest, `sha256:…`, in the image store.
    pub manifest_digest: String,
}

impl ImageRef {
    /// The manifest digest's hex: `CodeSha256` of an image function, as Lambda reports it.
    pub fn digest_hex(&self) -> &str {
        self.manifest_digest
            .strip_prefix("sha256:")
            .unwrap_or(&self.manifest_digest)
    }
}

/// `ImageConfig`: what replaces the image's own settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageConfig {
    /// Replaces `ENTRYPOINT` (recorded: local runs start the runtime client themselves).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<Vec<String>>,
    /// Replaces `CMD`: its first word is the handler.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Replaces `WORKDIR` (recorded: local runs start in the task root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
}

impl ImageConfig {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self == &ImageConfig::default()
    }
}

/// A layer version a function uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    /// The layer version ARN.
    pub arn: String,
    /// Its archive.
    pub code: CodeRef,
}

/// One version of a function: `$LATEST` or a published snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionVersion {
    /// Function name.
    pub name: String,
    /// `$LATEST` or the version number.
    pub version: String,
    /// Description.
    pub description: String,
    /// Runtime identifier.
    pub runtime: String,
    /// Execution role ARN (recorded, not assumed).
    pub role: String,
    /// Handler.
    pub handler: String,
    /// Timeout, seconds.
    pub timeout: u32,
    /// Memory, MB.
    pub memory_size: u32,
    /// Environment variables.
    pub environment: BTreeMap<String, String>,
    /// Layers, in order.
    pub layers: Vec<LayerRef>,
    /// `x86_64` or `arm64`.
    pub architecture: String,
    /// /tmp size, MB.
    pub ephemeral_storage: u32,
    /// `PassThrough` or `Active`.
    pub tracing_mode: String,
    /// The function's archive.
    pub code: CodeRef,
    /// When the version was last changed, as the API prints it.
    pub last_modified: String,
    /// Changes with every update; the precondition of conditional updates.
    pub revision_id: String,
    /// The image of a `PackageType: Image` function (whose `code` is then empty, and whose
    /// runtime and handler come from the image).
    #[serde(default)]
    pub image: Option<ImageRef>,
    /// `ImageConfig` of an image function.
    #[serde(default)]
    pub image_config: ImageConfig,
}

impl FunctionVersion {
    /// Whether two versions have the same code and configuration (what decides whether
    /// PublishVersion makes a new version).
    pub fn same_content(&self, other: &FunctionVersion) -> bool {
        let strip = |v: &FunctionVersion| FunctionVersion {
            version: String::new(),
            last_modified: String::new(),
            revision_id: String::new(),
            description: String::new(),
            ..v.clone()
        };
        strip(self) == strip(other)
    }

    /// The FunctionConfiguration document.
    pub fn configuration(&self, partition: &Partition) -> Value {
        let mut config = json!({
            "FunctionName": self.name,
            "FunctionArn": if self.version == "$LATEST" {
                partition.function_arn(&self.name)
            } else {
                partition.qualified_arn(&self.name, &self.version)
            },
            "Runtime": self.runtime,
            "Role": self.role,
            "Handler": self.handler,
            "CodeSize": self.code.size,
            "Description": self.description,
            "Timeout": self.timeout,
            "MemorySize": self.memory_size,
            "LastModified": self.last_modified,
            "CodeSha256": self.code.sha256_base64(),
            "Version": self.version,
            "TracingConfig": {"Mode": self.tracing_mode},
            "RevisionId": self.revision_id,
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": [self.architecture],
            "EphemeralStorage": {"Size": self.ephemeral_storage},
            "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": format!("/aws/lambda/{}", self.name)},
        });
        if let (Some(image), Value::Object(map)) = (&self.image, &mut config) {
            // Lambda reports neither for an image function: the image holds both.
            map.remove("Runtime");
            map.remove("Handler");
            map.insert("PackageType".to_string(), json!("Image"));
            map.insert("CodeSha256".to_string(), json!(image.digest_hex()));
            map.insert("CodeSize".to_string(), json!(0));
            if !self.image_config.is_empty() {
                map.insert(
                    "ImageConfigResponse".to_string(),
                    json!({"ImageConfig": self.image_config}),
                );
            }
        }
        if let Value::Object(map) = &mut config {
            if !self.environment.is_empty() {
                map.insert(
                    "Environment".to_string(),
                    json!({"Variables": self.environment}),
                );
            }
            if !self.layers.is_empty() {
                let layers: Vec<Value> = self
                    .layers
                    .iter()
                    .map(|layer| json!({"Arn": layer.arn, "CodeSize": layer.code.size}))
                    .collect();
                map.insert("Layers".to_string(), Value::Array(layers));
            }
        }
        config
    }
}

/// An alias: a name for a version, optionally sending a share of invocations to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alias {
    /// Alias name.
    pub name: String,
    /// The version it points to.
    pub function_version: String,
    /// Description.
    pub description: String,
    /// `AdditionalVersionWeights`: version -> share of invocations (0..1).
    pub weights: BTreeMap<String, f64>,
    /// Changes with every update.
    pub revision_id: String,
}

impl Alias {
    /// The AliasConfiguration document.
    pub fn configuration(&self, partition: &Partition, function: &str) -> Value {
        let mut alias = json!({
            "AliasArn": partition.qualified_arn(function, &self.name),
            "Name": self.name,
            "FunctionVersion": self.function_version,
            "Description": self.description,
            "RevisionId": self.revision_id,
        });
        if !self.weights.is_empty()
            && let Value::Object(map) = &mut alias
        {
            map.insert(
                "RoutingConfig".to_string(),
                json!({"AdditionalVersionWeights": self.weights}),
            );
        }
        alias
    }
}

/// A resource-based policy: its statements, as AddPermission made them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Policy {
    /// Statements in the order they were added.
    pub statements: Vec<Value>,
    /// Changes with every statement added or removed.
    pub revision_id: String,
}

/// Everything stored about one function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionDoc {
    /// The unpublished version.
    pub latest: FunctionVersion,
    /// Published versions by number.
    pub versions: BTreeMap<u64, FunctionVersion>,
    /// The highest number ever published (numbers are never reused).
    pub last_version: u64,
    /// Aliases by name.
    pub aliases: BTreeMap<String, Alias>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Policies by qualifier (`""` for the unqualified function).
    pub policies: BTreeMap<String, Policy>,
    /// Function URLs by qualifier (`""` for the unqualified function, else an alias).
    #[serde(default)]
    pub urls: BTreeMap<String, FunctionUrl>,
}

/// How a Function URL authenticates its callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UrlAuth {
    /// Anyone may call it.
    #[serde(rename = "NONE")]
    None,
    /// Requests must be signed with SigV4 by known credentials.
    #[serde(rename = "AWS_IAM")]
    AwsIam,
}

/// How a Function URL returns the function's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InvokeMode {
    /// Collected, then sent (6 MB).
    #[serde(rename = "BUFFERED")]
    Buffered,
    /// Sent as the function writes it.
    #[serde(rename = "RESPONSE_STREAM")]
    ResponseStream,
}

/// A Function URL's CORS settings, as the API names them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UrlCors {
    /// `Access-Control-Allow-Credentials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_credentials: Option<bool>,
    /// `Access-Control-Allow-Headers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_headers: Option<Vec<String>>,
    /// `Access-Control-Allow-Methods`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_methods: Option<Vec<String>>,
    /// Allowed origins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_origins: Option<Vec<String>>,
    /// `Access-Control-Expose-Headers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expose_headers: Option<Vec<String>>,
    /// `Access-Control-Max-Age`, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u32>,
}

/// One Function URL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionUrl {
    /// The 32-character id in its host name.
    pub url_id: String,
    /// Authentication.
    pub auth: UrlAuth,
    /// Buffered or streamed answers.
    pub invoke_mode: InvokeMode,
    /// CORS, when configured.
    pub cors: Option<UrlCors>,
    /// When it was created (ISO 8601).
    pub created: String,
    /// When it last changed (ISO 8601).
    pub modified: String,
}

impl FunctionUrl {
    /// The FunctionUrlConfig document; `base` is the URL prefix this server answers on.
    pub fn configuration(
        &self,
        partition: &Partition,
        function: &str,
        qualifier: &str,
        base: &str,
    ) -> Value {
        let arn = if qualifier.is_empty() {
            partition.function_arn(function)
        } else {
            partition.qualified_arn(function, qualifier)
        };
        let mut config = json!({
            "FunctionUrl": format!("{base}/lambda-url/{}/", self.url_id),
            "FunctionArn": arn,
            "AuthType": self.auth,
            "CreationTime": self.created,
            "LastModifiedTime": self.modified,
            "InvokeMode": self.invoke_mode,
        });
        if let (Some(cors), Value::Object(map)) = (&self.cors, &mut config) {
            map.insert("Cors".to_string(), json!(cors));
        }
        config
    }
}

/// A fresh Function URL id: 32 lowercase letters and digits, as Lambda's.
pub fn new_url_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Now in ISO 8601 with microseconds, as Function URL timestamps are printed.
pub fn iso_timestamp_now() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}

/// One published layer version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerVersion {
    /// Version number.
    pub version: u64,
    /// Description.
    pub description: String,
    /// Runtimes it declares.
    pub compatible_runtimes: Vec<String>,
    /// Architectures it declares.
    pub compatible_architectures: Vec<String>,
    /// License text.
    pub license_info: Option<String>,
    /// When it was published, as the API prints it.
    pub created: String,
    /// Its archive.
    pub code: CodeRef,
}

impl LayerVersion {
    /// The list item document (ListLayerVersions, ListLayers' LatestMatchingVersion).
    pub fn list_item(&self, partition: &Partition, layer: &str) -> Value {
        let mut item = json!({
            "LayerVersionArn": partition.layer_version_arn(layer, self.version),
            "Version": self.version,
            "Description": self.description,
            "CreatedDate": self.created,
            "CompatibleRuntimes": self.compatible_runtimes,
            "CompatibleArchitectures": self.compatible_architectures,
        });
        if let (Some(license), Value::Object(map)) = (&self.license_info, &mut item) {
            map.insert("LicenseInfo".to_string(), json!(license));
        }
        item
    }

    /// The full document (PublishLayerVersion, GetLayerVersion).
    pub fn document(&self, partition: &Partition, layer: &str, location: String) -> Value {
        let mut document = self.list_item(partition, layer);
        if let Value::Object(map) = &mut document {
            map.insert("LayerArn".to_string(), json!(partition.layer_arn(layer)));
            map.insert(
                "Content".to_string(),
                json!({
                    "Location": location,
                    "CodeSha256": self.code.sha256_base64(),
                    "CodeSize": self.code.size,
                }),
            );
        }
        document
    }

    /// Whether the version fits a ListLayers / ListLayerVersions filter.
    pub fn matches(&self, runtime: Option<&str>, architecture: Option<&str>) -> bool {
        runtime.is_none_or(|r| self.compatible_runtimes.iter().any(|c| c == r))
            && architecture.is_none_or(|a| self.compatible_architectures.iter().any(|c| c == a))
    }
}

/// Everything stored about one layer name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerDoc {
    /// Layer name.
    pub name: String,
    /// The highest number ever published (numbers are never reused).
    pub last_version: u64,
    /// Versions not deleted, by number.
    pub versions: BTreeMap<u64, LayerVersion>,
}

/// Now, as the API prints `LastModified`: `2024-01-31T12:34:56.789+0000`.
pub fn timestamp_now() -> String {
    let now = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
    match now.strip_suffix('Z') {
        Some(stamp) => format!("{stamp}+0000"),
        None => now,
    }
}

/// A fresh RevisionId.
pub fn new_revision() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_function_is_reported_as_lambda_reports_one() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let version = FunctionVersion {
            name: "img".into(),
            version: "$LATEST".into(),
            description: String::new(),
            runtime: String::new(),
            role: "arn:aws:iam::000000000000:role/r".into(),
            handler: String::new(),
            timeout: 3,
            memory_size: 128,
            environment: BTreeMap::new(),
            layers: Vec::new(),
            architecture: "x86_64".into(),
            ephemeral_storage: 512,
            tracing_mode: "PassThrough".into(),
            code: CodeRef {
                sha256: "ab".repeat(32),
                size: 0,
                unzipped_size: 0,
            },
            last_modified: timestamp_now(),
            revision_id: new_revision(),
            image: Some(ImageRef {
                uri: "127.0.0.1:5000/img:v1".into(),
                resolved_uri: format!("127.0.0.1:5000/img@{digest}"),
                manifest_digest: digest,
            }),
            image_config: ImageConfig {
                command: Some(vec!["app.other".into()]),
                ..ImageConfig::default()
            },
        };
        let partition = Partition {
            region: "us-east-1".into(),
            account: "000000000000".into(),
        };
        let config = version.configuration(&partition);
        assert_eq!(config["PackageType"], "Image");
        assert_eq!(config["CodeSha256"], "ab".repeat(32));
        assert_eq!(config["CodeSize"], 0);
        assert!(config.get("Runtime").is_none() && config.get("Handler").is_none());
        assert_eq!(
            config["ImageConfigResponse"],
            json!({"ImageConfig": {"Command": ["app.other"]}})
        );
        let stored: FunctionVersion =
            serde_json::from_value(serde_json::to_value(&version).unwrap_or_default())
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stored, version);
    }
}
