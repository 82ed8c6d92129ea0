//! The execution role: the configured one (checked to exist), the deployed function's own
//! (left alone), or one created for the function, trusted by Lambda and allowed to log.

use lambdaship_project::FunctionSpec;

use crate::error::{DeployError, code_of, step_failed};
use crate::function::Deployed;
use crate::report::{Change, Resource};
use crate::trust::{LAMBDA_TRUST_STATEMENT, LambdaTrust, lambda_trust};
use crate::{Context, arn_parts};

/// The trust policy of a role Lambda assumes.
const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The managed policy that lets a function write its logs (its path after the partition).
const BASIC_EXECUTION_POLICY: &str = "iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";

/// The role a function gets.
pub(crate) struct RoleChoice {
    /// Its ARN; absent only in a dry run that would create it.
    pub arn: Option<String>,
    /// Created by this deploy, so IAM may not have propagated it yet.
    pub created_now: bool,
    /// For the report.
    pub report: Resource,
}

/// The role to give the function, or `None` to keep the deployed function's role.
pub(crate) async fn resolve(
    context: &Context<'_>,
    spec: &FunctionSpec,
    deployed: Option<&Deployed>,
) -> Result<Option<RoleChoice>, DeployError> {
    let configured = context.options.role.as_ref().or(spec.role.as_ref());
    match (configured, deployed) {
        (Some(role), _) => configured_role(context, role).await.map(Some),
        (None, Some(_)) => Ok(None),
        (None, None) => default_role(context, &spec.name).await.map(Some),
    }
}

/// The name lambdaship gives the role it creates for `function`.
pub(crate) fn default_role_name(function: &str) -> String {
    format!("lambdaship-{function}").chars().take(64).collect()
}

async fn configured_role(context: &Context<'_>, role: &str) -> Result<RoleChoice, DeployError> {
    let is_arn = role.starts_with("arn:");
    let name = role.rsplit('/').next().unwrap_or(role);
    let answer = context.clients.iam.get_role().role_name(name).send().await;
    let arn = match answer {
        Ok(found) => {
            if let Some(document) = found.role().and_then(|r| r.assume_role_policy_document())
                && lambda_trust(document) == LambdaTrust::NotAllowed
            {
                return Err(DeployError::Refused(format!(
                    "the role `{role}` cannot be assumed by Lambda: its trust policy does not allow lambda.amazonaws.com to call sts:AssumeRole\n  fix: add {LAMBDA_TRUST_STATEMENT} to its trust policy (aws iam update-assume-role-policy --role-name {name} --policy-document ...), pick another role, or leave `role` unset and deploy creates `lambdaship-FUNCTION`"
                )));
            }
            match found.role() {
                Some(_) if is_arn => role.to_string(),
                Some(found) => found.arn().to_string(),
                None => role.to_string(),
            }
        }
        Err(error) if code_of(&error) == Some("NoSuchEntity") => {
            return Err(DeployError::Refused(format!(
                "the role `{role}` does not exist in the account: create it (trusted by lambda.amazonaws.com), fix `role` in [tool.lambdaship] or --role, or leave both unset and deploy creates `lambdaship-FUNCTION`"
            )));
        }
        // Without iam:GetRole the role cannot be checked; an ARN is still usable as given.
        Err(error) if is_arn && is_denied(code_of(&error)) => role.to_string(),
        Err(error) => {
            return Err(step_failed(
                format!("checking the role `{role}`"),
                "iam:GetRole",
                &error,
            ));
        }
    };
    context.tell(&format!("role {arn}"), Change::Unchanged, "");
    Ok(RoleChoice {
        arn: Some(arn.clone()),
        created_now: false,
        report: Resource {
            change: Change::Unchanged,
            arn: Some(arn),
        },
    })
}

async fn default_role(context: &Context<'_>, function: &str) -> Result<RoleChoice, DeployError> {
    let name = default_role_name(function);
    let iam = &context.clients.iam;
    match iam.get_role().role_name(&name).send().await {
        Ok(found) => {
            let arn = found.role().map(|r| r.arn().to_string());
            context.tell(&format!("role {name}"), Change::Unchanged, "");
            return Ok(RoleChoice {
                arn: arn.clone(),
                created_now: false,
                report: Resource {
                    change: Change::Unchanged,
                    arn,
                },
            });
        }
        Err(error) if code_of(&error) == Some("NoSuchEntity") => {}
        Err(error) if is_denied(code_of(&error)) => {
            return Err(DeployError::Refused(format!(
                "cannot look up the execution role `{name}` (iam:GetRole was denied): set `role` in [tool.lambdaship] or pass --role ARN with a role trusted by lambda.amazonaws.com"
            )));
        }
        Err(error) => {
            return Err(step_failed(
                format!("looking up the role `{name}`"),
                "iam:GetRole",
                &error,
            ));
        }
    }
    if context.dry_run() {
        context.tell(&format!("role {name}"), Change::Created, "");
        return Ok(RoleChoice {
            arn: None,
            created_now: true,
            report: Resource {
                change: Change::Created,
                arn: None,
            },
        });
    }
    let created = iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(TRUST_POLICY)
        .description(format!(
            "Execution role of the Lambda function {function}, created by lambdaship deploy"
        ))
        .send()
        .await
        .map_err(|e| step_failed(format!("creating the role `{name}`"), "iam:CreateRole", &e))?;
    let arn = created
        .role()
        .map(|r| r.arn().to_string())
        .ok_or_else(|| DeployError::Step {
            step: format!("creating the role `{name}`"),
            reason: "iam:CreateRole answered no role".into(),
            function_state: None,
        })?;
    let partition = arn_parts(&arn).map_or_else(|| "aws".to_string(), |p| p.partition);
    iam.attach_role_policy()
        .role_name(&name)
        .policy_arn(format!("arn:{partition}:{BASIC_EXECUTION_POLICY}"))
        .send()
        .await
        .map_err(|e| {
            step_failed(
                format!("attaching AWSLambdaBasicExecutionRole to `{name}`"),
                "iam:AttachRolePolicy",
                &e,
            )
        })?;
    context.tell(&format!("role {arn}"), Change::Created, "");
    Ok(RoleChoice {
        arn: Some(arn.clone()),
        created_now: true,
        report: Resource {
            change: Change::Created,
            arn: Some(arn),
        },
    })
}

fn is_denied(code: Option<&str>) -> bool {
    matches!(code, Some("AccessDenied" | "AccessDeniedException"))
}
