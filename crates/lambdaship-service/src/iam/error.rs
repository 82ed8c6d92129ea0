//! Errors as IAM reports them: a status and an `<ErrorResponse>` whose `Code` the SDKs turn
//! into their exception classes (`NoSuchEntityException`, `EntityAlreadyExistsException` ...).

use bytes::Bytes;

use super::xml;
use crate::error::ApiError;
use crate::http::Reply;

/// An error answer of the IAM API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamError {
    /// HTTP status.
    pub status: u16,
    /// The error code, e.g. `NoSuchEntity`.
    pub code: &'static str,
    /// What is wrong, worded as IAM words it.
    pub message: String,
    /// Whether the caller is at fault (`Sender`) rather than the service (`Receiver`).
    pub sender: bool,
}

impl IamError {
    fn sender(status: u16, code: &'static str, message: impl Into<String>) -> IamError {
        IamError {
            status,
            code,
            message: message.into(),
            sender: true,
        }
    }

    /// 400 ValidationError: a parameter outside the API model's constraints. `value` is
    /// `None` for a missing parameter, which IAM prints as `null`.
    pub fn validation(value: Option<&str>, field: &str, constraint: &str) -> IamError {
        let value = value.map_or_else(|| "null".to_string(), |v| format!("'{v}'"));
        IamError::sender(
            400,
            "ValidationError",
            format!(
                "1 validation error detected: Value {value} at '{field}' failed to satisfy constraint: {constraint}"
            ),
        )
    }

    /// 400 ValidationError for a required parameter that is absent.
    pub fn missing(field: &str) -> IamError {
        IamError::validation(None, field, "Member must not be null")
    }

    /// 404 NoSuchEntity for a role.
    pub fn no_such_role(name: &str) -> IamError {
        IamError::sender(
            404,
            "NoSuchEntity",
            format!("The role with name {name} cannot be found."),
        )
    }

    /// 404 NoSuchEntity for a policy that cannot be attached (another account's).
    pub fn policy_not_attachable(arn: &str) -> IamError {
        IamError::sender(
            404,
            "NoSuchEntity",
            format!("Policy {arn} does not exist or is not attachable."),
        )
    }

    /// 404 NoSuchEntity for a policy that is not attached to the role.
    pub fn policy_not_attached(arn: &str) -> IamError {
        IamError::sender(404, "NoSuchEntity", format!("Policy {arn} was not found."))
    }

    /// 409 EntityAlreadyExists for a role name taken (in any letter case).
    pub fn role_exists(name: &str) -> IamError {
        IamError::sender(
            409,
            "EntityAlreadyExists",
            format!("Role with name {name} already exists."),
        )
    }

    /// 409 DeleteConflict: the role still has managed policies attached.
    pub fn policies_attached() -> IamError {
        IamError::sender(
            409,
            "DeleteConflict",
            "Cannot delete entity, must detach all policies first.",
        )
    }

    /// 409 LimitExceeded: a quota of the account.
    pub fn limit_exceeded(message: impl Into<String>) -> IamError {
        IamError::sender(409, "LimitExceeded", message)
    }

    /// 400 MalformedPolicyDocument.
    pub fn malformed_policy(message: impl Into<String>) -> IamError {
        IamError::sender(400, "MalformedPolicyDocument", message)
    }

    /// 400 InvalidInput.
    pub fn invalid_input(message: impl Into<String>) -> IamError {
        IamError::sender(400, "InvalidInput", message)
    }

    /// 400 InvalidAction: an operation this service does not have. `signed_for` is the
    /// service the request was signed for, when that is not IAM: the caller then meant
    /// another service, and is told which ones this server answers.
    pub fn invalid_action(action: &str, version: &str, signed_for: Option<&str>) -> IamError {
        let mut message = format!("Could not find operation {action} for version {version}");
        if let Some(service) = signed_for.filter(|service| *service != "iam") {
            message.push_str(&format!(
                " (a request for {service}: lambdaship server answers only the Lambda API and IAM's role operations)"
            ));
        }
        IamError::sender(400, "InvalidAction", message)
    }

    /// 400 MissingAction: a query request without `Action`.
    pub fn missing_action() -> IamError {
        IamError::sender(400, "MissingAction", "Missing Action")
    }

    /// The answer, with `request_id` in the body and in `x-amzn-RequestId`.
    pub fn reply(&self, request_id: &str) -> Reply {
        let kind = if self.sender { "Sender" } else { "Receiver" };
        let body = xml::error_response(kind, self.code, &self.message, request_id);
        Reply {
            status: self.status,
            headers: vec![("content-type", "text/xml".to_string())],
            body: Bytes::from(body),
            request_id: Some(request_id.to_string()),
        }
    }
}

/// The store reports its own failures (SQLite, encoding) as Lambda errors; in IAM they are
/// the service's fault: 500 ServiceFailure.
impl From<ApiError> for IamError {
    fn from(error: ApiError) -> IamError {
        IamError {
            status: 500,
            code: "ServiceFailure",
            message: error.message,
            sender: false,
        }
    }
}

impl std::fmt::Display for IamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for IamError {}
