//! `[tool.lambdaship]`: the function settings, their defaults, per-function tables and the
//! command-line overrides.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::base_image::BaseImageSource;
use crate::error::ProjectError;
use crate::function::{
    FunctionSpec, Handler, Memory, Timeout, check_bucket_name, check_function_name, check_role,
};
use crate::http::HttpConfig;
use crate::image_repository::ImageRepository;
use crate::pyproject::normalize_package_name;
use crate::target::{Architecture, Layout, Runtime};
use crate::web::WebApp;

/// Lambda's default handler name, used when a project names none.
pub const DEFAULT_HANDLER: &str = "lambda_function.lambda_handler";
/// Default memory size in MB (Lambda's own default).
pub const DEFAULT_MEMORY_MB: u32 = 128;
/// Default timeout in seconds (Lambda's own default).
pub const DEFAULT_TIMEOUT_S: u32 = 3;
/// Lambda's limit on the total size of a function's environment variables.
const ENVIRONMENT_LIMIT_BYTES: usize = 4096;

/// One `[tool.lambdaship]` or `[tool.lambdaship.functions.NAME]` table as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    name: Option<String>,
    handler: Option<Handler>,
    runtime: Option<Runtime>,
    architecture: Option<Architecture>,
    memory: Option<Memory>,
    timeout: Option<Timeout>,
    layout: Option<Layout>,
    base_image: Option<String>,
    include: Option<Vec<String>>,
    exclude: Option<Vec<String>>,
    environment: Option<BTreeMap<String, String>>,
    build_from_source: Option<Vec<String>>,
    layers: Option<Vec<String>>,
    groups: Option<Vec<String>>,
    extras: Option<Vec<String>>,
    http: Option<HttpConfig>,
    web: Option<String>,
    web_port: Option<i64>,
    role: Option<String>,
    s3_bucket: Option<String>,
    image_repository: Option<String>,
    #[serde(default)]
    functions: BTreeMap<String, RawConfig>,
}

impl RawConfig {
    /// `self` with every unset key taken from `defaults`.
    fn over(&self, defaults: &RawConfig) -> RawConfig {
        RawConfig {
            name: self.name.clone(),
            // A function table that is a web app does not inherit a top-level handler.
            handler: match self.web {
                Some(_) => self.handler.clone(),
                None => self.handler.clone().or_else(|| defaults.handler.clone()),
            },
            runtime: self.runtime.or(defaults.runtime),
            architecture: self.architecture.or(defaults.architecture),
            memory: self.memory.or(defaults.memory),
            timeout: self.timeout.or(defaults.timeout),
            layout: self.layout.or(defaults.layout),
            base_image: self
                .base_image
                .clone()
                .or_else(|| defaults.base_image.clone()),
            include: self.include.clone().or_else(|| defaults.include.clone()),
            exclude: self.exclude.clone().or_else(|| defaults.exclude.clone()),
            environment: self
                .environment
                .clone()
                .or_else(|| defaults.environment.clone()),
            build_from_source: self
                .build_from_source
                .clone()
                .or_else(|| defaults.build_from_source.clone()),
            layers: self.layers.clone().or_else(|| defaults.layers.clone()),
            groups: self.groups.clone().or_else(|| defaults.groups.clone()),
            extras: self.extras.clone().or_else(|| defaults.extras.clone()),
            http: self.http.clone().or_else(|| defaults.http.clone()),
            // A function table with its own handler is not a web app the top level defines.
            web: match self.handler {
                Some(_) => self.web.clone(),
                None => self.web.clone().or_else(|| defaults.web.clone()),
            },
            web_port: self.web_port.or(defaults.web_port),
            role: self.role.clone().or_else(|| defaults.role.clone()),
            s3_bucket: self
                .s3_bucket
                .clone()
                .or_else(|| defaults.s3_bucket.clone()),
            image_repository: self
                .image_repository
                .clone()
                .or_else(|| defaults.image_repository.clone()),
            functions: BTreeMap::new(),
        }
    }
}

/// Settings given on the command line; each one, when set, wins over the configuration.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--runtime`.
    pub runtime: Option<Runtime>,
    /// `--arch`.
    pub architecture: Option<Architecture>,
    /// `--layout`.
    pub layout: Option<Layout>,
    /// `--base-image`, its relative paths already resolved where the command was run.
    pub base_image: Option<BaseImageSource>,
}

/// The dependency selection shared by all functions of a project.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DependencySelection {
    /// `[dependency-groups]` installed besides the project's dependencies.
    pub groups: Vec<String>,
    /// `[project.optional-dependencies]` extras installed.
    pub extras: Vec<String>,
}

/// Turns the `[tool.lambdaship]` table into function definitions.
pub(crate) struct ConfigResolver<'a> {
    /// The pyproject.toml, for error messages.
    pub path: &'a Path,
    /// The default function name (`[project].name` or the directory name).
    pub default_name: &'a str,
    /// Command-line overrides.
    pub overrides: &'a Overrides,
    /// The project directory, where `include` paths start.
    pub project_dir: &'a Path,
    /// Whether the project is installed as a wheel (it has a `[build-system]`).
    pub has_build_system: bool,
}

impl ConfigResolver<'_> {
    /// The functions the table defines: one per `[tool.lambdaship.functions.NAME]`, or one
    /// from the top-level keys when there are none.
    pub fn functions(&self, config: &RawConfig) -> Result<Vec<FunctionSpec>, ProjectError> {
        if config.functions.is_empty() {
            let name = config
                .name
                .clone()
                .unwrap_or_else(|| self.default_name.to_string());
            return Ok(vec![self.resolve(config, name, "[tool.lambdaship]")?]);
        }
        if config.name.is_some() {
            return Err(ProjectError::invalid(
                self.path,
                "[tool.lambdaship] name",
                "a top-level name cannot be used with [tool.lambdaship.functions.NAME] tables: each table's NAME is its function name",
            ));
        }
        config
            .functions
            .iter()
            .map(|(key, table)| {
                let section = format!("[tool.lambdaship.functions.{key}]");
                if !table.functions.is_empty() {
                    return Err(ProjectError::invalid(
                        self.path,
                        &section,
                        "function tables cannot nest `functions`",
                    ));
                }
                for (field, set) in [
                    ("groups", table.groups.is_some()),
                    ("extras", table.extras.is_some()),
                ] {
                    if set {
                        return Err(ProjectError::invalid(
                            self.path,
                            format!("{section} {field}"),
                            "all functions share one dependency set: set it in [tool.lambdaship]",
                        ));
                    }
                }
                let name = table.name.clone().unwrap_or_else(|| key.clone());
                self.resolve(&table.over(config), name, &section)
            })
            .collect()
    }

    /// The groups and extras the whole project installs.
    pub fn dependency_selection(&self, config: &RawConfig) -> DependencySelection {
        DependencySelection {
            groups: config.groups.clone().unwrap_or_default(),
            extras: config.extras.clone().unwrap_or_default(),
        }
    }

    /// The handler's top-level package or module, when the project is not installed as a
    /// wheel and the code is there; the build reports a missing handler module.
    fn default_include(&self, handler: &Handler) -> Vec<String> {
        if self.has_build_system {
            return Vec::new();
        }
        let top = handler.top_level();
        [top.to_string(), format!("{top}.py")]
            .into_iter()
            .filter(|candidate| self.project_dir.join(candidate).exists())
            .take(1)
            .collect()
    }

    /// What a web command names of the project, when the project is not installed as a
    /// wheel: the top-level module of each `module:attribute` argument (`app:app`,
    /// `app.main:app`) and the first part of each argument that is a project path
    /// (`app/main.py`), when it exists.
    fn default_web_include(&self, web: &WebApp) -> Vec<String> {
        if self.has_build_system {
            return Vec::new();
        }
        let mut include: Vec<String> = Vec::new();
        for word in web.words.iter().skip(1) {
            let named = match word.split_once(':') {
                Some((module, _)) if !module.contains('/') => module.split('.').next(),
                _ => word.split('/').next(),
            };
            let Some(top) = named.filter(|t| !t.is_empty() && !t.starts_with('-')) else {
                continue;
            };
            for candidate in [top.to_string(), format!("{top}.py")] {
                let path = self.project_dir.join(&candidate);
                if path.exists() && !include.contains(&candidate) && !candidate.starts_with('.') {
                    include.push(candidate);
                    break;
                }
            }
        }
        include
    }

    fn resolve(
        &self,
        raw: &RawConfig,
        name: String,
        section: &str,
    ) -> Result<FunctionSpec, ProjectError> {
        check_function_name(&name).map_err(|message| {
            ProjectError::invalid(
                self.path,
                format!("{section} name"),
                format!("{message}; set `name` in {section}"),
            )
        })?;
        let handler = match &raw.handler {
            Some(handler) => handler.clone(),
            None => DEFAULT_HANDLER
                .parse()
                .map_err(|e: String| ProjectError::invalid(self.path, section, e))?,
        };
        let web = self.web_app(raw, section)?;
        let mut environment = raw.environment.clone().unwrap_or_default();
        if let Some(web) = &web {
            for (key, value) in web.environment() {
                match environment.get(key) {
                    Some(set) if *set != value => {
                        return Err(ProjectError::invalid(
                            self.path,
                            format!("{section} environment.{key}"),
                            format!(
                                "a web function needs {key}={value} (from `web`/`web_port`), not `{set}`: remove it, or change `web_port`"
                            ),
                        ));
                    }
                    _ => {
                        environment.insert(key.to_string(), value);
                    }
                }
            }
        }
        let environment_bytes: usize = environment.iter().map(|(k, v)| k.len() + v.len()).sum();
        if environment_bytes > ENVIRONMENT_LIMIT_BYTES {
            return Err(ProjectError::invalid(
                self.path,
                format!("{section} environment"),
                format!(
                    "the variables take {environment_bytes} bytes; Lambda allows 4 KB in all: move large values to a file or a parameter store"
                ),
            ));
        }
        let include = match &raw.include {
            Some(include) => include.clone(),
            None => match &web {
                Some(web) => self.default_web_include(web),
                None => self.default_include(&handler),
            },
        };
        for path in &include {
            if Path::new(path).is_absolute() || path.split('/').any(|part| part == "..") {
                return Err(ProjectError::invalid(
                    self.path,
                    format!("{section} include"),
                    format!("`{path}` must be a path inside the project directory"),
                ));
            }
        }
        let exclude = raw.exclude.clone().unwrap_or_default();
        for pattern in &exclude {
            globset::Glob::new(pattern).map_err(|e| {
                ProjectError::invalid(
                    self.path,
                    format!("{section} exclude"),
                    format!("bad glob `{pattern}`: {e}"),
                )
            })?;
        }
        let http = raw.http.clone().unwrap_or_default();
        http.check().map_err(|(field, message)| {
            ProjectError::invalid(self.path, format!("{section} http.{field}"), message)
        })?;
        if let Some(role) = &raw.role {
            check_role(role).map_err(|message| {
                ProjectError::invalid(self.path, format!("{section} role"), message)
            })?;
        }
        if let Some(bucket) = &raw.s3_bucket {
            check_bucket_name(bucket).map_err(|message| {
                ProjectError::invalid(self.path, format!("{section} s3_bucket"), message)
            })?;
        }
        let base_image = match (&self.overrides.base_image, &raw.base_image) {
            (Some(source), _) => Some(source.clone()),
            (None, Some(value)) => Some(BaseImageSource::parse(value, self.project_dir).map_err(
                |message| {
                    ProjectError::invalid(self.path, format!("{section} base_image"), message)
                },
            )?),
            (None, None) => None,
        };
        let image_repository = raw
            .image_repository
            .as_deref()
            .map(ImageRepository::parse)
            .transpose()
            .map_err(|message| {
                ProjectError::invalid(self.path, format!("{section} image_repository"), message)
            })?;
        Ok(FunctionSpec {
            name,
            image_repository,
            base_image,
            role: raw.role.clone(),
            s3_bucket: raw.s3_bucket.clone(),
            handler,
            http,
            web,
            runtime: self
                .overrides
                .runtime
                .or(raw.runtime)
                .unwrap_or(Runtime::DEFAULT),
            architecture: self
                .overrides
                .architecture
                .or(raw.architecture)
                .unwrap_or(Architecture::X86_64),
            memory_mb: raw.memory.map_or(DEFAULT_MEMORY_MB, |m| m.0),
            timeout_s: raw.timeout.map_or(DEFAULT_TIMEOUT_S, |t| t.0),
            layout: self.overrides.layout.or(raw.layout).unwrap_or(Layout::Zip),
            include,
            exclude,
            environment,
            build_from_source: raw
                .build_from_source
                .iter()
                .flatten()
                .map(|name| normalize_package_name(name))
                .collect(),
            layers: raw.layers.clone().unwrap_or_default(),
        })
    }

    /// The web app `web` and `web_port` describe, checked against `handler`.
    fn web_app(&self, raw: &RawConfig, section: &str) -> Result<Option<WebApp>, ProjectError> {
        let Some(command) = &raw.web else {
            if raw.web_port.is_some() {
                return Err(ProjectError::invalid(
                    self.path,
                    format!("{section} web_port"),
                    "`web_port` goes with `web`, the command that starts the web app",
                ));
            }
            return Ok(None);
        };
        if raw.handler.is_some() {
            return Err(ProjectError::invalid(
                self.path,
                format!("{section} web"),
                "set either `handler` (a Lambda handler) or `web` (a web app behind the adapter), not both",
            ));
        }
        WebApp::new(command, raw.web_port)
            .map(Some)
            .map_err(|message| ProjectError::invalid(self.path, format!("{section} web"), message))
    }
}
