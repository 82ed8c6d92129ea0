//! Puts a build into the embedded service through its own API (the same operations the aws
//! CLI would call): the dependency layer as a layer version, the app archive as the
//! function's code, the settings as its configuration; or, for the `image` layout, the image
//! as an image function's code. Only what changed is sent.

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

/// The repository the images of dev functions are named in. They are imported into the
/// service's image store before the function names them by digest, so no registry is ever
/// asked for them.
const DEV_REPOSITORY: &str = "localhost/lambdaship-dev";

/// What an update changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Nothing: the build gave the same archives and settings.
    Nothing,
    /// The app archive only.
    App,
    /// The dependency layer (and perhaps the app).
    Dependencies,
    /// The image (and perhaps the configuration).
    Image,
    /// Handler, runtime, memory, timeout or variables (and perhaps code).
    Configuration,
}

/// The code the service runs now.
enum Deployed {
    /// A layer and an app archive, by SHA-256.
    Layers { layer_sha: String, app_sha: String },
    /// An image, by the `ImageUri` that names it by digest.
    Image { uri: String },
}

/// The function as the service holds it.
pub struct Deployment {
    service: Arc<Service>,
    /// The function's name.
    pub function: String,
    deployed: Deployed,
    settings: Value,
}

impl Deployment {
    /// Creates the function from its first build.
    pub async fn create(
        service: Arc<Service>,
        spec: &FunctionSpec,
        report: &BuildReport,
    ) -> Result<Deployment, DevError> {
        let (deployed, settings, code) = match built(report, &spec.name)? {
            Built::Image(image) => {
                let uri = import(&service, spec, image)?;
                let code = json!({"ImageUri": uri});
                (Deployed::Image { uri }, image_settings(spec), code)
            }
            Built::Layers { layer, app } => {
                let layer_arn = publish_layer(&service, &spec.name, layer).await?;
                let code = json!({"ZipFile": read_base64(app)?});
                let deployed = Deployed::Layers {
                    layer_sha: layer.sha256.clone(),
                    app_sha: app.sha256.clone(),
                };
                (deployed, settings(spec, &layer_arn), code)
            }
        };
        let mut body = settings.clone();
        if let Value::Object(map) = &mut body {
            map.insert("FunctionName".into(), json!(spec.name));
            map.insert("Code".into(), code);
            if matches!(deployed, Deployed::Image { .. }) {
                map.insert("PackageType".into(), json!("Image"));
            }
        }
        call(&service, "POST", "/2015-03-31/functions", body).await?;
        Ok(Deployment {
            service,
            function: spec.name.clone(),
            deployed,
            settings,
        })
    }

    /// Sends what changed between the deployed build and `report`.
    pub async fn update(
        &mut self,
        spec: &FunctionSpec,
        report: &BuildReport,
    ) -> Result<Change, DevError> {
        match built(report, &spec.name)? {
            Built::Image(image) => self.update_image(spec, image).await,
            Built::Layers { layer, app } => self.update_layers(spec, layer, app).await,
        }
    }

    async fn update_image(
        &mut self,
        spec: &FunctionSpec,
        image: &Artifact,
    ) -> Result<Change, DevError> {
        let Deployed::Image { uri: deployed } = &self.deployed else {
            return Err(layout_changed());
        };
        let uri = import(&self.service, spec, image)?;
        let mut change = Change::Nothing;
        let settings = image_settings(spec);
        if settings != self.settings {
            let path = format!("/2015-03-31/functions/{}/configuration", self.function);
            call(&self.service, "PUT", &path, settings.clone()).await?;
            change = Change::Configuration;
            self.settings = settings;
        }
        if uri != *deployed {
            let path = format!("/2015-03-31/functions/{}/code", self.function);
            call(&self.service, "PUT", &path, json!({"ImageUri": uri})).await?;
            self.deployed = Deployed::Image { uri };
            if change == Change::Nothing {
                change = Change::Image;
            }
        }
        Ok(change)
    }

    async fn update_layers(
        &mut self,
        spec: &FunctionSpec,
        layer: &Artifact,
        app: &Artifact,
    ) -> Result<Change, DevError> {
        let Deployed::Layers { layer_sha, app_sha } = &self.deployed else {
            return Err(layout_changed());
        };
        let (layer_sha, app_sha) = (layer_sha.clone(), app_sha.clone());
        let mut change = Change::Nothing;
        let mut settings = self.settings.clone();
        if layer.sha256 != layer_sha {
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
        self.deployed = Deployed::Layers {
            layer_sha: layer.sha256.clone(),
            app_sha: app_sha.clone(),
        };
        if app.sha256 != app_sha {
            let path = format!("/2015-03-31/functions/{}/code", self.function);
            call(
                &self.service,
                "PUT",
                &path,
                json!({"ZipFile": read_base64(app)?}),
            )
            .await?;
            self.deployed = Deployed::Layers {
                layer_sha: layer.sha256.clone(),
                app_sha: app.sha256.clone(),
            };
            if change == Change::Nothing {
                change = Change::App;
            }
        }
        Ok(change)
    }
}

/// A function's package type cannot change, on Lambda or here.
fn layout_changed() -> DevError {
    DevError::Deploy(
        "the function's layout changed between `image` and an archive layout: restart lambdaship dev to serve it the new way".to_string(),
    )
}

/// The image artifact's layout imported into the service's image store; the `ImageUri`
/// naming it.
fn import(service: &Service, spec: &FunctionSpec, image: &Artifact) -> Result<String, DevError> {
    service
        .images()
        .import_layout(&image.path, &spec.architecture.to_string(), DEV_REPOSITORY)
        .map_err(|e| DevError::Deploy(e.to_string()))
}

/// The configuration keys the service receives for an image function: the image holds its
/// runtime and handler.
fn image_settings(spec: &FunctionSpec) -> Value {
    json!({
        "Role": DEV_ROLE,
        "MemorySize": spec.memory_mb,
        "Timeout": spec.timeout_s,
        "Architectures": [spec.architecture.to_string()],
        "Environment": {"Variables": spec.environment},
    })
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

/// What a build made of a function.
enum Built<'a> {
    /// The `image` layout's image.
    Image(&'a Artifact),
    /// The layers layout's archives (dev builds the other archive layouts this way).
    Layers {
        layer: &'a Artifact,
        app: &'a Artifact,
    },
}

/// The image, or the layer and app archives, of `function`.
fn built<'a>(report: &'a BuildReport, function: &str) -> Result<Built<'a>, DevError> {
    let find = |kind: ArtifactKind| {
        report
            .artifacts
            .iter()
            .find(|a| a.function == function && a.kind == kind)
    };
    if let Some(image) = find(ArtifactKind::Image) {
        return Ok(Built::Image(image));
    }
    match (find(ArtifactKind::Layer), find(ArtifactKind::App)) {
        (Some(layer), Some(app)) => Ok(Built::Layers { layer, app }),
        _ => Err(DevError::Deploy(format!(
            "the build wrote no image, nor layer and app archives, for `{function}`"
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
