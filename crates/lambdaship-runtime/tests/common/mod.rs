//! Helpers for the runtime core's tests: zips built in memory, functions prepared against
//! a cache shared by all tests (so awslambdaric is installed once), bounded waits.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambdaship_build::Cache;
use lambdaship_project::Runtime;
use lambdaship_runtime::{
    FunctionCode, FunctionConfig, FunctionPool, LocalRuntime, LogSink, PoolOptions, RuntimeKind,
    host_architecture,
};

/// The cache every test shares.
pub fn cache() -> Cache {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lambdaship-runtime-cache");
    Cache::open(&root).expect("cache")
}

#[path = "archive.rs"]
mod archive;

/// A zip of `files` (name, content, mode), stored, written as `dir/name`.
pub fn zip(dir: &Path, name: &str, files: &[(&str, &[u8], u32)]) -> PathBuf {
    let path = dir.join(name);
    archive::write_zip(&path, files);
    path
}

/// A python3.11 function configuration.
pub fn config(name: &str, handler: &str) -> FunctionConfig {
    FunctionConfig {
        name: name.to_string(),
        version: "$LATEST".to_string(),
        handler: handler.to_string(),
        runtime: RuntimeKind::Python(Runtime::Python311),
        architecture: host_architecture(),
        memory_mb: 256,
        timeout: Duration::from_secs(10),
        environment: BTreeMap::new(),
        region: "eu-west-1".to_string(),
        account_id: "123456789012".to_string(),
    }
}

/// Collects log lines in memory.
#[derive(Default, Clone)]
pub struct Logs(pub Arc<Mutex<Vec<u8>>>);

impl LogSink for Logs {
    fn write_line(&self, line: &[u8]) {
        self.0.lock().unwrap().extend_from_slice(line);
    }
}

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Prepares a function whose archive holds `files`.
pub fn pool(
    dir: &Path,
    config: FunctionConfig,
    files: &[(&str, &[u8], u32)],
    layers: Vec<PathBuf>,
    options: PoolOptions,
) -> (FunctionPool, Logs) {
    let archive = zip(dir, "function.zip", files);
    let logs = Logs::default();
    let runtime = LocalRuntime::new(&cache()).expect("runtime");
    let pool = runtime
        .prepare(
            config,
            &FunctionCode::Archives { archive, layers },
            Arc::new(logs.clone()),
            options,
        )
        .expect("prepare");
    (pool, logs)
}

/// A Tokio runtime for one test.
pub fn tokio() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio")
}

/// Bounds a test's async part: a hang fails the test instead of blocking CI.
pub async fn bounded<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), future)
        .await
        .expect("the test took more than 60 s")
}

/// The invocation's payload as JSON.
pub fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

pub const FILE: u32 = 0o100644;
pub const EXECUTABLE: u32 = 0o100755;
