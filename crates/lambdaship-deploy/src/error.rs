//! Why a deploy stopped, worded for the person running it: what failed, where, and what
//! to do about it. Secrets never appear: only key ids and ARNs do.

use std::error::Error;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// A failed deploy.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// No region from the flag, the environment or the profile.
    #[error(
        "no AWS region: pass --region, set AWS_REGION, or set `region` in the profile in ~/.aws/config"
    )]
    NoRegion,
    /// A region AWS Lambda does not run in.
    #[error(
        "unknown AWS region `{0}`: Lambda runs in us-east-1, eu-west-1, ap-southeast-2 and the other regions listed by `aws account list-regions`; fix --region, AWS_REGION or the profile's region (for a region newer than this lambdaship, set AWS_ENDPOINT_URL_LAMBDA=https://lambda.REGION.amazonaws.com)"
    )]
    UnknownRegion(String),
    /// The credential chain found nothing usable.
    #[error(
        "no AWS credentials{}: {detail}\n  looked in: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the profile in ~/.aws/credentials and ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE), web identity (AWS_WEB_IDENTITY_TOKEN_FILE), container credentials and instance metadata\n  fix: set the variables, run `aws configure`, or pass --profile NAME",
        profile.as_ref().map(|p| format!(" for profile `{p}`")).unwrap_or_default()
    )]
    NoCredentials {
        /// What the chain said.
        detail: String,
        /// The profile asked for.
        profile: Option<String>,
    },
    /// The project or the build failed before anything was sent.
    #[error("{0}")]
    Build(String),
    /// A step's call failed after the SDK's retries.
    #[error(
        "{step} failed: {reason}{}\n  steps before it are done (shown above); deploy again once fixed: it changes only what still differs",
        function_state.as_ref().map(|s| format!("\n  {s}")).unwrap_or_default()
    )]
    Step {
        /// The step, e.g. `update the code of hello`.
        step: String,
        /// Why, from the service's answer.
        reason: String,
        /// The function as the failure left it, read after the failure.
        function_state: Option<String>,
    },
    /// The deployed state does not allow the deploy (another package type, a missing role).
    #[error("{0}")]
    Refused(String),
}

/// A step's failure from an SDK error: the service's code and message, with the action
/// named when it was denied and the endpoint named when it could not be reached.
pub(crate) fn step_failed<E>(
    step: impl Into<String>,
    action: &str,
    error: &SdkError<E, HttpResponse>,
) -> DeployError
where
    E: ProvideErrorMetadata + Error + 'static,
{
    DeployError::Step {
        step: step.into(),
        reason: describe(action, error),
        function_state: None,
    }
}

/// The reason an SDK call failed, in one line.
pub(crate) fn describe<E>(action: &str, error: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + Error + 'static,
{
    match error {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            let Some(code) = inner.code() else {
                // No error code: the endpoint does not speak this API (or a proxy answered).
                return format!(
                    "{action} answered HTTP {} without an AWS error; does the endpoint serve this API?",
                    service.raw().status().as_u16()
                );
            };
            let message = inner.message().unwrap_or("no message");
            if is_access_denied(code) {
                format!(
                    "{action} was denied ({code}: {message}); allow `{action}` in the IAM policy of the credentials used"
                )
            } else {
                format!("{action} answered {code}: {message}")
            }
        }
        SdkError::DispatchFailure(failure) if failure.is_io() => format!(
            "{action} could not be sent: the endpoint cannot be reached (is the URL or the region right?): {}",
            DisplayErrorContext(error)
        ),
        SdkError::DispatchFailure(_) => {
            format!("{action} could not be sent: {}", DisplayErrorContext(error))
        }
        SdkError::TimeoutError(_) => format!("{action} timed out"),
        _ => format!("{action} failed: {}", DisplayErrorContext(error)),
    }
}

/// The service error code of an SDK error, if the service answered one.
pub(crate) fn code_of<E, R>(error: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
}

fn is_access_denied(code: &str) -> bool {
    matches!(
        code,
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" | "AuthorizationError"
    )
}
