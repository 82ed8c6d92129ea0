//! ECR for image functions: the repository, created when missing (ECR drops a push to a
//! repository that does not exist), and the registry login from GetAuthorizationToken
//! (HTTP basic auth with user `AWS`, valid for 12 hours; no token-service exchange).

use aws_sdk_ecr::types::ImageTagMutability;
use base64::Engine;

use crate::Context;
use crate::error::{DeployError, code_of, step_failed};
use crate::report::Change;

/// A registry login from ECR.
pub(crate) struct EcrLogin {
    /// The registry's host (and port), from the token's proxy endpoint.
    pub registry: String,
    /// The user name (always `AWS` for ECR).
    pub user: String,
    /// The password; never printed.
    pub password: String,
}

impl std::fmt::Debug for EcrLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcrLogin")
            .field("registry", &self.registry)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Creates the repository `name` when it does not exist; whether it was created.
pub(crate) async fn ensure_repository(
    context: &Context<'_>,
    name: &str,
) -> Result<Change, DeployError> {
    let ecr = &context.clients.ecr;
    match ecr
        .describe_repositories()
        .repository_names(name)
        .send()
        .await
    {
        Ok(_) => return Ok(Change::Unchanged),
        Err(error) if code_of(&error) == Some("RepositoryNotFoundException") => {}
        Err(error) => {
            return Err(step_failed(
                format!("looking up the ECR repository `{name}`"),
                "ecr:DescribeRepositories",
                &error,
            ));
        }
    }
    if !context.dry_run() {
        ecr.create_repository()
            .repository_name(name)
            .image_tag_mutability(ImageTagMutability::Mutable)
            .send()
            .await
            .map_err(|e| {
                step_failed(
                    format!("creating the ECR repository `{name}`"),
                    "ecr:CreateRepository",
                    &e,
                )
            })?;
    }
    Ok(Change::Created)
}

/// Logs in to the account's registry.
pub(crate) async fn login(context: &Context<'_>) -> Result<EcrLogin, DeployError> {
    let step = "logging in to ECR";
    let answer = context
        .clients
        .ecr
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| step_failed(step, "ecr:GetAuthorizationToken", &e))?;
    let data = answer
        .authorization_data()
        .first()
        .ok_or_else(|| refused(step, "ECR answered no authorization data"))?;
    let (user, password) = decode_token(data.authorization_token().unwrap_or_default())
        .ok_or_else(|| {
            refused(
                step,
                "ECR's authorization token is not base64 of USER:PASSWORD",
            )
        })?;
    let endpoint = data
        .proxy_endpoint()
        .ok_or_else(|| refused(step, "ECR answered no proxy endpoint"))?;
    let registry = endpoint
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    Ok(EcrLogin {
        registry,
        user,
        password,
    })
}

fn refused(step: &str, reason: &str) -> DeployError {
    DeployError::Step {
        step: step.to_string(),
        reason: reason.to_string(),
        function_state: None,
    }
}

/// `base64(USER:PASSWORD)` split in two.
fn decode_token(token: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Whether `host` is an ECR private registry (`ACCOUNT.dkr.ecr.REGION.amazonaws.com`, or
/// the `.com.cn` form in China).
pub(crate) fn is_ecr_host(host: &str) -> bool {
    let host = host.split(':').next().unwrap_or(host);
    host.contains(".dkr.ecr.")
        && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_token_and_knows_ecr_hosts() {
        let token = base64::engine::general_purpose::STANDARD.encode("AWS:secret:with:colons");
        assert_eq!(
            decode_token(&token),
            Some(("AWS".into(), "secret:with:colons".into()))
        );
        assert_eq!(decode_token("not base64!"), None);
        assert!(is_ecr_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com"));
        assert!(is_ecr_host(
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"
        ));
        assert!(!is_ecr_host("127.0.0.1:5000"));
        assert!(!is_ecr_host("public.ecr.aws"));
    }
}
