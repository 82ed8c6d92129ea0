//! Execution: one pool of warm environments per function version and revision. A change to
//! a function retires its old pools, which finish their in-flight invocations and then
//! shut down.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambdaship_project::{Architecture, Runtime};
use lambdaship_runtime::{
    Answered, FunctionCode, FunctionConfig, FunctionPool, ImageCode, InvokeError, InvokeOutcome,
    InvokeRequest, LocalRuntime, LogSink, PoolOptions, RuntimeKind,
};
use tokio::sync::{Notify, OnceCell};

use crate::blobs::Blobs;
use crate::error::ApiError;
use crate::logs::FunctionLogs;
use crate::model::FunctionVersion;
use crate::names::Partition;

/// Which pool serves a version: its name, version and revision.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PoolKey {
    name: String,
    version: String,
    revision: String,
}

/// A pool and the invocations it is serving.
struct Live {
    pool: OnceCell<Arc<FunctionPool>>,
    in_flight: AtomicUsize,
    drained: Notify,
}

/// Counts an invocation in flight for as long as it lives.
struct InFlight(Arc<Live>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.drained.notify_waiters();
        }
    }
}

/// Runs invocations for the service.
pub struct Engine {
    runtime: LocalRuntime,
    blobs: Blobs,
    /// The image store of image functions.
    images: PathBuf,
    options: PoolOptions,
    partition: Partition,
    logs_dir: PathBuf,
    echo_logs: bool,
    /// Added to every function's environment (e.g. `AWS_ENDPOINT_URL_LAMBDA`).
    extra_environment: Mutex<Vec<(String, String)>>,
    pools: Mutex<HashMap<PoolKey, Arc<Live>>>,
}

impl Engine {
    /// An engine running code from `blobs` (zip archives) and the image store `images` on
    /// `runtime`.
    pub fn new(
        runtime: LocalRuntime,
        blobs: Blobs,
        images: PathBuf,
        options: PoolOptions,
        partition: Partition,
        logs_dir: PathBuf,
        echo_logs: bool,
    ) -> Engine {
        Engine {
            runtime,
            blobs,
            images,
            options,
            partition,
            logs_dir,
            echo_logs,
            extra_environment: Mutex::new(Vec::new()),
            pools: Mutex::new(HashMap::new()),
        }
    }

    /// Sets a variable every function sees unless its configuration sets it.
    pub fn set_default_variable(&self, key: &str, value: &str) {
        let mut extra = self
            .extra_environment
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        extra.retain(|(k, _)| k != key);
        extra.push((key.to_string(), value.to_string()));
    }

    /// The concurrency limit of each function.
    pub fn concurrency(&self) -> usize {
        self.options.concurrency
    }

    /// Runs one invocation of `version`, to the end of its invoke phase (log lines and
    /// REPORT included).
    pub async fn invoke(
        &self,
        version: &FunctionVersion,
        request: InvokeRequest,
    ) -> Result<InvokeOutcome, ApiError> {
        let (_in_flight, pool) = self.pool(version).await?;
        pool.invoke(request)
            .await
            .map_err(|error| invoke_error(version, error))
    }

    /// Runs one invocation of `version` and returns as soon as the function has answered
    /// (see [`FunctionPool::invoke_answered`]).
    pub async fn invoke_answered(
        &self,
        version: &FunctionVersion,
        request: InvokeRequest,
    ) -> Result<Answered, ApiError> {
        let (_in_flight, pool) = self.pool(version).await?;
        pool.invoke_answered(request)
            .await
            .map_err(|error| invoke_error(version, error))
    }

    /// The pool of `version`, prepared on first use, with the invocation counted in flight.
    async fn pool(
        &self,
        version: &FunctionVersion,
    ) -> Result<(InFlight, Arc<FunctionPool>), ApiError> {
        let key = PoolKey {
            name: version.name.clone(),
            version: version.version.clone(),
            revision: version.revision_id.clone(),
        };
        // Counted under the map's lock, so a retirement never misses an invocation that
        // found the pool.
        let live = {
            let mut pools = self.lock_pools();
            let live = pools
                .entry(key)
                .or_insert_with(|| {
                    Arc::new(Live {
                        pool: OnceCell::new(),
                        in_flight: AtomicUsize::new(0),
                        drained: Notify::new(),
                    })
                })
                .clone();
            live.in_flight.fetch_add(1, Ordering::AcqRel);
            live
        };
        let in_flight = InFlight(live.clone());
        let pool = live
            .pool
            .get_or_try_init(|| self.prepare(version))
            .await?
            .clone();
        Ok((in_flight, pool))
    }

    async fn prepare(&self, version: &FunctionVersion) -> Result<Arc<FunctionPool>, ApiError> {
        let config = self.config(version)?;
        let code = match &version.image {
            Some(image) => FunctionCode::Image(ImageCode {
                store: self.images.clone(),
                manifest_digest: image.manifest_digest.parse().map_err(|_| {
                    ApiError::service(format!(
                        "{}: the stored image digest `{}` is not a sha256 digest",
                        version.name, image.manifest_digest
                    ))
                })?,
                command: version.image_config.command.clone(),
            }),
            None => FunctionCode::Archives {
                archive: self.blobs.path(&version.code.sha256),
                layers: version
                    .layers
                    .iter()
                    .map(|layer| self.blobs.path(&layer.code.sha256))
                    .collect(),
            },
        };
        let logs = Arc::new(FunctionLogs::new(
            &self.logs_dir,
            &version.name,
            self.echo_logs,
        ));
        let runtime = self.runtime.clone();
        let options = self.options.clone();
        let name = version.name.clone();
        // Unpacking code and provisioning the runtime client touch the disk and may run uv.
        let prepared = tokio::task::spawn_blocking(move || {
            let pool = runtime.prepare(config, &code, logs.clone(), options)?;
            for warning in &pool.warnings {
                logs.write_line(format!("lambdaship: warning: {warning}\n").as_bytes());
            }
            Ok(pool)
        })
        .await
        .map_err(|e| ApiError::service(format!("{name}: preparing the function failed: {e}")))?;
        prepared
            .map(Arc::new)
            .map_err(|e: lambdaship_runtime::RuntimeError| {
                ApiError::runtime_unavailable(format!("{name}: {e}"))
            })
    }

    fn config(&self, version: &FunctionVersion) -> Result<FunctionConfig, ApiError> {
        // An image function has no runtime of its own: the image says which (see
        // `LocalRuntime::prepare`), and lambdaship's default stands in when it does not.
        let runtime = match &version.image {
            Some(_) => Some(RuntimeKind::Python(Runtime::DEFAULT)),
            None => RuntimeKind::parse(&version.runtime),
        };
        let runtime = runtime.ok_or_else(|| {
            ApiError::runtime_unavailable(format!(
                "{}: runtime {} cannot run here",
                version.name, version.runtime
            ))
        })?;
        let architecture: Architecture = version.architecture.parse().map_err(|_| {
            ApiError::runtime_unavailable(format!(
                "{}: unknown architecture {}",
                version.name, version.architecture
            ))
        })?;
        let mut environment = version.environment.clone();
        for (key, value) in self
            .extra_environment
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
        {
            environment
                .entry(key.clone())
                .or_insert_with(|| value.clone());
        }
        Ok(FunctionConfig {
            name: version.name.clone(),
            version: version.version.clone(),
            handler: version.handler.clone(),
            runtime,
            architecture,
            memory_mb: version.memory_size,
            timeout: Duration::from_secs(u64::from(version.timeout)),
            environment,
            region: self.partition.region.clone(),
            account_id: self.partition.account.clone(),
        })
    }

    /// Retires the pools of `name` that `keep` says are no longer current: they take no new
    /// invocations, finish those in flight, then shut down.
    pub fn retire(&self, name: &str, keep: impl Fn(&str, &str) -> bool) {
        let retired: Vec<Arc<Live>> = {
            let mut pools = self.lock_pools();
            let stale: Vec<PoolKey> = pools
                .keys()
                .filter(|key| key.name == name && !keep(&key.version, &key.revision))
                .cloned()
                .collect();
            stale.iter().filter_map(|key| pools.remove(key)).collect()
        };
        for live in retired {
            tokio::spawn(async move {
                loop {
                    let drained = live.drained.notified();
                    tokio::pin!(drained);
                    drained.as_mut().enable();
                    if live.in_flight.load(Ordering::Acquire) == 0 {
                        break;
                    }
                    drained.await;
                }
                if let Some(pool) = live.pool.get() {
                    pool.shutdown().await;
                }
            });
        }
    }

    /// Environments running now: (idle, busy) over every pool.
    pub fn environments(&self) -> (usize, usize) {
        let pools: Vec<Arc<Live>> = self.lock_pools().values().cloned().collect();
        pools
            .iter()
            .filter_map(|live| live.pool.get())
            .map(|pool| pool.environments())
            .fold((0, 0), |(idle, busy), (i, b)| (idle + i, busy + b))
    }

    /// Shuts every environment down (SHUTDOWN phase included).
    pub async fn shutdown(&self) {
        let pools: Vec<Arc<Live>> = self.lock_pools().drain().map(|(_, live)| live).collect();
        for live in pools {
            if let Some(pool) = live.pool.get() {
                pool.shutdown().await;
            }
        }
    }

    fn lock_pools(&self) -> std::sync::MutexGuard<'_, HashMap<PoolKey, Arc<Live>>> {
        self.pools
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The API's error for a failed invocation.
fn invoke_error(version: &FunctionVersion, error: InvokeError) -> ApiError {
    match error {
        InvokeError::RequestTooLarge { limit, .. } => {
            ApiError::too_large("RequestTooLargeException", limit, "InvokeFunction")
        }
        InvokeError::Throttled { limit } => ApiError::throttled(limit),
        other => ApiError::service(format!("{}: {other}", version.name)),
    }
}
