//! Environments forked from a zygote (`lambdaship dev`), against real CPython 3.11 and
//! awslambdaric: the first environment of a layer runs fresh and records its layer
//! modules, later ones are forked from an interpreter that imported them, with their own
//! variables, directory, output and exit status; anything a fork cannot honour falls
//! back to a fresh interpreter.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use lambdaship_runtime::{
    FunctionCode, FunctionConfig, FunctionPool, FunctionResult, InvokeRequest, LocalRuntime,
    PoolOptions, ZygoteOptions,
};

fn event() -> InvokeRequest {
    InvokeRequest {
        payload: Bytes::from_static(b"{}"),
        ..InvokeRequest::default()
    }
}

/// A dependency that remembers which process imported it.
const DEPENDENCY: &[u8] =
    b"import os\nIMPORTED_BY = os.getpid()\nSEEN_AT_IMPORT = os.environ.get('GREETING')\n";

/// The app, in versions: what it reports shows where it runs and what it sees.
fn app(version: u32) -> String {
    format!(
        r#"
import os, sys, depmod
def handler(event, context):
    return {{
        "version": {version},
        "pid": os.getpid(),
        "ppid": os.getppid(),
        "dependency_imported_by": depmod.IMPORTED_BY,
        "greeting_at_import": depmod.SEEN_AT_IMPORT,
        "greeting": os.environ.get("GREETING"),
        "log_stream": os.environ["AWS_LAMBDA_LOG_STREAM_NAME"],
        "api": os.environ["AWS_LAMBDA_RUNTIME_API"],
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
        "cwd": os.getcwd(),
        "path0": sys.path[0],
        "pgid": os.getpgid(0),
    }}
"#
    )
}

/// One local runtime (so one set of zygotes) preparing versions of a function.
struct Versions {
    dir: tempfile::TempDir,
    runtime: LocalRuntime,
    layer: PathBuf,
    notices: Arc<Mutex<Vec<String>>>,
    logs: Logs,
    options: PoolOptions,
}

impl Versions {
    fn new(layer_files: &[(&str, &[u8], u32)]) -> Versions {
        let dir = tempfile::tempdir().unwrap();
        let layer = zip(dir.path(), "layer.zip", layer_files);
        let notices = Arc::new(Mutex::new(Vec::new()));
        let sink = notices.clone();
        let options = PoolOptions {
            zygote: Some(ZygoteOptions {
                notices: Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_string())),
            }),
            ..PoolOptions::default()
        };
        Versions {
            runtime: LocalRuntime::new(&cache()).unwrap(),
            dir,
            layer,
            notices,
            logs: Logs::default(),
            options,
        }
    }

    fn with_dependency() -> Versions {
        Versions::new(&[("python/depmod.py", DEPENDENCY, FILE)])
    }

    fn prepare(&self, config: FunctionConfig, app_code: &str) -> FunctionPool {
        let archive = zip(
            self.dir.path(),
            &format!("app-{}.zip", uuid::Uuid::new_v4()),
            &[("app.py", app_code.as_bytes(), FILE)],
        );
        self.runtime
            .prepare(
                config,
                &FunctionCode::Archives {
                    archive,
                    layers: vec![self.layer.clone()],
                },
                Arc::new(self.logs.clone()),
                self.options.clone(),
            )
            .unwrap()
    }

    /// Version 1 of `config`, invoked once (its fresh environment records the layer
    /// modules), once the zygote made from them is ready.
    async fn first_environment_then_zygote(&self, config: &FunctionConfig) -> FunctionPool {
        let first = self.prepare(config.clone(), &app(1));
        answer(&first.invoke(event()).await.unwrap().result);
        self.notice("dependencies imported").await;
        first
    }

    /// Waits (bounded by the test's timeout) for a notice containing `text`.
    async fn notice(&self, text: &str) -> String {
        loop {
            if let Some(found) = self
                .notices
                .lock()
                .unwrap()
                .iter()
                .find(|line| line.contains(text))
            {
                return found.clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A function name of its own per test run: the recorded module list is kept in the
/// shared cache by function, layer and configuration.
fn function(name: &str) -> FunctionConfig {
    let mut config = config(
        &format!("{name}-{}", uuid::Uuid::new_v4().simple()),
        "app.handler",
    );
    config.environment.insert("GREETING".into(), "hello".into());
    config
}

fn answer(result: &FunctionResult) -> serde_json::Value {
    match result {
        FunctionResult::Success { payload, .. } => json(payload),
        FunctionResult::Error { payload, .. } => {
            panic!("the function failed: {}", String::from_utf8_lossy(payload))
        }
    }
}

/// Whether `pid` has ended (gone, or a zombie waiting for its reaper), waiting up to 5 s
/// for a killed process to die.
async fn ended(pid: u64) -> bool {
    for _ in 0..250 {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat)
                if stat
                    .rsplit(')')
                    .next()
                    .is_some_and(|rest| rest.trim_start().starts_with('Z')) =>
            {
                return true;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    false
}

fn cmdline(pid: u64) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
        .unwrap_or_default()
}

#[test]
fn environments_after_the_first_are_forked_from_the_imported_dependencies() {
    let versions = Versions::with_dependency();
    let config = function("forked");
    tokio().block_on(bounded(async {
        let first = versions.prepare(config.clone(), &app(1));
        let outcome = first.invoke(event()).await.unwrap();
        let fresh = answer(&outcome.result);
        assert_eq!(fresh["version"], 1);
        assert_eq!(fresh["dependency_imported_by"], fresh["pid"]);
        assert_eq!(
            u64::from(std::process::id()),
            fresh["ppid"].as_u64().unwrap()
        );
        let ready = versions.notice("dependencies imported").await;
        assert!(ready.contains("1 modules"), "{ready}");

        // An app edit: a new version on the same layer, served by two environments at once.
        let second = versions.prepare(config.clone(), &app(2));
        let (a, b) = tokio::join!(second.invoke(event()), second.invoke(event()));
        let (a, b) = (a.unwrap(), b.unwrap());
        for outcome in [&a, &b] {
            let seen = answer(&outcome.result);
            assert_eq!(seen["version"], 2);
            let zygote = seen["ppid"].as_u64().unwrap();
            assert_ne!(zygote, u64::from(std::process::id()));
            assert!(cmdline(zygote).contains("zygote.py"), "{}", cmdline(zygote));
            assert_eq!(seen["dependency_imported_by"], zygote, "pre-imported");
            // The variables are the function's and this environment's.
            assert_eq!(seen["greeting_at_import"], "hello");
            assert_eq!(seen["greeting"], "hello");
            // Its own process group, which the environment's kill signals.
            assert_eq!(seen["pgid"], seen["pid"]);
            // The new version's task root, in front of the import path and as directory.
            let task_root = seen["task_root"].as_str().unwrap();
            assert_eq!(seen["cwd"], task_root);
            assert_eq!(seen["path0"], task_root);
            assert_ne!(task_root, fresh["task_root"].as_str().unwrap());
            assert!(outcome.report.init_duration.is_some());
        }
        let (seen_a, seen_b) = (answer(&a.result), answer(&b.result));
        assert_ne!(seen_a["pid"], seen_b["pid"]);
        assert_ne!(seen_a["log_stream"], seen_b["log_stream"]);
        assert_ne!(seen_a["api"], seen_b["api"]);
        assert_ne!(seen_a["log_stream"], fresh["log_stream"]);
        // The output of a forked runtime reaches the environment's log.
        assert!(versions.logs.text().matches("REPORT RequestId").count() >= 3);
        first.shutdown().await;
        second.shutdown().await;
        // Shut down means killed and reaped, for forked runtimes too.
        for seen in [&seen_a, &seen_b] {
            let pid = seen["pid"].as_u64().unwrap();
            assert!(ended(pid).await, "{pid} lives on");
        }
    }));
}

#[test]
fn a_forked_runtime_reports_its_exit_and_its_import_errors_as_a_fresh_one() {
    let versions = Versions::with_dependency();
    let config = function("exits");
    tokio().block_on(bounded(async {
        let first = versions.first_environment_then_zygote(&config).await;

        let crash = "import os, depmod\ndef handler(event, context):\n    os._exit(7)\n";
        let crashing = versions.prepare(config.clone(), crash);
        let outcome = crashing.invoke(event()).await.unwrap();
        assert_eq!(
            json(outcome.result.payload())["errorMessage"],
            format!(
                "RequestId: {} Error: Runtime exited with error: exit status 7",
                outcome.request_id
            )
        );

        let broken =
            "import depmod\nimport no_such_module\ndef handler(event, context):\n    return 1\n";
        let importing = versions.prepare(config.clone(), broken);
        let outcome = importing.invoke(event()).await.unwrap();
        let error = json(outcome.result.payload());
        assert_eq!(error["errorType"], "Runtime.ImportModuleError", "{error}");
        assert!(
            error["errorMessage"]
                .as_str()
                .unwrap()
                .contains("No module named 'no_such_module'"),
            "{error}"
        );
        // Only the news that the zygote is ready: no environment fell back.
        assert_eq!(versions.notices.lock().unwrap().len(), 1);
        for pool in [first, crashing, importing] {
            pool.shutdown().await;
        }
    }));
}

#[test]
fn a_dependency_that_starts_a_thread_keeps_environments_fresh() {
    let threaded: &[u8] =
        b"import os, threading, time\nIMPORTED_BY = os.getpid()\nSEEN_AT_IMPORT = None\nthreading.Thread(target=time.sleep, args=(3600,), daemon=True, name='exporter').start()\n";
    let versions = Versions::new(&[("python/depmod.py", threaded, FILE)]);
    let config = function("threads");
    tokio().block_on(bounded(async {
        let first = versions.prepare(config.clone(), &app(1));
        answer(&first.invoke(event()).await.unwrap().result);
        let refused = versions.notice("fresh interpreter").await;
        assert!(
            refused.contains("started 1 threads (MainThread, exporter)"),
            "{refused}"
        );
        let second = versions.prepare(config, &app(2));
        let seen = answer(&second.invoke(event()).await.unwrap().result);
        assert_eq!(seen["version"], 2);
        assert_eq!(seen["dependency_imported_by"], seen["pid"]);
        first.shutdown().await;
        second.shutdown().await;
    }));
}

#[test]
fn a_zygote_that_died_falls_back_to_a_fresh_interpreter() {
    let versions = Versions::with_dependency();
    let config = function("died");
    tokio().block_on(bounded(async {
        let first = versions.first_environment_then_zygote(&config).await;
        let second = versions.prepare(config.clone(), &app(2));
        let forked = answer(&second.invoke(event()).await.unwrap().result);
        let zygote = forked["ppid"].as_u64().unwrap();
        assert!(cmdline(zygote).contains("zygote.py"));
        // SAFETY: kill has no memory preconditions.
        unsafe { libc::kill(i32::try_from(zygote).unwrap(), libc::SIGKILL) };

        // Its forked runtime is not left running unwatched: the environment sees it end.
        let third = versions.prepare(config.clone(), &app(3));
        let seen = answer(&third.invoke(event()).await.unwrap().result);
        assert_eq!(seen["version"], 3);
        assert_eq!(seen["dependency_imported_by"], seen["pid"], "fresh");
        let notice = versions.notice("could not fork").await;
        assert!(notice.contains("the zygote is gone"), "{notice}");
        for pool in [first, second, third] {
            pool.shutdown().await;
        }
        let pid = forked["pid"].as_u64().unwrap();
        assert!(ended(pid).await, "{pid} lives on");
    }));
}

/// A dependency that cannot load without the Runtime API's address, which a zygote does
/// not have: it dies the hard way, saying why on stderr.
const DIES_IN_A_ZYGOTE: &[u8] = b"import os, sys
IMPORTED_BY = os.getpid()
SEEN_AT_IMPORT = None
if 'AWS_LAMBDA_RUNTIME_API' not in os.environ:
    print('Traceback (most recent call last):', file=sys.stderr)
    print('depmod.NoRuntimeError: depmod needs AWS_LAMBDA_RUNTIME_API', file=sys.stderr, flush=True)
    os._exit(3)
";

#[test]
fn a_zygote_that_dies_importing_says_why_and_environments_start_fresh() {
    let versions = Versions::new(&[("python/depmod.py", DIES_IN_A_ZYGOTE, FILE)]);
    let config = function("dies-importing");
    tokio().block_on(bounded(async {
        let first = versions.prepare(config.clone(), &app(1));
        answer(&first.invoke(event()).await.unwrap().result);
        let notice = versions.notice("fresh interpreter").await;
        assert!(
            notice.ends_with(
                "the zygote exited while importing the dependencies: Traceback (most recent call last): | depmod.NoRuntimeError: depmod needs AWS_LAMBDA_RUNTIME_API"
            ),
            "{notice}"
        );
        let second = versions.prepare(config.clone(), &app(2));
        let seen = answer(&second.invoke(event()).await.unwrap().result);
        assert_eq!(seen["version"], 2);
        assert_eq!(seen["dependency_imported_by"], seen["pid"], "fresh");
        first.shutdown().await;
        second.shutdown().await;
    }));
}

#[test]
fn interpreter_start_variables_keep_environments_fresh() {
    let versions = Versions::with_dependency();
    let mut config = function("hashseed");
    config
        .environment
        .insert("PYTHONHASHSEED".into(), "0".into());
    tokio().block_on(bounded(async {
        for version in [1, 2] {
            let pool = versions.prepare(config.clone(), &app(version));
            let seen = answer(&pool.invoke(event()).await.unwrap().result);
            assert_eq!(seen["dependency_imported_by"], seen["pid"]);
            pool.shutdown().await;
        }
        assert!(versions.notices.lock().unwrap().is_empty());
    }));
}

#[test]
fn a_new_dependency_layer_gets_a_new_zygote_and_the_old_one_ends() {
    let mut versions = Versions::with_dependency();
    let config = function("relayered");
    tokio().block_on(bounded(async {
        let first = versions.first_environment_then_zygote(&config).await;
        let second = versions.prepare(config.clone(), &app(2));
        let old_zygote = answer(&second.invoke(event()).await.unwrap().result)["ppid"]
            .as_u64()
            .unwrap();

        // A dependency edit: another layer. Its first environment runs fresh and records.
        versions.layer = zip(
            versions.dir.path(),
            "layer-2.zip",
            &[(
                "python/depmod.py",
                b"import os\nIMPORTED_BY = os.getpid()\nSEEN_AT_IMPORT = 'layer 2'\n",
                FILE,
            )],
        );
        let third = versions.prepare(config.clone(), &app(3));
        let fresh = answer(&third.invoke(event()).await.unwrap().result);
        assert_eq!(fresh["greeting_at_import"], "layer 2");
        assert_eq!(fresh["dependency_imported_by"], fresh["pid"]);
        while versions.notices.lock().unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let fourth = versions.prepare(config.clone(), &app(4));
        let forked = answer(&fourth.invoke(event()).await.unwrap().result);
        assert_eq!(forked["greeting_at_import"], "layer 2");
        let new_zygote = forked["ppid"].as_u64().unwrap();
        assert_ne!(new_zygote, old_zygote);
        assert_eq!(forked["dependency_imported_by"], new_zygote);
        // The old zygote takes no more forks and ends once its children have.
        second.shutdown().await;
        assert!(
            ended(old_zygote).await,
            "the old zygote {old_zygote} lives on"
        );
        for pool in [first, third, fourth] {
            pool.shutdown().await;
        }
    }));
}
