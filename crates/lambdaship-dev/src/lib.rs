//! `lambdaship dev`: builds a project, runs its function in an embedded local Lambda service,
//! serves it over HTTP as API Gateway (REST or HTTP API), a Function URL or an ALB would call
//! it, and rebuilds on every edit.
//!
//! The pieces: [`deploy`] puts builds into the service through its own API, [`watch`] turns
//! file-system events into settled edits, [`front`] makes the configured AWS front, and
//! [`DevServer`] ties them together. A rebuild swaps the code in between two requests: new
//! requests run the new code at once, environments of the old code end when their
//! requests do, and a failed build leaves the last good one serving.

pub mod deploy;
pub mod front;
pub mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use lambdaship_build::{BuildOptions, BuildReport, Cache, Progress};
use lambdaship_project::{Api, FunctionSpec, Layout, Overrides, Project};
use lambdaship_runtime::{DEFAULT_ACCOUNT_ID, PoolOptions, ZygoteOptions};
use lambdaship_service::names::Partition;
use lambdaship_service::{Service, ServiceOptions};

use crate::deploy::{Change, Deployment};
use crate::front::FrontChoice;
use crate::watch::ProjectWatcher;

/// Why `dev` could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    /// The project could not be read.
    #[error(transparent)]
    Project(#[from] lambdaship_project::ProjectError),
    /// The build failed.
    #[error(transparent)]
    Build(#[from] lambdaship_build::BuildError),
    /// The embedded service failed.
    #[error("{0}")]
    Service(String),
    /// Putting the build into the service failed.
    #[error("{0}")]
    Deploy(String),
    /// The file watcher could not start.
    #[error("cannot watch the project for changes: {0}")]
    Watch(String),
    /// The front's settings are wrong.
    #[error("{0}")]
    Front(String),
    /// The port cannot be used.
    #[error("{0}")]
    Listen(String),
}

/// How `dev` is run.
#[derive(Debug, Clone)]
pub struct DevOptions {
    /// The project directory.
    pub project_dir: PathBuf,
    /// The function, when the project has several.
    pub function: Option<String>,
    /// Address to listen on.
    pub host: String,
    /// Port to listen on (0 for a free one).
    pub port: u16,
    /// The front, overriding `[tool.lambdaship.http] api`.
    pub api: Option<Api>,
    /// The stage, overriding `[tool.lambdaship.http] stage`.
    pub stage: Option<String>,
    /// Environments at most.
    pub concurrency: usize,
    /// Print function logs.
    pub echo_logs: bool,
    /// Region of the ARNs and of the function.
    pub region: String,
    /// Start new environments from a zygote that has imported the dependencies (see
    /// [`lambdaship_runtime::ZygoteOptions`]), instead of a fresh interpreter each.
    pub zygote: bool,
}

/// What `dev` tells the user as it goes.
pub trait DevReport: Progress + Send + Sync + 'static {
    /// A line of news (rebuilt, serving, failed).
    fn news(&self, line: &str);
}

/// A running `dev`: the service, the front on its port, the watcher.
pub struct DevServer {
    /// Where the front answers.
    pub address: SocketAddr,
    /// The URL to open (with the stage prefix of a REST API).
    pub url: String,
    /// Which front, in words.
    pub description: String,
    service: Arc<Service>,
    served: tokio::task::JoinHandle<()>,
    _scratch: tempfile::TempDir,
}

impl DevServer {
    /// Builds, deploys into a fresh embedded service, starts the front and the watcher.
    pub async fn start(
        options: DevOptions,
        report: Arc<dyn DevReport>,
    ) -> Result<DevServer, DevError> {
        let scratch = tempfile::Builder::new()
            .prefix("lambdaship-dev-")
            .tempdir()
            .map_err(|e| DevError::Service(format!("cannot make a scratch directory: {e}")))?;
        let session = Session {
            options: options.clone(),
            out_dir: scratch.path().join("artifacts"),
        };
        let (project, spec) = session.load()?;
        // Before the build: a wrong front setting is the quicker error.
        let choice = FrontChoice::new(&spec, &options)?;
        // Before the build too: edits made while it runs are picked up after it.
        let watcher = ProjectWatcher::new(&watch_roots(&project))?;
        let built = session.build(&project, &spec, report.clone()).await?;
        let cache = Cache::open(&Cache::default_root())?;
        let service = Service::open(ServiceOptions {
            state_dir: scratch.path().join("state"),
            cache,
            pool: PoolOptions {
                concurrency: options.concurrency.max(1),
                zygote: options.zygote.then(|| {
                    let report = report.clone();
                    ZygoteOptions {
                        notices: Arc::new(move |line: &str| report.news(line)),
                    }
                }),
                ..PoolOptions::default()
            },
            partition: Partition {
                region: options.region.clone(),
                account: DEFAULT_ACCOUNT_ID.to_string(),
            },
            echo_logs: options.echo_logs,
            retry_delays: lambdaship_service::LAMBDA_RETRY_DELAYS.to_vec(),
            credentials: Vec::new(),
        })
        .map_err(|e| DevError::Service(e.to_string()))?;
        let deployment = Deployment::create(service.clone(), &spec, &built).await?;
        let gateway = Arc::new(RwLock::new(Arc::new(choice.gateway(&service, &spec.name))));
        let listener = tokio::net::TcpListener::bind((options.host.as_str(), options.port))
            .await
            .map_err(|e| {
                DevError::Listen(format!(
                    "cannot listen on {}:{}: {e} (pass another --port, or --port 0 for a free one)",
                    options.host, options.port
                ))
            })?;
        let address = listener
            .local_addr()
            .map_err(|e| DevError::Listen(e.to_string()))?;
        let url = format!("http://{address}{}", choice.prefix());
        let description = choice.describe();
        let served = tokio::spawn(front::serve(listener, gateway.clone(), choice.is_alb()));
        let handle = tokio::runtime::Handle::current();
        let rebuilds = Rebuilds {
            session,
            root: project.dir.clone(),
            deployment,
            gateway,
            service: service.clone(),
            report,
            handle,
        };
        std::thread::Builder::new()
            .name("lambdaship-dev-watch".into())
            .spawn(move || rebuilds.run(watcher))
            .map_err(|e| DevError::Watch(e.to_string()))?;
        Ok(DevServer {
            address,
            url,
            description,
            service,
            served,
            _scratch: scratch,
        })
    }

    /// Stops serving and shuts the environments down.
    pub async fn stop(self) {
        self.served.abort();
        self.service.shutdown().await;
    }
}

/// The directories whose edits may change the build: the project, or the whole workspace
/// for a workspace member (its lock and its sibling packages).
fn watch_roots(project: &Project) -> Vec<PathBuf> {
    match &project.dependencies {
        lambdaship_project::Dependencies::Locked(workspace) => vec![workspace.root.clone()],
        lambdaship_project::Dependencies::Requirements(_) => vec![project.dir.clone()],
    }
}

/// What every build of the session shares.
struct Session {
    options: DevOptions,
    out_dir: PathBuf,
}

impl Session {
    /// Reads the project and picks the function. An image stays an image, run from what
    /// the image holds; the archive layouts are built as layers, so an app edit never
    /// touches the dependencies.
    fn load(&self) -> Result<(Project, FunctionSpec), DevError> {
        let mut project = Project::load(&self.options.project_dir, &Overrides::default())?;
        for function in &mut project.functions {
            if function.layout != Layout::Image {
                function.layout = Layout::Layers;
            }
        }
        let spec = {
            let functions = project.select(self.options.function.as_deref())?;
            match functions.as_slice() {
                [one] => (*one).clone(),
                many => {
                    let names: Vec<&str> = many.iter().map(|f| f.name.as_str()).collect();
                    return Err(DevError::Front(format!(
                        "the project has {} functions ({}): choose one with --function NAME",
                        names.len(),
                        names.join(", ")
                    )));
                }
            }
        };
        Ok((project, spec))
    }

    async fn build(
        &self,
        project: &Project,
        spec: &FunctionSpec,
        report: Arc<dyn DevReport>,
    ) -> Result<BuildReport, DevError> {
        let options = BuildOptions {
            function: Some(spec.name.clone()),
            out_dir: Some(self.out_dir.clone()),
            ..BuildOptions::default()
        };
        let project = project.clone();
        tokio::task::spawn_blocking(move || {
            lambdaship_build::build(&project, &options, &ProgressOf(report))
        })
        .await
        .map_err(|e| DevError::Service(format!("the build stopped: {e}")))?
        .map_err(DevError::from)
    }
}

/// A [`DevReport`] seen as build progress.
struct ProgressOf(Arc<dyn DevReport>);

impl Progress for ProgressOf {
    fn step(&self, message: &str) {
        self.0.step(message);
    }
    fn warn(&self, message: &str) {
        self.0.warn(message);
    }
}

/// The watcher's loop: rebuild, redeploy, report.
struct Rebuilds {
    session: Session,
    /// The project directory, to name edited files briefly.
    root: PathBuf,
    deployment: Deployment,
    gateway: Arc<RwLock<Arc<lambdaship_gateway::front::Gateway>>>,
    service: Arc<Service>,
    report: Arc<dyn DevReport>,
    handle: tokio::runtime::Handle,
}

impl Rebuilds {
    fn run(mut self, watcher: ProjectWatcher) {
        while let Some(edits) = watcher.next() {
            let names: Vec<String> = edits
                .paths
                .iter()
                .map(|p| {
                    p.strip_prefix(&self.root)
                        .unwrap_or(p)
                        .display()
                        .to_string()
                })
                .collect();
            let handle = self.handle.clone();
            match handle.block_on(self.rebuild()) {
                Ok(Change::Nothing) => {}
                Ok(change) => self.report.news(&format!(
                    "{} changed: {} in {}, serving it",
                    names.join(", "),
                    match change {
                        Change::App => "rebuilt the app",
                        Change::Dependencies => "rebuilt the dependencies",
                        Change::Image => "rebuilt the image",
                        Change::Configuration => "updated the configuration",
                        Change::Nothing => "nothing to do",
                    },
                    format_duration(edits.first_seen.elapsed()),
                )),
                Err(error) => self.report.news(&format!(
                    "{} changed, and {}; still serving the last good build:\n{error}",
                    names.join(", "),
                    match error {
                        DevError::Build(_) => "the build failed",
                        DevError::Project(_) => "the project cannot be read",
                        DevError::Front(_) => "the HTTP settings are wrong",
                        _ => "the update failed",
                    }
                )),
            }
        }
    }

    async fn rebuild(&mut self) -> Result<Change, DevError> {
        let (project, spec) = self.session.load()?;
        if spec.name != self.deployment.function {
            return Err(DevError::Front(format!(
                "the function is now named `{}` (it was `{}`): restart lambdaship dev to serve it under its new name",
                spec.name, self.deployment.function
            )));
        }
        // The front's settings may have changed with pyproject.toml: checked before anything
        // is deployed, so a bad setting leaves everything as it was.
        let choice = FrontChoice::new(&spec, &self.session.options)?;
        let built = self
            .session
            .build(&project, &spec, self.report.clone())
            .await?;
        let change = self.deployment.update(&spec, &built).await?;
        let gateway = choice.gateway(&self.service, &spec.name);
        if let Ok(mut current) = self.gateway.write() {
            *current = Arc::new(gateway);
        }
        Ok(change)
    }
}

fn format_duration(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    format!("{ms:.0} ms")
}
