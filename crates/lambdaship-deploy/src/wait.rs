//! Waiting for Lambda between steps: a function takes updates only once it is no longer
//! Pending and its last update is no longer InProgress.

use std::time::{Duration, Instant};

use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
use aws_sdk_lambda::types::{LastUpdateStatus, State};

use crate::Context;
use crate::error::{DeployError, code_of, describe, step_failed};

/// How long a function may stay Pending or InProgress before the deploy gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(600);
/// The first pause between looks; it doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

/// Waits until `name` takes another update, and returns its configuration then.
pub(crate) async fn until_ready(
    context: &Context<'_>,
    name: &str,
) -> Result<GetFunctionConfigurationOutput, DeployError> {
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    loop {
        let configuration = context
            .clients
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .map_err(|e| {
                step_failed(
                    format!("waiting for `{name}` to be ready"),
                    "lambda:GetFunctionConfiguration",
                    &e,
                )
            })?;
        let state = configuration.state().cloned();
        let update = configuration.last_update_status().cloned();
        if state == Some(State::Failed) {
            return Err(DeployError::Refused(format!(
                "the function `{name}` is in state Failed: {} (fix the cause, then deploy again)",
                configuration.state_reason().unwrap_or("no reason given")
            )));
        }
        if update == Some(LastUpdateStatus::Failed) {
            return Err(DeployError::Refused(format!(
                "the last update of `{name}` failed: {} (fix the cause, then deploy again)",
                configuration
                    .last_update_status_reason()
                    .unwrap_or("no reason given")
            )));
        }
        let busy = state == Some(State::Pending) || update == Some(LastUpdateStatus::InProgress);
        if !busy {
            return Ok(configuration);
        }
        if started.elapsed() > READY_TIMEOUT {
            return Err(DeployError::Refused(format!(
                "`{name}` is still {} after {} s; look at it in the console, then deploy again",
                if state == Some(State::Pending) {
                    "Pending"
                } else {
                    "updating"
                },
                READY_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// The function's state in one line, for a failure message: whether it exists, its State
/// and LastUpdateStatus, and which code it runs. Read once, without retries: the call is
/// made after something already failed.
pub(crate) async fn describe_state(context: &Context<'_>, name: &str) -> String {
    let answer = context
        .clients
        .lambda
        .get_function_configuration()
        .function_name(name)
        .customize()
        .config_override(
            aws_sdk_lambda::config::Builder::default()
                .retry_config(aws_config::retry::RetryConfig::disabled()),
        )
        .send()
        .await;
    match answer {
        Ok(found) => format!(
            "the function `{name}` is now {} (last update {}{}), with the code CodeSha256 {} of {}",
            found.state().map_or("in an unknown state", State::as_str),
            found
                .last_update_status()
                .map_or("unknown", LastUpdateStatus::as_str),
            found
                .last_update_status_reason()
                .map(|reason| format!(": {reason}"))
                .unwrap_or_default(),
            found.code_sha256().unwrap_or("unknown"),
            found.last_modified().unwrap_or("an unknown time"),
        ),
        Err(error) if code_of(&error) == Some("ResourceNotFoundException") => {
            format!("the function `{name}` does not exist (nothing of it was created)")
        }
        Err(error) => format!(
            "the state of `{name}` could not be read afterwards: {}",
            describe("lambda:GetFunctionConfiguration", &error)
        ),
    }
}
