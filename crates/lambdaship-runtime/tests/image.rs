//! Image functions against real CPython 3.11 and awslambdaric: images written by hand into a
//! blob store (a base layer shaped like AWS's, with its interpreter under /var/lang and files
//! outside /var/task and /opt, and an app layer with a whiteout), run from what their config
//! says, and the images that cannot run.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use bytes::Bytes;
use common::*;
use lambdaship_image::{BlobStore, Digest, RUNTIME_LABEL, TarEntry, write_layer};
use lambdaship_project::{Architecture, Runtime};
use lambdaship_runtime::{
    FunctionCode, ImageCode, InvokeRequest, LocalRuntime, PoolOptions, RuntimeError, RuntimeKind,
    host_architecture,
};
use serde_json::{Value, json};

const APP: &str = r#"
import os
import shared

def handler(event, context):
    return {
        "handler": os.environ["_HANDLER"],
        "shared": shared.SHARED,
        "old": os.path.exists(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "old.py")),
        "env": {k: os.environ.get(k) for k in ["FROM_IMAGE", "OVERRIDDEN", "TOOL_HOME", "LANG"]},
        "var_lang_on_path": "/var/lang" in os.environ["PATH"],
    }

def other(event, context):
    return "other"
"#;

/// The image spec's name of this machine's architecture.
fn host_image_architecture() -> &'static str {
    match host_architecture() {
        Architecture::X86_64 => "amd64",
        Architecture::Arm64 => "arm64",
    }
}

/// Writes an image of `layers` (each a list of path and content) with `config` (its
/// `architecture`, `os` and `rootfs` added) into `store`; its manifest digest.
fn image(store: &BlobStore, mut config: Value, layers: &[&[(&str, &str)]]) -> Digest {
    let mut descriptors = Vec::new();
    let mut diff_ids = Vec::new();
    for files in layers {
        let entries = files
            .iter()
            .map(|(path, content)| TarEntry::bytes(path, 0o644, content.as_bytes()))
            .collect();
        let layer = write_layer(store, entries).unwrap();
        diff_ids.push(layer.diff_id.to_string());
        descriptors.push(json!({
            "mediaType": lambdaship_image::LAYER_MEDIA_TYPE,
            "digest": layer.digest.to_string(),
            "size": layer.size,
        }));
    }
    if config.get("architecture").is_none() {
        config["architecture"] = json!(host_image_architecture());
    }
    config["os"] = json!("linux");
    config["rootfs"] = json!({"type": "layers", "diff_ids": diff_ids});
    let config = serde_json::to_vec(&config).unwrap();
    let config_digest = store.put(&config).unwrap();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": lambdaship_image::MANIFEST_MEDIA_TYPE,
        "config": {
            "mediaType": lambdaship_image::CONFIG_MEDIA_TYPE,
            "digest": config_digest.to_string(),
            "size": config.len(),
        },
        "layers": descriptors,
    });
    store.put(&serde_json::to_vec(&manifest).unwrap()).unwrap()
}

/// The base layer: AWS's shape, with things outside /var/task and /opt, and a file the
/// app layer deletes.
const BASE: &[(&str, &str)] = &[
    ("lambda-entrypoint.sh", "#!/bin/sh\n"),
    ("var/lang/bin/python3.11", "not this machine's interpreter"),
    ("var/runtime/bootstrap", "#!/bin/sh\n"),
    ("var/task/old.py", "x = 1\n"),
    ("opt/python/shared.py", "SHARED = 'from /opt'\n"),
];

/// The app layer.
fn app_layer() -> Vec<(&'static str, &'static str)> {
    vec![("var/task/app.py", APP), ("var/task/.wh.old.py", "")]
}

fn code(store: &Path, digest: Digest, command: Option<Vec<String>>) -> FunctionCode {
    FunctionCode::Image(ImageCode {
        store: store.to_path_buf(),
        manifest_digest: digest,
        command,
    })
}

fn invoke(pool: &lambdaship_runtime::FunctionPool) -> Value {
    tokio().block_on(bounded(async {
        let outcome = pool
            .invoke(InvokeRequest {
                payload: Bytes::from_static(b"{}"),
                ..InvokeRequest::default()
            })
            .await
            .unwrap();
        assert!(!outcome.result.is_error(), "{outcome:?}");
        json(outcome.result.payload())
    }))
}

#[test]
fn an_image_runs_from_what_its_config_says() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::new(dir.path());
    let digest = image(
        &store,
        json!({"config": {
            "Env": [
                "PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
                "LANG=C.UTF-8",
                "FROM_IMAGE=yes",
                "OVERRIDDEN=image",
                "TOOL_HOME=/var/lang/share/tool",
            ],
            "Cmd": ["app.handler"],
            "Entrypoint": ["/lambda-entrypoint.sh"],
        }}),
        &[BASE, &app_layer()],
    );
    // No label: the interpreter in /var/lang/bin says python3.11, over the caller's default
    // (for which this machine has no interpreter), and the image's CMD over the handler.
    let mut config = config("image", "not.used");
    config.runtime = RuntimeKind::Python(Runtime::Python313);
    config
        .environment
        .insert("OVERRIDDEN".into(), "function".into());
    let runtime = LocalRuntime::new(&cache()).unwrap();
    let pool = runtime
        .prepare(
            config.clone(),
            &code(dir.path(), digest, None),
            std::sync::Arc::new(Logs::default()),
            PoolOptions::default(),
        )
        .unwrap();
    assert!(pool.warnings.is_empty(), "{:?}", pool.warnings);
    let answer = invoke(&pool);
    assert_eq!(answer["handler"], "app.handler");
    assert_eq!(answer["shared"], "from /opt");
    assert_eq!(answer["old"], false, "whited out by the app layer");
    assert_eq!(
        answer["env"],
        json!({"FROM_IMAGE": "yes", "OVERRIDDEN": "function", "TOOL_HOME": null, "LANG": "en_US.UTF-8"})
    );
    assert_eq!(answer["var_lang_on_path"], false);
    let unpacked = cache()
        .root()
        .join("code")
        .join(format!("image-{}", digest.hex()));
    assert!(unpacked.join("var/task/app.py").is_file());
    assert!(!unpacked.join("var/lang").exists() && !unpacked.join("var/runtime").exists());
    assert!(!unpacked.join("lambda-entrypoint.sh").exists());

    // ImageConfig.Command replaces CMD.
    let pool = runtime
        .prepare(
            config,
            &code(dir.path(), digest, Some(vec!["app.other".into()])),
            std::sync::Arc::new(Logs::default()),
            PoolOptions::default(),
        )
        .unwrap();
    assert_eq!(invoke(&pool), json!("other"));
}

#[test]
fn the_runtime_label_wins_and_an_image_that_says_nothing_gets_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::new(dir.path());
    let bare = [
        ("var/task/app.py", APP),
        ("opt/python/shared.py", "SHARED = 1\n"),
    ];
    // The label says python3.11 although the image carries a python3.12.
    let labelled = image(
        &store,
        json!({"config": {"Cmd": ["app.handler"], "Labels": {RUNTIME_LABEL: "python3.11"}}}),
        &[&[("usr/local/bin/python3.12", "")], &bare],
    );
    let mut config = config("image", "not.used");
    config.runtime = RuntimeKind::Python(Runtime::Python313);
    let runtime = LocalRuntime::new(&cache()).unwrap();
    let pool = runtime
        .prepare(
            config.clone(),
            &code(dir.path(), labelled, None),
            std::sync::Arc::new(Logs::default()),
            PoolOptions::default(),
        )
        .unwrap();
    assert!(pool.warnings.is_empty(), "{:?}", pool.warnings);
    assert_eq!(invoke(&pool)["handler"], "app.handler");

    // Neither label nor interpreter: the caller's runtime, and a warning saying so.
    let silent = image(
        &store,
        json!({"config": {"Cmd": ["app.handler"]}}),
        &[&bare],
    );
    config.runtime = RuntimeKind::Python(Runtime::Python311);
    let pool = runtime
        .prepare(
            config,
            &code(dir.path(), silent, None),
            std::sync::Arc::new(Logs::default()),
            PoolOptions::default(),
        )
        .unwrap();
    assert_eq!(pool.warnings.len(), 1);
    assert!(
        pool.warnings[0].contains("does not say which Python")
            && pool.warnings[0].contains("python3.11")
            && pool.warnings[0].contains(RUNTIME_LABEL),
        "{}",
        pool.warnings[0]
    );
    assert_eq!(invoke(&pool)["shared"], 1);
}

#[test]
fn images_that_cannot_run_here_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::new(dir.path());
    let runtime = LocalRuntime::new(&cache()).unwrap();
    let prepare = |digest: Digest| {
        runtime
            .prepare(
                config("image", "app.handler"),
                &code(dir.path(), digest, None),
                std::sync::Arc::new(Logs::default()),
                PoolOptions::default(),
            )
            .err()
            .unwrap()
    };

    // Another architecture: refused before its layers are read.
    let foreign_architecture = match host_architecture() {
        Architecture::X86_64 => "arm64",
        Architecture::Arm64 => "amd64",
    };
    let foreign = image(
        &store,
        json!({"architecture": foreign_architecture, "config": {"Cmd": ["app.handler"]}}),
        &[&app_layer()],
    );
    let error = prepare(foreign);
    assert!(
        matches!(error, RuntimeError::ForeignArchitecture { .. }),
        "{error}"
    );
    assert!(
        !cache()
            .root()
            .join("code")
            .join(format!("image-{}", foreign.hex()))
            .exists()
    );

    // No CMD and no ImageConfig.Command: no handler.
    let commandless = image(&store, json!({"config": {}}), &[&app_layer()]);
    let message = prepare(commandless).to_string();
    assert!(
        message.contains(&commandless.to_string())
            && message.contains("no command (CMD)")
            && message.contains("ImageConfig.Command"),
        "{message}"
    );

    // A layer missing from the store.
    let incomplete = image(
        &store,
        json!({"config": {"Cmd": ["app.handler"]}}),
        &[&[("var/task/gone.py", "lost = True\n")]],
    );
    let manifest: Value = serde_json::from_slice(&store.read(&incomplete).unwrap()).unwrap();
    let layer: Digest = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    std::fs::remove_file(store.path(&layer)).unwrap();
    let message = prepare(incomplete).to_string();
    assert!(
        message.contains("cannot run the image") && message.contains(&layer.hex()),
        "{message}"
    );
}
