//! `lambdaship-adapter`: the web adapter as Lambda runs it, an external extension in
//! `/opt/extensions`. It registers, waits until the app answers its readiness check, then
//! runs the Runtime API loop on the app's behalf (the app itself is the function's runtime
//! process, started by the exec wrapper).

use std::process::ExitCode;

use lambdaship_adapter::config::ASYNC_INIT_WAIT;
use lambdaship_adapter::forward::{Forwarder, FunctionEnv};
use lambdaship_adapter::invoke::{Invoker, log};
use lambdaship_adapter::lambda_api::LambdaApi;
use lambdaship_adapter::{AdapterConfig, Attempt, process_env, wait_until_ready};

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            log(&format!("cannot start: {error}"));
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run())
}

async fn run() -> ExitCode {
    let Some(address) = process_env("AWS_LAMBDA_RUNTIME_API") else {
        log(
            "AWS_LAMBDA_RUNTIME_API is not set: this program runs inside Lambda, as an extension in /opt/extensions",
        );
        return ExitCode::FAILURE;
    };
    let extensions = LambdaApi::new(&address);
    let id = match extensions.register_extension(&extension_name()).await {
        Ok(id) => id,
        Err(error) => {
            log(&format!("cannot register as an extension: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let config = match AdapterConfig::from_env(process_env) {
        Ok((config, warnings)) => {
            for warning in warnings {
                log(&warning);
            }
            config
        }
        Err(error) => {
            return init_failed(&extensions, &id, "Adapter.Config", &error.to_string()).await;
        }
    };
    // Waiting for the next extension event says this extension's init is done; with no
    // events subscribed the call only returns when the environment goes away.
    let waiting = extensions.clone();
    let extension_id = id.clone();
    tokio::spawn(async move {
        if let Err(error) = waiting.extension_next(&extension_id).await {
            log(&format!("extension event loop ended: {error}"));
        }
    });
    let check = config.readiness_check();
    let init_wait = if config.async_init {
        ASYNC_INIT_WAIT.min(config.readiness_timeout)
    } else {
        config.readiness_timeout
    };
    let mut ready = match wait_until_ready(
        &check,
        tokio::time::Instant::now() + init_wait,
        report_progress,
    )
    .await
    {
        Ok(_) => true,
        Err(not_ready) if config.async_init => {
            log(&format!(
                "{not_ready}; with AWS_LWA_ASYNC_INIT the first event waits for it"
            ));
            false
        }
        Err(not_ready) => {
            return init_failed(
                &extensions,
                &id,
                "Adapter.AppNotReady",
                &not_ready.to_string(),
            )
            .await;
        }
    };
    // Runtime calls may go through a proxy (AWS_LWA_LAMBDA_RUNTIME_API_PROXY); the extension
    // registration above never does, as with the Lambda Web Adapter.
    let runtime_api = LambdaApi::new(config.runtime_api_proxy.as_deref().unwrap_or(&address));
    let invoker = Invoker {
        api: runtime_api.clone(),
        forwarder: Forwarder::new(config.clone(), FunctionEnv::from_env(process_env)),
    };
    loop {
        let invocation = match runtime_api.next_invocation().await {
            Ok(invocation) => invocation,
            Err(error) => {
                log(&format!("the Runtime API failed: {error}"));
                return ExitCode::FAILURE;
            }
        };
        if !ready {
            let deadline = deadline_instant(invocation.deadline_ms);
            match wait_until_ready(&check, deadline, report_progress).await {
                Ok(_) => ready = true,
                Err(not_ready) => {
                    log(&not_ready.to_string());
                    let error = serde_json::json!({"errorType": "Adapter.AppNotReady", "errorMessage": not_ready.to_string()});
                    if let Err(error) = runtime_api
                        .fail(&invocation.request_id, "Adapter.AppNotReady", error)
                        .await
                    {
                        log(&format!("cannot report the failure: {error}"));
                    }
                    continue;
                }
            }
        }
        if let Err(error) = invoker.handle(invocation).await {
            log(&format!("the Runtime API refused the answer: {error}"));
        }
    }
}

/// The extension's name: its file name in /opt/extensions, as Lambda requires.
fn extension_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|arg0| {
            std::path::Path::new(&arg0)
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "lambdaship-adapter".to_string())
}

fn report_progress(attempt: &Attempt) {
    log(&format!(
        "app is not ready after {} ms ({} attempts; last: {})",
        attempt.elapsed.as_millis(),
        attempt.number,
        attempt.outcome
    ));
}

/// The instant to stop waiting for the app during an event: a little before its deadline.
fn deadline_instant(deadline_ms: u64) -> tokio::time::Instant {
    tokio::time::Instant::now() + lambdaship_adapter::forward::answer_budget(deadline_ms)
}

async fn init_failed(api: &LambdaApi, id: &str, error_type: &str, message: &str) -> ExitCode {
    log(message);
    if let Err(error) = api.extension_init_error(id, error_type, message).await {
        log(&format!("cannot report the init error: {error}"));
    }
    ExitCode::FAILURE
}
