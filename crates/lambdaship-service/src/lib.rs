//! A local AWS Lambda service: the Lambda REST API (functions, versions, aliases, layers,
//! policies, tags, account settings and Invoke) that the aws CLI, boto3 and the SDKs reach
//! with `--endpoint-url`, IAM's role operations on the same port ([`iam`]), state that
//! survives restarts (SQLite plus a content-addressed blob store), container image functions
//! pulled from their registries ([`images`]), and invocations run on [`lambdaship_runtime`]'s
//! execution environments.
//!
//! [`Service::open`] loads the state; [`Service::serve`] answers on a listener.

pub mod blobs;
pub mod engine;
pub mod error;
pub mod http;
pub mod iam;
pub mod images;
pub mod logs;
pub mod model;
pub mod names;
pub(crate) mod ops;
pub mod queue;
pub mod store;
pub mod urls;
pub mod validate;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lambdaship_build::Cache;
use lambdaship_runtime::{LocalRuntime, PoolOptions};
use tokio::net::TcpListener;

use crate::blobs::Blobs;
use crate::engine::Engine;
use crate::error::ApiError;
use crate::http::{Call, Reply};
use crate::images::Images;
use crate::names::Partition;
use crate::queue::AsyncQueue;
use crate::store::Store;

/// How a service is set up.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// Where the state lives: `state.db`, `blobs/`, `logs/`.
    pub state_dir: PathBuf,
    /// The lambdaship cache (unpacked code, runtime clients).
    pub cache: Cache,
    /// Environments per function.
    pub pool: PoolOptions,
    /// Region and account of every ARN.
    pub partition: Partition,
    /// Print function logs and notices on standard output.
    pub echo_logs: bool,
    /// Waits before the second and third attempts of a failed asynchronous invocation.
    pub retry_delays: Vec<Duration>,
    /// The credentials AWS_IAM Function URLs accept signatures from.
    pub credentials: Vec<lambdaship_sigv4::Credentials>,
}

/// Lambda's waits before retrying a failed asynchronous invocation.
pub const LAMBDA_RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(120)];

/// Why a service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The state directory cannot be used.
    #[error("state directory {path}: {message}")]
    State {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Another server holds the state directory.
    #[error(
        "state directory {path} is in use by another lambdaship server; stop it or pass another --state DIR"
    )]
    Locked {
        /// The directory.
        path: PathBuf,
    },
    /// The database failed to open.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The runtime could not be set up.
    #[error(transparent)]
    Runtime(#[from] lambdaship_runtime::RuntimeError),
}

/// The local Lambda service.
pub struct Service {
    partition: Partition,
    store: Store,
    blobs: Blobs,
    images: Images,
    engine: Engine,
    queue: AsyncQueue,
    retry_delays: Vec<Duration>,
    credentials: Vec<lambdaship_sigv4::Credentials>,
    echo: bool,
    /// Held for the service's life: one server per state directory.
    _lock: std::fs::File,
}

impl Service {
    /// Opens the state in `options.state_dir` (creating it), removes archives no record
    /// refers to, and starts the asynchronous invocation worker. Needs a Tokio runtime.
    pub fn open(options: ServiceOptions) -> Result<Arc<Service>, ServiceError> {
        let dir = &options.state_dir;
        let state_error = |message: String| ServiceError::State {
            path: dir.clone(),
            message,
        };
        std::fs::create_dir_all(dir).map_err(|e| state_error(e.to_string()))?;
        let lock = lock_state(dir)?;
        let store = Store::open(&dir.join("state.db"))?;
        let blobs = Blobs::open(&dir.join("blobs")).map_err(|e| state_error(e.to_string()))?;
        // Archives written by a request that failed or crashed before its commit.
        blobs
            .sweep(&store.referenced_blobs())
            .map_err(|e| state_error(format!("cannot clean the blob store: {e}")))?;
        let runtime = LocalRuntime::new(&options.cache)?;
        let images = Images::new(&options.cache);
        let engine = Engine::new(
            runtime,
            blobs.clone(),
            images.root().to_path_buf(),
            options.pool.clone(),
            options.partition.clone(),
            dir.join("logs"),
            options.echo_logs,
        );
        let (queue, receiver) = AsyncQueue::new();
        let service = Arc::new(Service {
            partition: options.partition,
            store,
            blobs,
            images,
            engine,
            queue,
            retry_delays: options.retry_delays,
            credentials: options.credentials,
            echo: options.echo_logs,
            _lock: lock,
        });
        tokio::spawn(queue::work(Arc::downgrade(&service), receiver));
        Ok(service)
    }

    /// Answers the API on `listener` until the returned future is dropped. Functions see
    /// the listener's address in `AWS_ENDPOINT_URL_LAMBDA`, so their own Lambda calls reach
    /// this service.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        if let Ok(address) = listener.local_addr() {
            self.engine
                .set_default_variable("AWS_ENDPOINT_URL_LAMBDA", &format!("http://{address}"));
        }
        http::serve(listener, self).await;
    }

    /// Shuts every execution environment down.
    pub async fn shutdown(&self) {
        self.engine.shutdown().await;
    }

    /// Region and account of the service's ARNs.
    pub fn partition(&self) -> &Partition {
        &self.partition
    }

    /// The store of the images image functions run.
    pub fn images(&self) -> &Images {
        &self.images
    }

    /// Environments running now: (idle, busy).
    pub fn environments(&self) -> (usize, usize) {
        self.engine.environments()
    }

    /// A line about `function` on the server's output.
    fn notice(&self, function: &str, text: &str) {
        if self.echo {
            let _ = writeln!(std::io::stdout().lock(), "[{function}] {text}");
        }
    }

    /// Routes a request to its operation.
    pub async fn dispatch(self: Arc<Self>, call: Call) -> Reply {
        let segments: Vec<&str> = call.segments.iter().map(String::as_str).collect();
        let result = match (call.method.as_str(), segments.as_slice()) {
            ("POST", ["2015-03-31", "functions", name, "invocations"]) => {
                let name = name.to_string();
                self.invoke(&call, &name).await
            }
            _ => {
                // Control-plane calls write SQLite with fsync: off the async workers.
                let service = self.clone();
                tokio::task::spawn_blocking(move || service.control(&call))
                    .await
                    .unwrap_or_else(|e| Err(ApiError::service(format!("request failed: {e}"))))
            }
        };
        result.unwrap_or_else(|error| Reply::error(&error))
    }

    /// The control plane: every operation but Invoke.
    fn control(&self, call: &Call) -> Result<Reply, ApiError> {
        let segments: Vec<&str> = call.segments.iter().map(String::as_str).collect();
        match (call.method.as_str(), segments.as_slice()) {
            ("POST", []) if iam::is_query_call(call) => Ok(self.query_api(call)),
            ("POST", ["2015-03-31", "functions"]) => self.create_function(call),
            ("GET", ["2015-03-31", "functions"]) => self.list_functions(call),
            ("GET", ["2015-03-31", "functions", name]) => self.get_function(call, name),
            ("DELETE", ["2015-03-31", "functions", name]) => self.delete_function(call, name),
            ("GET", ["2015-03-31", "functions", name, "configuration"]) => {
                self.get_function_configuration(call, name)
            }
            ("PUT", ["2015-03-31", "functions", name, "configuration"]) => {
                self.update_function_configuration(call, name)
            }
            ("PUT", ["2015-03-31", "functions", name, "code"]) => {
                self.update_function_code(call, name)
            }
            ("POST", ["2015-03-31", "functions", name, "versions"]) => {
                self.publish_version(call, name)
            }
            ("GET", ["2015-03-31", "functions", name, "versions"]) => {
                self.list_versions(call, name)
            }
            ("POST", ["2015-03-31", "functions", name, "aliases"]) => self.create_alias(call, name),
            ("GET", ["2015-03-31", "functions", name, "aliases"]) => self.list_aliases(call, name),
            ("GET", ["2015-03-31", "functions", name, "aliases", alias]) => {
                self.get_alias(name, alias)
            }
            ("PUT", ["2015-03-31", "functions", name, "aliases", alias]) => {
                self.update_alias(call, name, alias)
            }
            ("DELETE", ["2015-03-31", "functions", name, "aliases", alias]) => {
                self.delete_alias(name, alias)
            }
            ("POST", ["2015-03-31", "functions", name, "policy"]) => {
                self.add_permission(call, name)
            }
            ("GET", ["2015-03-31", "functions", name, "policy"]) => self.get_policy(call, name),
            ("DELETE", ["2015-03-31", "functions", name, "policy", sid]) => {
                self.remove_permission(call, name, sid)
            }
            ("GET", ["2018-10-31", "layers"]) if call.query("find") == Some("LayerVersion") => {
                self.get_layer_version_by_arn(call)
            }
            ("GET", ["2018-10-31", "layers"]) => self.list_layers(call),
            ("POST", ["2018-10-31", "layers", layer, "versions"]) => {
                self.publish_layer_version(call, layer)
            }
            ("GET", ["2018-10-31", "layers", layer, "versions"]) => {
                self.list_layer_versions(call, layer)
            }
            ("GET", ["2018-10-31", "layers", layer, "versions", number]) => {
                self.get_layer_version(call, layer, number)
            }
            ("DELETE", ["2018-10-31", "layers", layer, "versions", number]) => {
                self.delete_layer_version(layer, number)
            }
            ("POST", ["2017-03-31", "tags", arn]) => self.tag_resource(call, arn),
            ("DELETE", ["2017-03-31", "tags", arn]) => self.untag_resource(call, arn),
            ("GET", ["2017-03-31", "tags", arn]) => self.list_tags(arn),
            ("POST", ["2021-10-31", "functions", name, "url"]) => {
                self.create_function_url(call, name)
            }
            ("GET", ["2021-10-31", "functions", name, "url"]) => self.get_function_url(call, name),
            ("PUT", ["2021-10-31", "functions", name, "url"]) => {
                self.update_function_url(call, name)
            }
            ("DELETE", ["2021-10-31", "functions", name, "url"]) => {
                self.delete_function_url(call, name)
            }
            ("GET", ["2021-10-31", "functions", name, "urls"]) => {
                self.list_function_urls(call, name)
            }
            ("GET", ["2016-08-19", "account-settings"]) => self.get_account_settings(),
            ("GET", ["_lambdaship", "code", sha256]) => self.download_code(sha256),
            (method, _) => Err(ApiError {
                status: 404,
                code: "UnknownOperationException",
                message: format!(
                    "lambdaship server has no operation at {method} /{}",
                    call.segments.join("/")
                ),
                kind: "User",
                extra: Vec::new(),
            }),
        }
    }
}

/// Takes the state directory's lock file, so two servers never share one state.
fn lock_state(dir: &Path) -> Result<std::fs::File, ServiceError> {
    use std::os::fd::AsRawFd;
    let path = dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| ServiceError::State {
            path: dir.to_path_buf(),
            message: format!("cannot open {}: {e}", path.display()),
        })?;
    // SAFETY: flock on a descriptor this function owns; released when the file closes.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    if !locked {
        return Err(ServiceError::Locked {
            path: dir.to_path_buf(),
        });
    }
    Ok(file)
}
