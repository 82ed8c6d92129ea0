//! Puts a build into the embedded service through its own API (the same operations the aws
//! CLI would call): the dependency layer as a layer version, the app archive as the
//! function's code, the settings as its configuration. Only what changed is sent.

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use lambdaship_build::{Artifact, ArtifactKind, BuildReport};
use lambdaship_project::FunctionSpec;
use lambdaship_service::Service;
use lambdaship_service::http::Call;
use serde_json::{Value, json};

use crate::DevError;

/// The role every dev function names; the local service only checks its form.
const DEV_ROLE: &str = "arn:aws:iam::000000000000:role/lambdaship-dev";

/// What an update changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Nothing: the build gave the same archives and settings.
    Nothing,
    /// The app archive only.
    App,
    /// The dependency layer (and perhaps the app).
    Dependencies,
    /// Handler, runtime, memory, timeout or variables (and perhaps code).
    Configuration,
}

/// The function as the service holds it.
pub struct Deployment {
    service: Arc<Service>,
    /// The function's name.
    pub function: String,
    layer_sha: String,
    app_sha: String,
    settings: Value,
}

impl Deployment {
    /// Creates the function from its first build.
    pub async fn create(
        service: Arc<Service>,
        spec: &FunctionSpec,
        report: &BuildReport,
    ) -> Result<Deployment, DevError> {
        let (layer, app) = archives(report, &spec.name)?;
        let layer_arn = publish_layer(&service, &spec.name, layer).await?;
        let settings = settings(spec, &layer_arn);
        let mut body = settings.clone();
        if let Value::Object(map) = &mut body {
            map.insert("FunctionName".into(), json!(spec.name));
            map.insert("Code".into(), json!({"ZipFile": read_base64(app)?}));
        }
        call(&service, "POST", "/2015-03-31/functions", body).await?;
        Ok(Deployment {
            service,
            function: spec.name.clone(),
            layer_sha: layer.sha256.clone(),
            app_sha: app.sha256.clone(),
            settings,
        })
    }

    /// Sends what changed between the deployed build and `report`.
    pub async fn update(
        &mut self,
        spec: &FunctionSpec,
        report: &BuildReport,
    ) -> Result<Change, DevError> {
        let (layer, app) = archives(report, &spec.name)?;
        let mut change = Change::Nothing;
        let mut settings = self.settings.clone();
        if layer.sha256 != self.layer_sha {
            let arn = publish_layer(&self.service, &spec.name, layer).await?;
            settings = self::settings(spec, &arn);
            change = Change::Dependencies;
        } else if let Some(arn) = self.settings["Layers"].get(0).and_then(Value::as_str) {
            settings = self::settings(spec, arn);
        }
        if settings != self.settings {
            let path = format!("/2015-03-31/functions/{}/configuration", self.function);
            call(&self.service, "PUT", &path, settings.clone()).await?;
            if change == Change::Nothing {
                change = Change::Configuration;
            }
            self.settings = settings;
        }
        self.layer_sha = layer.sha256.clone();
        if app.sha256 != self.app_sha {
            let path = format!("/2015-03-31/functions/{}/code", self.function);
            call(
                &self.service,
                "PUT",
                &path,
                json!({"ZipFile": read_base64(app)?}),
            )
            .await?;
            self.app_sha = app.sha256.clone();
            if change == Change::Nothing {
                change = Change::App;
            }
        }
        Ok(change)
    }
}

/// The configuration keys the service receives, from the function's settings.
fn settings(spec: &FunctionSpec, layer_arn: &str) -> Value {
    json!({
        "Runtime": spec.runtime.to_string(),
        "Handler": spec.lambda_handler(),
        "Role": DEV_ROLE,
        "MemorySize": spec.memory_mb,
        "Timeout": spec.timeout_s,
        "Architectures": [spec.architecture.to_string()],
        "Environment": {"Variables": spec.environment},
        "Layers": [layer_arn],
    })
}

/// The layer and app archives of `function` (dev always builds the layers layout).
fn archives<'a>(
    report: &'a BuildReport,
    function: &str,
) -> Result<(&'a Artifact, &'a Artifact), DevError> {
    let find = |kind: ArtifactKind| {
        report
            .artifacts
            .iter()
            .find(|a| a.function == function && a.kind == kind)
    };
    match (find(ArtifactKind::Layer), find(ArtifactKind::App)) {
        (Some(layer), Some(app)) => Ok((layer, app)),
        _ => Err(DevError::Deploy(format!(
            "the build wrote no layer and app archives for `{function}`"
        ))),
    }
}

async fn publish_layer(
    service: &Arc<Service>,
    function: &str,
    layer: &Artifact,
) -> Result<String, DevError> {
    let path = format!("/2018-10-31/layers/{function}-dependencies/versions");
    let answer = call(
        service,
        "POST",
        &path,
        json!({
            "Content": {"ZipFile": read_base64(layer)?},
            "Description": "dependencies, built by lambdaship dev",
        }),
    )
    .await?;
    answer["LayerVersionArn"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| DevError::Deploy("PublishLayerVersion answered no LayerVersionArn".into()))
}

fn read_base64(artifact: &Artifact) -> Result<String, DevError> {
    let bytes = std::fs::read(&artifact.path)
        .map_err(|e| DevError::Deploy(format!("cannot read {}: {e}", artifact.path.display())))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// One API call to the embedded service, in process; its error answer becomes the message.
async fn call(
    service: &Arc<Service>,
    method: &str,
    path: &str,
    body: Value,
) -> Result<Value, DevError> {
    let call = Call {
        method: method
            .parse()
            .map_err(|_| DevError::Deploy(format!("bad method {method}")))?,
        segments: path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        query: Vec::new(),
        headers: Default::default(),
        body: Bytes::from(body.to_string()),
    };
    let reply = service.clone().dispatch(call).await;
    let answer: Value = if reply.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&reply.body).unwrap_or(Value::Null)
    };
    if reply.status >= 300 {
        let message = answer["message"]
            .as_str()
            .or_else(|| answer["Message"].as_str())
            .unwrap_or("no message");
        return Err(DevError::Deploy(format!(
            "{method} {path}: {} {message}",
            answer["Type"].as_str().map_or_else(
                || reply.status.to_string(),
                |kind| format!("{} {kind}", reply.status)
            ),
        )));
    }
    Ok(answer)
}
