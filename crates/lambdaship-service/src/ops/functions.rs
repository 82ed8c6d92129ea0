//! CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions, UpdateFunctionCode,
//! UpdateFunctionConfiguration and DeleteFunction.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{check_revision, check_unzipped_total, paged};
use crate::Service;
use crate::error::ApiError;
use crate::http::{Call, Reply};
use crate::model::{FunctionDoc, FunctionVersion, new_revision, timestamp_now};
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
        if input.package_type.as_deref() == Some("Image") {
            return Err(ApiError::invalid(
                "lambdaship server runs zip functions (PackageType Zip); container image functions cannot be created here. Build a zip with `lambdaship build` and pass it with --zip-file fileb://PATH.",
            ));
        }
        if let Some(other) = input.package_type.as_deref().filter(|p| *p != "Zip") {
            return Err(ApiError::validation(
                other,
                "packageType",
                "Member must satisfy enum value set: [Image, Zip]",
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
        let layers = self.resolve_layers(input.layers.as_deref().unwrap_or_default())?;
        let tags = input.tags.clone().unwrap_or_default();
        check_tags(&tags)?;
        let code = self.zip_from(code, "CreateFunction")?;
        let latest = FunctionVersion {
            name: name.clone(),
            version: "$LATEST".to_string(),
            description,
            runtime,
            role,
            handler,
            timeout,
            memory_size,
            environment,
            layers,
            architecture,
            ephemeral_storage,
            tracing_mode: tracing_mode.to_string(),
            code,
            last_modified: timestamp_now(),
            revision_id: new_revision(),
        };
        check_unzipped_total(&latest)?;
        let publish = input.publish.unwrap_or(false);
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
        let mut answer = json!({
            "Configuration": resolved.configuration(&self.partition),
            "Code": {
                "RepositoryType": "S3",
                "Location": format!("{}/_lambdaship/code/{}", call.origin(), resolved.code.sha256),
            },
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
        if self.store.function(&name).is_none() {
            return Err(self.function_not_found(&name, None));
        }
        let code = self.zip_from(&input.code, "UpdateFunctionCode")?;
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
            if let Some(role) = input.role.clone() {
                latest.role = role;
            }
            if let Some(runtime) = input.runtime.clone() {
                latest.runtime = runtime;
            }
            if let Some(handler) = input.handler.clone() {
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
                "lambdaship server runs zip functions; ImageUri cannot be used here. Pass the zip itself (--zip-file fileb://PATH).",
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
