//! Function URL configurations: CreateFunctionUrlConfig, GetFunctionUrlConfig,
//! UpdateFunctionUrlConfig, DeleteFunctionUrlConfig and ListFunctionUrlConfigs. Serving the
//! URLs themselves is [`crate::urls`].

use serde::Deserialize;
use serde_json::Value;

use super::functions::merge_qualifier;
use super::paged;
use crate::Service;
use crate::error::ApiError;
use crate::http::{Call, Reply};
use crate::model::{FunctionUrl, InvokeMode, UrlAuth, UrlCors, iso_timestamp_now, new_url_id};
use crate::store::Write;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct UrlInput {
    auth_type: Option<String>,
    cors: Option<UrlCors>,
    invoke_mode: Option<String>,
}

/// Methods a CORS configuration may allow (`*` for all), as Lambda accepts them.
const CORS_METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*",
];

impl Service {
    /// `POST /2021-10-31/functions/{name}/url`.
    pub(crate) fn create_function_url(&self, call: &Call, name: &str) -> Result<Reply, ApiError> {
        let (name, qualifier) = self.url_target(call, name)?;
        let input: UrlInput = call.json()?;
        let auth = parse_auth(input.auth_type.as_deref())?
            .ok_or_else(|| ApiError::validation("null", "authType", "Member must not be null"))?;
        let invoke_mode = parse_invoke_mode(input.invoke_mode.as_deref())?;
        if let Some(cors) = &input.cors {
            check_cors(cors)?;
        }
        let created = self.store.change_function(&name, |current| {
            let mut doc = self.existing(current, &name)?;
            self.check_url_qualifier(&doc, &name, &qualifier)?;
            if doc.urls.contains_key(&qualifier) {
                return Err(ApiError::conflict(format!(
                    "Failed to create function url config for [functionArn = {}]. Error message:  FunctionUrlConfig exists for this Lambda function",
                    self.url_arn(&name, &qualifier)
                )));
            }
            let now = iso_timestamp_now();
            let url = FunctionUrl {
                url_id: new_url_id(),
                auth,
                invoke_mode: invoke_mode.unwrap_or(InvokeMode::Buffered),
                cors: input.cors.clone(),
                created: now.clone(),
                modified: now,
            };
            doc.urls.insert(qualifier.clone(), url.clone());
            Ok((Write::Put(doc), url))
        })?;
        let mut config = created.configuration(&self.partition, &name, &qualifier, &call.origin());
        // CreateFunctionUrlConfig's answer has no LastModifiedTime.
        if let Value::Object(map) = &mut config {
            map.remove("LastModifiedTime");
        }
        Ok(Reply::json(201, &config))
    }

    /// `GET /2021-10-31/functions/{name}/url`.
    pub(crate) fn get_function_url(&self, call: &Call, name: &str) -> Result<Reply, ApiError> {
        let (name, qualifier) = self.url_target(call, name)?;
        let doc = self
            .store
            .function(&name)
            .ok_or_else(|| self.function_not_found(&name, None))?;
        let url = doc.urls.get(&qualifier).ok_or_else(url_not_found)?;
        Ok(Reply::json(
            200,
            &url.configuration(&self.partition, &name, &qualifier, &call.origin()),
        ))
    }

    /// `PUT /2021-10-31/functions/{name}/url`.
    pub(crate) fn update_function_url(&self, call: &Call, name: &str) -> Result<Reply, ApiError> {
        let (name, qualifier) = self.url_target(call, name)?;
        let input: UrlInput = call.json()?;
        let auth = parse_auth(input.auth_type.as_deref())?;
        let invoke_mode = parse_invoke_mode(input.invoke_mode.as_deref())?;
        if let Some(cors) = &input.cors {
            check_cors(cors)?;
        }
        let updated = self.store.change_function(&name, |current| {
            let mut doc = self.existing(current, &name)?;
            let url = doc.urls.get_mut(&qualifier).ok_or_else(url_not_found)?;
            if let Some(auth) = auth {
                url.auth = auth;
            }
            if let Some(mode) = invoke_mode {
                url.invoke_mode = mode;
            }
            if let Some(cors) = &input.cors {
                url.cors = Some(cors.clone());
            }
            url.modified = iso_timestamp_now();
            let url = url.clone();
            Ok((Write::Put(doc), url))
        })?;
        Ok(Reply::json(
            200,
            &updated.configuration(&self.partition, &name, &qualifier, &call.origin()),
        ))
    }

    /// `DELETE /2021-10-31/functions/{name}/url`.
    pub(crate) fn delete_function_url(&self, call: &Call, name: &str) -> Result<Reply, ApiError> {
        let (name, qualifier) = self.url_target(call, name)?;
        self.store.change_function(&name, |current| {
            let mut doc = self.existing(current, &name)?;
            if doc.urls.remove(&qualifier).is_none() {
                return Err(url_not_found());
            }
            Ok((Write::Put(doc), ()))
        })?;
        Ok(Reply::empty(204))
    }

    /// `GET /2021-10-31/functions/{name}/urls`.
    pub(crate) fn list_function_urls(&self, call: &Call, name: &str) -> Result<Reply, ApiError> {
        let name = self.unqualified(name)?;
        let doc = self
            .store
            .function(&name)
            .ok_or_else(|| self.function_not_found(&name, None))?;
        let origin = call.origin();
        let items = doc
            .urls
            .iter()
            .map(|(qualifier, url)| url.configuration(&self.partition, &name, qualifier, &origin))
            .collect();
        paged("FunctionUrlConfigs", items, call)
    }

    /// The function and qualifier (`""` for none) a URL operation names. A URL belongs to
    /// the unqualified function or to an alias, never to a version or `$LATEST`.
    fn url_target(&self, call: &Call, name: &str) -> Result<(String, String), ApiError> {
        let reference = self.partition.parse_function(name)?;
        let qualifier = merge_qualifier(reference.qualifier, call.query("Qualifier"))?;
        let qualifier = qualifier.unwrap_or_default();
        if !qualifier.is_empty()
            && (qualifier.starts_with('$') || qualifier.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(ApiError::validation(
                &qualifier,
                "qualifier",
                "Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)",
            ));
        }
        Ok((reference.name, qualifier))
    }

    fn check_url_qualifier(
        &self,
        doc: &crate::model::FunctionDoc,
        name: &str,
        qualifier: &str,
    ) -> Result<(), ApiError> {
        if qualifier.is_empty() || doc.aliases.contains_key(qualifier) {
            Ok(())
        } else {
            Err(self.function_not_found(name, Some(qualifier)))
        }
    }

    fn url_arn(&self, name: &str, qualifier: &str) -> String {
        if qualifier.is_empty() {
            self.partition.function_arn(name)
        } else {
            self.partition.qualified_arn(name, qualifier)
        }
    }
}

fn url_not_found() -> ApiError {
    ApiError::not_found("The resource you requested does not exist.")
}

fn parse_auth(value: Option<&str>) -> Result<Option<UrlAuth>, ApiError> {
    match value {
        None => Ok(None),
        Some("NONE") => Ok(Some(UrlAuth::None)),
        Some("AWS_IAM") => Ok(Some(UrlAuth::AwsIam)),
        Some(other) => Err(ApiError::validation(
            other,
            "authType",
            "Member must satisfy enum value set: [NONE, AWS_IAM]",
        )),
    }
}

fn parse_invoke_mode(value: Option<&str>) -> Result<Option<InvokeMode>, ApiError> {
    match value {
        None => Ok(None),
        Some("BUFFERED") => Ok(Some(InvokeMode::Buffered)),
        Some("RESPONSE_STREAM") => Ok(Some(InvokeMode::ResponseStream)),
        Some(other) => Err(ApiError::validation(
            other,
            "invokeMode",
            "Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]",
        )),
    }
}

/// The limits of the Cors shape and Lambda's own checks of its values.
fn check_cors(cors: &UrlCors) -> Result<(), ApiError> {
    let too_many = |field: &str, max: usize, list: &Option<Vec<String>>| match list {
        Some(items) if items.len() > max => Err(ApiError::validation(
            &format!("{items:?}"),
            field,
            &format!("Member must have length less than or equal to {max}"),
        )),
        _ => Ok(()),
    };
    too_many("cors.allowOrigins", 100, &cors.allow_origins)?;
    too_many("cors.allowHeaders", 100, &cors.allow_headers)?;
    too_many("cors.exposeHeaders", 100, &cors.expose_headers)?;
    too_many("cors.allowMethods", 6, &cors.allow_methods)?;
    for method in cors.allow_methods.iter().flatten() {
        if !CORS_METHODS.contains(&method.to_ascii_uppercase().as_str()) {
            return Err(ApiError::invalid(format!(
                "Cors AllowMethods contains '{method}', which is not an HTTP method; use GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or *."
            )));
        }
    }
    for origin in cors.allow_origins.iter().flatten() {
        if origin.is_empty() || origin.len() > 253 {
            return Err(ApiError::validation(
                origin,
                "cors.allowOrigins.member",
                "Member must have length between 1 and 253",
            ));
        }
    }
    if cors.max_age.is_some_and(|age| age > 86_400) {
        return Err(ApiError::validation(
            &format!("{:?}", cors.max_age),
            "cors.maxAge",
            "Member must have value less than or equal to 86400",
        ));
    }
    Ok(())
}
