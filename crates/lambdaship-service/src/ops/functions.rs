//! CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions, UpdateFunctionCode,
//! UpdateFunctionConfiguration and DeleteFunction.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{check_revision, check_unzipped_total, paged};
use crate::Service;
use crate::error::ApiError;
use crate::http::{Call, Reply};
use crate::model::{
    CodeRef, FunctionDoc, FunctionVersion, ImageConfig, ImageRef, new_revision, timestamp_now,
};
use crate::store::Write;
use crate::validate;

/// `Code` of CreateFunction, and the code fields of UpdateFunctionCode.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct CodeInput {
    pub(crate) zip_file: Option<String>,
    pub(crate) s3_bucket: Option<String>,
    pub(crate) s3_key: Option<String>,
    pub(crate) image_uri: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct EnvironmentInput {
    variables: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct SizeInput {
    size: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct TracingInput {
    mode: Option<String>,
}

/// The configuration fields CreateFunction and UpdateFunctionConfiguration share.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct FunctionInput {
    function_name: Option<String>,
    runtime: Option<String>,
    role: Option<String>,
    handler: Option<String>,
    code: Option<CodeInput>,
    description: Option<String>,
    timeout: Option<i64>,
    memory_size: Option<i64>,
    publish: Option<bool>,
    package_type: Option<String>,
    environment: Option<EnvironmentInput>,
    tags: Option<BTreeMap<String, String>>,
    layers: Option<Vec<String>>,
    architectures: Option<Vec<String>>,
    ephemeral_storage: Option<SizeInput>,
    tracing_config: Option<TracingInput>,
    image_config: Option<ImageConfig>,
    revision_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct UpdateCodeInput {
    #[serde(flatten)]
    code: CodeInput,
    publish: Option<bool>,
    dry_run: Option<bool>,
    revision_id: Option<String>,
    architectures: Option<Vec<String>>,
}

/// The settings every new function has, checked.
struct CommonSettings {
    description: String,
    timeout: u32,
    memory_size: u32,
    environment: BTreeMap<String, String>,
    architecture: String,
    ephemeral_storage: u32,
    tracing_mode: &'static str,
    tags: BTreeMap<String, String>,
}

/// The `code` of an image function: no archive, the manifest digest as its hash (Lambda's
/// `CodeSha256` of an image function), so a new image is a new code revision.
fn image_code(image: &ImageRef) -> CodeRef {
    CodeRef {
        sha256: image.digest_hex().to_string(),
        size: 0,
        unzipped_size: 0,
    }
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::validation("null", field, "Member must not be null"))
}

impl Service {
    /// `POST /2015-03-31/functions`.
    pub(crate) fn create_function(&self, call: &Call) -> Result<Reply, ApiError> {
        let input: FunctionInput = call.json()?;
        let reference = self
            .partition
            .parse_function(&required(input.function_name.clone(), "functionName")?)?;
        if reference.qualifier.is_some() {
            return Err(ApiError::invalid(
                "A function name given to CreateFunction cannot carry a qualifier.",
            ));
        }
        let name = reference.name;
        let role = required(input.role.clone(), "role")?;
        let code = required(input.code.as_ref(), "code")?;
        let image = match input.package_type.as_deref() {
            None | Some("Zip") => false,
            Some("Image") => true,
            Some(other) => {
                return Err(ApiError::validation(
                    other,
                    "packageType",
                    "Member must satisfy enum value set: [Image, Zip]",
                ));
            }
        };
        if image {
            return self.create_image_function(&input, name, role, code);
        }
        if input.image_config.is_some() {
            return Err(ApiError::invalid(
                "ImageConfig applies to functions with packageType Image; a zip function's handler is its Handler.",
            ));
        }
        let (Some(runtime), Some(handler)) = (input.runtime.clone(), input.handler.clone()) else {
            return Err(ApiError::invalid(
                "Runtime and Handler are mandatory parameters for functions created with deployment packages.",
            ));
        };
        validate::role(&role)?;
        validate::runtime(&runtime)?;
        validate::handler(&handler)?;
        let settings = self.common_settings(&input)?;
        let layers = self.resolve_layers(input.layers.as_deref().unwrap_or_default())?;
        let code = self.zip_from(code, "CreateFunction")?;
        let latest = FunctionVersion {
            name: name.clone(),
            version: "$LATEST".to_string(),
            description: settings.description,
            runtime,
            role,
            handler,
            timeout: settings.timeout,
            memory_size: settings.memory_size,
            environment: settings.environment,
            layers,
            architecture: settings.architecture,
            ephemeral_storage: settings.ephemeral_storage,
            tracing_mode: settings.tracing_mode.to_string(),
            code,
            last_modified: timestamp_now(),
            revision_id: new_revision(),
            image: None,
            image_config: ImageConfig::default(),
        };
        self.store_new_function(latest, settings.tags, input.publish.unwrap_or(false))
    }

    /// CreateFunction with `PackageType: Image`: the image is pulled before anything is
    /// stored, so a function never names an image this machine does not have.
    fn create_image_function(
        &self,
        input: &FunctionInput,
        name: String,
        role: String,
        code: &CodeInput,
    ) -> Result<Reply, ApiError> {
        if code.zip_file.is_some() || code.s3_bucket.is_some() || code.s3_key.is_some() {
            return Err(ApiError::invalid(
                "A function with packageType Image takes its code from Code.ImageUri only: leave out ZipFile, S3Bucket and S3Key.",
            ));
        }
        let Some(uri) = code.image_uri.as_deref() else {
            return Err(ApiError::invalid(
                "Please provide ImageUri when creating a function with packageType Image (e.g. --code ImageUri=127.0.0.1:5000/my-function:v1).",
            ));
        };
        if input
            .layers
            .as_ref()
            .is_some_and(|layers| !layers.is_empty())
        {
            return Err(ApiError::invalid(
                "Layers are not supported for functions with packageType Image: put what the layers hold into the image.",
            ));
        }
        validate::role(&role)?;
        let settings = self.common_settings(input)?;
        // Before the pull, which may take long: a name in use is refused at once.
        if self.store.function(&name).is_some() {
            return Err(ApiError::conflict(format!(
                "Function already exist: {name}"
            )));
        }
        // Runtime and Handler, if given, are not used: the image holds both.
        let image = self.images.fetch(uri, &settings.architecture)?;
        let latest = FunctionVersion {
            name,
            version: "$LATEST".to_string(),
            description: settings.description,
            runtime: String::new(),
            role,
            handler: String::new(),
            timeout: settings.timeout,
            memory_size: settings.memory_size,
            environment: settings.environment,
            layers: Vec::new(),
            architecture: settings.architecture,
            ephemeral_storage: settings.ephemeral_storage,
            tracing_mode: settings.tracing_mode.to_string(),
            code: image_code(&image),
            last_modified: timestamp_now(),
            revision_id: new_revision(),
            image: Some(image),
            image_config: input.image_config.clone().unwrap_or_default(),
        };
        self.store_new_function(latest, settings.tags, input.publish.unwrap_or(false))
    }

    /// The settings CreateFunction takes for zip and image functions alike, checked.
    fn common_settings(&self, input: &FunctionInput) -> Result<CommonSettings, ApiError> {
        let description = input.description.clone().unwrap_or_default();
        validate::description(&description)?;
        let timeout = validate::timeout(input.timeout.unwrap_or(3))?;
        let memory_size = validate::memory(input.memory_size.unwrap_or(128))?;
        let environment = input
            .environment
            .as_ref()
            .and_then(|env| env.variables.clone())
            .unwrap_or_default();
        validate::environment(&environment)?;
        let architecture = match &input.architectures {
            Some(list) => validate::architectures(list)?,
            None => "x86_64".to_string(),
        };
        let ephemeral_storage = match input.ephemeral_storage.as_ref().and_then(|s| s.size) {
            Some(size) => validate::ephemeral_storage(size)?,
            None => 512,
        };
        let tracing_mode = tracing_mode(input.tracing_config.as_ref())?.unwrap_or("PassThrough");
        let tags = input.tags.clone().unwrap_or_default();
        check_tags(&tags)?;
        Ok(CommonSettings {
            description,
            timeout,
            memory_size,
            environment,
            architecture,
            ephemeral_storage,
            tracing_mode,
            tags,
        })
    }

    /// Stores a new function (refusing a name in use), publishing it when asked.
    fn store_new_function(
        &self,
        latest: FunctionVersion,
        tags: BTreeMap<String, String>,
        publish: bool,
    ) -> Result<Reply, ApiError> {
        check_unzipped_total(&latest)?;
        let name = latest.name.clone();
        let created = self.store.change_function(&name, |current| {
            if current.is_some() {
                return Err(ApiError::conflict(format!(
                    "Function already exist: {name}"
                )));
            }
            let mut doc = FunctionDoc {
                latest,
                versions: BTreeMap::new(),
                last_version: 0,
                aliases: BTreeMap::new(),
                tags,
                policies: BTreeMap::new(),
                urls: BTreeMap::new(),
            };
            let shown = if publish {
                publish_latest(&mut doc, None)
            } else {
                doc.latest.clone()
            };
            Ok((Write::Put(doc), shown))
        })?;
        Ok(Reply::json(201, &created.configuration(&self.partition)))
    }

    /// `GET /2015-03-31/functions/{name}`.
    pub(crate) fn get_function(&self, call: &Call, name: &str) -> Result<Reply, ApiError> {
        let (doc, qualifier) = self.lookup(call, name)?;
        let resolved = self.resolve(&doc, qualifier.as_deref())?;
        let code = match &resolved.image {
            Some(image) => json!({
                "RepositoryType": "ECR",
                "ImageUri": image.uri,
                "ResolvedImageUri": image.resolved_uri,
            }),
            None => json!({
                "RepositoryType": "S3",
                "Location": format!("{}/_lambdaship/code/{}", call.origin(), resolved.code.sha256),
            }),
        };
        let mut answer = json!({
            "Configuration": resolved.configuration(&self.partition),
            "Code": code,
        });
        if qualifier.is_none()
            && let Value::Object(map) = &mut answer
        {
            map.insert("Tags".to_string(), json!(doc.tags));
        }
        Ok(Reply::json(200, &answer))
    }

    /// `GET /2015-03-31/functions/{name}/configuration`.
    pub(crate) fn get_function_configuration(
        &self,
        call: &Call,
        name: &str,
    ) -> Result<Reply, ApiError> {
        let (doc, qualifier) = self.lookup(call, name)?;
        let resolved = self.resolve(&doc, qualifier.as_deref())?;
        Ok(Reply::json(200, &resolved.configuration(&self.partition)))
    }

    /// `GET /2015-03-31/functions`.
    pub(crate) fn list_functions(&self, call: &Call) -> Result<Reply, ApiError> {
        let all_versions = match call.query("FunctionVersion") {
            None => false,
            Some("ALL") => true,
            Some(other) => {
                return Err(ApiError::validation(
                    other,
                    "functionVersion",
                    "Member must satisfy enum value set: [ALL]",
                ));
            }
        };
        let mut items = Vec::new();
        for doc in self.store.functions() {
            items.push(doc.latest.configuration(&self.partition));
            if all_versions {
                items.extend(
                    doc.versions
                        .values()
                        .map(|v| v.configuration(&self.partition)),
                );
            }
        }
        paged("Functions", items, call)
    }

    /// `PUT /2015-03-31/functions/{name}/code`.
    pub(crate) fn update_function_code(&self, call: &Call, name: &str) -> Result<Reply, ApiError> {
        let name = self.unqualified(name)?;
        let input: UpdateCodeInput = call.json()?;
        let architecture = match &input.architectures {
            Some(list) => Some(validate::architectures(list)?),
            None => None,
        };
        let Some(current) = self.store.function(&name) else {
            return Err(self.function_not_found(&name, None));
        };
        let (code, image) = if current.latest.image.is_some() {
            let given = &input.code;
            let uri = given
                .image_uri
                .as_deref()
                .filter(|_| given.zip_file.is_none() && given.s3_bucket.is_none())
                .ok_or_else(|| {
                    ApiError::invalid(
                        "Please provide ImageUri when updating a function with packageType Image.",
                    )
                })?;
            let architecture = architecture
                .clone()
                .unwrap_or_else(|| current.latest.architecture.clone());
            let image = self.images.fetch(uri, &architecture)?;
            (image_code(&image), Some(image))
        } else {
            if input.code.image_uri.is_some() {
                return Err(ApiError::invalid(
                    "Please don't provide ImageUri when updating a function with packageType Zip. (A function's package type cannot change: create a new function with --package-type Image.)",
                ));
            }
            (self.zip_from(&input.code, "UpdateFunctionCode")?, None)
        };
        let dry_run = input.dry_run.unwrap_or(false);
        let publish = input.publish.unwrap_or(false);
        let updated = self.store.change_function(&name, |current| {
            let mut doc = self.existing(current, &name)?;
            check_revision(
                input.revision_id.as_deref(),
                &doc.latest.revision_id,
                "GetFunction/GetAlias",
            )?;
            doc.latest.code = code;
            if image.is_some() {
                doc.latest.image = image;
            }
            if let Some(architecture) = architecture {
                doc.latest.architecture = architecture;
            }
            doc.latest.last_modified = timestamp_now();
            doc.latest.revision_id = new_revision();
            check_unzipped_total(&doc.latest)?;
            if dry_run {
                let shown = doc.latest.clone();
                return Ok((Write::Keep, shown));
            }
            let shown = if publish {
                publish_latest(&mut doc, None)
            } else {
                doc.latest.clone()
            };
            Ok((Write::Put(doc), shown))
        })?;
        if !dry_run {
            self.retire_latest(&name);
        }
        Ok(Reply::json(200, &updated.configuration(&self.partition)))
    }

    /// `PUT /2015-03-31/functions/{name}/configuration`.
    pub(crate) fn update_function_configuration(
        &self,
        call: &Call,
        name: &str,
    ) -> Result<Reply, ApiError> {
        let name = self.unqualified(name)?;
        let input: FunctionInput = call.json()?;
        if let Some(role) = &input.role {
            validate::role(role)?;
        }
        if let Some(runtime) = &input.runtime {
            validate::runtime(runtime)?;
        }
        if let Some(handler) = &input.handler {
            validate::handler(handler)?;
        }
        if let Some(description) = &input.description {
            validate::description(description)?;
        }
        let timeout = input.timeout.map(validate::timeout).transpose()?;
        let memory_size = input.memory_size.map(validate::memory).transpose()?;
        let environment = input
            .environment
            .as_ref()
            .map(|env| env.variables.clone().unwrap_or_default());
        if let Some(environment) = &environment {
            validate::environment(environment)?;
        }
        let architecture = match &input.architectures {
            Some(list) => Some(validate::architectures(list)?),
            None => None,
        };
        let ephemeral_storage = input
            .ephemeral_storage
            .as_ref()
            .and_then(|s| s.size)
            .map(validate::ephemeral_storage)
            .transpose()?;
        let tracing_mode = tracing_mode(input.tracing_config.as_ref())?;
        let layers = input
            .layers
            .as_deref()
            .map(|arns| self.resolve_layers(arns))
            .transpose()?;
        let updated = self.store.change_function(&name, |current| {
            let mut doc = self.existing(current, &name)?;
            check_revision(
                input.revision_id.as_deref(),
                &doc.latest.revision_id,
                "GetFunction/GetAlias",
            )?;
            let latest = &mut doc.latest;
            let is_image = latest.image.is_some();
            if is_image && layers.as_ref().is_some_and(|layers| !layers.is_empty()) {
                return Err(ApiError::invalid(
                    "Layers are not supported for functions with packageType Image: put what the layers hold into the image.",
                ));
            }
            if !is_image && input.image_config.is_some() {
                return Err(ApiError::invalid(
                    "ImageConfig applies to functions with packageType Image; a zip function's handler is its Handler.",
                ));
            }
            if let Some(image_config) = input.image_config.clone() {
                latest.image_config = image_config;
            }
            if let Some(role) = input.role.clone() {
                latest.role = role;
            }
            // An image function's runtime and handler are the image's: not recorded.
            if let Some(runtime) = input.runtime.clone().filter(|_| !is_image) {
                latest.runtime = runtime;
            }
            if let Some(handler) = input.handler.clone().filter(|_| !is_image) {
                latest.handler = handler;
            }
            if let Some(description) = input.description.clone() {
                latest.description = description;
            }
            if let Some(timeout) = timeout {
                latest.timeout = timeout;
            }
            if let Some(memory_size) = memory_size {
                latest.memory_size = memory_size;
            }
            if let Some(environment) = environment {
                latest.environment = environment;
            }
            if let Some(architecture) = architecture {
                latest.architecture = architecture;
            }
            if let Some(size) = ephemeral_storage {
                latest.ephemeral_storage = size;
            }
            if let Some(mode) = tracing_mode {
                latest.tracing_mode = mode.to_string();
            }
            if let Some(layers) = layers {
                latest.layers = layers;
            }
            check_unzipped_total(latest)?;
            latest.last_modified = timestamp_now();
            latest.revision_id = new_revision();
            let shown = latest.clone();
            Ok((Write::Put(doc), shown))
        })?;
        self.retire_latest(&name);
        Ok(Reply::json(200, &updated.configuration(&self.partition)))
    }

    /// `DELETE /2015-03-31/functions/{name}`: the function, or one published version.
    pub(crate) fn delete_function(&self, call: &Call, name: &str) -> Result<Reply, ApiError> {
        let reference = self.partition.parse_function(name)?;
        let qualifier = merge_qualifier(reference.qualifier, call.query("Qualifier"))?;
        let name = reference.name;
        match qualifier.as_deref() {
            None => {
                self.store.change_function(&name, |current| {
                    self.existing(current, &name)?;
                    Ok((Write::Delete, ()))
                })?;
                self.engine.retire(&name, |_, _| false);
            }
            Some("$LATEST") => {
                return Err(ApiError::invalid(
                    "$LATEST version cannot be deleted without deleting the function.",
                ));
            }
            Some(version) => {
                let number: u64 = version.parse().map_err(|_| {
                    ApiError::invalid(format!(
                        "Deletion of aliases is not supported by DeleteFunction: use DeleteAlias for {version}."
                    ))
                })?;
                self.store.change_function(&name, |current| {
                    let mut doc = self.existing(current, &name)?;
                    let users: Vec<&str> = doc
                        .aliases
                        .values()
                        .filter(|alias| {
                            alias.function_version == version
                                || alias.weights.contains_key(version)
                        })
                        .map(|alias| alias.name.as_str())
                        .collect();
                    if !users.is_empty() {
                        return Err(ApiError::conflict(format!(
                            "Unable to delete version because the following aliases reference it: [{}]",
                            users.join(", ")
                        )));
                    }
                    if doc.versions.remove(&number).is_none() {
                        return Err(self.function_not_found(&name, Some(version)));
                    }
                    Ok((Write::Put(doc), ()))
                })?;
                let version = version.to_string();
                self.engine.retire(&name, move |v, _| v != version);
            }
        }
        Ok(Reply::empty(204))
    }

    /// The stored function a path names, with the qualifier from the name or the query.
    pub(crate) fn lookup(
        &self,
        call: &Call,
        name: &str,
    ) -> Result<(std::sync::Arc<FunctionDoc>, Option<String>), ApiError> {
        let reference = self.partition.parse_function(name)?;
        let qualifier = merge_qualifier(reference.qualifier, call.query("Qualifier"))?;
        let doc = self
            .store
            .function(&reference.name)
            .ok_or_else(|| self.function_not_found(&reference.name, qualifier.as_deref()))?;
        Ok((doc, qualifier))
    }

    /// A function name that must not carry a qualifier (updates apply to `$LATEST`).
    pub(crate) fn unqualified(&self, name: &str) -> Result<String, ApiError> {
        let reference = self.partition.parse_function(name)?;
        match reference.qualifier.as_deref() {
            None | Some("$LATEST") => Ok(reference.name),
            Some(qualifier) => Err(ApiError::invalid(format!(
                "Only $LATEST can be updated; {qualifier} is a published version or an alias. Update the unqualified function, then publish a version."
            ))),
        }
    }

    fn zip_from(
        &self,
        code: &CodeInput,
        operation: &str,
    ) -> Result<crate::model::CodeRef, ApiError> {
        if code.image_uri.is_some() {
            return Err(ApiError::invalid(
                "ImageUri is the code of a function with packageType Image: pass --package-type Image with it, or give a zip (--zip-file fileb://PATH) for a zip function.",
            ));
        }
        if code.s3_bucket.is_some() || code.s3_key.is_some() {
            return Err(ApiError::invalid(
                "lambdaship server has no S3: pass the zip itself (ZipFile, or --zip-file fileb://PATH with the aws CLI) instead of S3Bucket/S3Key.",
            ));
        }
        let zip = code.zip_file.as_deref().ok_or_else(|| {
            ApiError::invalid("Please provide a source for function code (ZipFile).")
        })?;
        self.ingest_zip(zip, operation)
    }

    /// New invocations of `$LATEST` go to a pool of its current revision; the others drain.
    fn retire_latest(&self, name: &str) {
        let Some(doc) = self.store.function(name) else {
            return;
        };
        let current = doc.latest.revision_id.clone();
        self.engine.retire(name, move |version, revision| {
            version != "$LATEST" || revision == current
        });
    }
}

/// The qualifier from the name and from `?Qualifier=`, which must agree.
pub(crate) fn merge_qualifier(
    from_name: Option<String>,
    from_query: Option<&str>,
) -> Result<Option<String>, ApiError> {
    match (from_name, from_query) {
        (Some(a), Some(b)) if a != b => Err(ApiError::invalid(
            "The derived qualifier from the function name does not match the specified qualifier.",
        )),
        (Some(a), _) => Ok(Some(a)),
        (None, Some(b)) => {
            crate::names::check_qualifier(b)?;
            Ok(Some(b.to_string()))
        }
        (None, None) => Ok(None),
    }
}

/// Publishes `$LATEST` as a new version unless the newest version already has its code and
/// configuration (then that version is the answer, as Lambda does).
pub(crate) fn publish_latest(
    doc: &mut FunctionDoc,
    description: Option<String>,
) -> FunctionVersion {
    if let Some((_, newest)) = doc.versions.iter().next_back()
        && newest.same_content(&doc.latest)
    {
        return newest.clone();
    }
    doc.last_version += 1;
    let mut version = doc.latest.clone();
    version.version = doc.last_version.to_string();
    version.revision_id = new_revision();
    version.last_modified = timestamp_now();
    if let Some(description) = description {
        version.description = description;
    }
    doc.versions.insert(doc.last_version, version.clone());
    version
}

fn tracing_mode(input: Option<&TracingInput>) -> Result<Option<&'static str>, ApiError> {
    match input.and_then(|t| t.mode.as_deref()) {
        None => Ok(None),
        Some("PassThrough") => Ok(Some("PassThrough")),
        Some("Active") => Ok(Some("Active")),
        Some(other) => Err(ApiError::validation(
            other,
            "tracingConfig.mode",
            "Member must satisfy enum value set: [Active, PassThrough]",
        )),
    }
}

/// Tags: at most 50, keys up to 128 characters, values up to 256.
pub(crate) fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if tags.len() > 50 {
        return Err(ApiError::invalid("A function can have at most 50 tags."));
    }
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > 128 || key.starts_with("aws:") {
            return Err(ApiError::invalid(format!(
                "Tag key `{key}` is invalid: 1 to 128 characters, not starting with aws:"
            )));
        }
        if value.chars().count() > 256 {
            return Err(ApiError::invalid(format!(
                "The value of tag `{key}` is longer than 256 characters."
            )));
        }
    }
    Ok(())
}
