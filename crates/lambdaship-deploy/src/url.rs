//! `--url`: a function URL with the auth type asked for, and for a public URL the two
//! resource-policy statements Lambda requires since October 2025 (InvokeFunctionUrl with
//! AuthType NONE, and InvokeFunction when invoked via a function URL).

use std::collections::HashSet;

use aws_sdk_lambda::types::{Cors, FunctionUrlAuthType, InvokeMode};
use lambdaship_project::FunctionSpec;
use lambdaship_project::{CorsConfig, UrlInvokeMode};

use crate::error::{DeployError, code_of, step_failed};
use crate::report::{Change, EndpointReport, FunctionReport};
use crate::{Context, UrlAuth};

/// Statement ids of the public URL's permissions, so later deploys find them.
const PUBLIC_URL_SID: &str = "lambdaship-url-public";
const PUBLIC_INVOKE_SID: &str = "lambdaship-url-invoke";

/// Creates or updates the function URL and its permissions.
pub(crate) async fn upsert(
    context: &Context<'_>,
    spec: &FunctionSpec,
    qualifier: Option<&str>,
    auth: UrlAuth,
    report: &FunctionReport,
) -> Result<EndpointReport, DeployError> {
    let name = &spec.name;
    if report.arn.is_none() {
        context.tell(&format!("url of {name}"), Change::Created, "");
        return Ok(EndpointReport {
            change: Change::Created,
            url: None,
            api_id: None,
        });
    }
    let want_auth = match auth {
        UrlAuth::Public => FunctionUrlAuthType::None,
        UrlAuth::Iam => FunctionUrlAuthType::AwsIam,
    };
    let want_mode = match spec.http.invoke_mode {
        Some(UrlInvokeMode::ResponseStream) => InvokeMode::ResponseStream,
        _ => InvokeMode::Buffered,
    };
    let want_cors = spec.http.cors.as_ref().map(url_cors);
    let lambda = &context.clients.lambda;
    let current = match lambda
        .get_function_url_config()
        .function_name(name)
        .set_qualifier(qualifier.map(str::to_string))
        .send()
        .await
    {
        Ok(found) => Some(found),
        Err(error) if code_of(&error) == Some("ResourceNotFoundException") => None,
        Err(error) => {
            return Err(step_failed(
                format!("looking up the URL of `{name}`"),
                "lambda:GetFunctionUrlConfig",
                &error,
            ));
        }
    };
    let (mut change, mut url) = match &current {
        None => (Change::Created, None),
        Some(found) => {
            let mode = found.invoke_mode().cloned().unwrap_or(InvokeMode::Buffered);
            let same = *found.auth_type() == want_auth
                && mode == want_mode
                && same_cors(found.cors(), want_cors.as_ref());
            let change = if same {
                Change::Unchanged
            } else {
                Change::Updated
            };
            (change, Some(found.function_url().to_string()))
        }
    };
    if !context.dry_run() {
        match change {
            Change::Created => {
                let created = lambda
                    .create_function_url_config()
                    .function_name(name)
                    .set_qualifier(qualifier.map(str::to_string))
                    .auth_type(want_auth.clone())
                    .invoke_mode(want_mode.clone())
                    .set_cors(want_cors.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        step_failed(
                            format!("creating the URL of `{name}`"),
                            "lambda:CreateFunctionUrlConfig",
                            &e,
                        )
                    })?;
                url = Some(created.function_url().to_string());
            }
            Change::Updated => {
                lambda
                    .update_function_url_config()
                    .function_name(name)
                    .set_qualifier(qualifier.map(str::to_string))
                    .auth_type(want_auth.clone())
                    .invoke_mode(want_mode.clone())
                    .set_cors(want_cors.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        step_failed(
                            format!("updating the URL of `{name}`"),
                            "lambda:UpdateFunctionUrlConfig",
                            &e,
                        )
                    })?;
            }
            Change::Unchanged => {}
        }
    }
    let permissions_changed = if current.is_none() && context.dry_run() {
        false
    } else {
        align_permissions(context, name, qualifier, auth == UrlAuth::Public).await?
    };
    if permissions_changed && change == Change::Unchanged {
        change = Change::Updated;
    }
    context.tell(
        &format!("url of {name}"),
        change,
        &format!("{} ({})", url.as_deref().unwrap_or(""), want_auth.as_str()),
    );
    Ok(EndpointReport {
        change,
        url,
        api_id: None,
    })
}

/// `[tool.lambdaship.http] cors` as the function URL's Cors, which Lambda answers
/// preflights and adds headers from, as `lambdaship dev` does locally.
fn url_cors(config: &CorsConfig) -> Cors {
    Cors::builder()
        .set_allow_origins(non_empty(&config.allow_origins))
        .set_allow_methods(non_empty(&config.allow_methods))
        .set_allow_headers(non_empty(&config.allow_headers))
        .set_expose_headers(non_empty(&config.expose_headers))
        .set_max_age(config.max_age.and_then(|age| i32::try_from(age).ok()))
        .allow_credentials(config.allow_credentials)
        .build()
}

fn non_empty(list: &[String]) -> Option<Vec<String>> {
    (!list.is_empty()).then(|| list.to_vec())
}

/// Whether the deployed Cors is the wanted one: lists compared as sets (Lambda may
/// reorder them), absent and empty alike.
fn same_cors(deployed: Option<&Cors>, wanted: Option<&Cors>) -> bool {
    let set = |list: &[String]| list.iter().cloned().collect::<HashSet<String>>();
    let view = |cors: Option<&Cors>| {
        cors.map(|c| {
            (
                set(c.allow_origins()),
                set(c.allow_methods()),
                set(c.allow_headers()),
                set(c.expose_headers()),
                c.max_age().filter(|age| *age > 0),
                c.allow_credentials().unwrap_or(false),
            )
        })
        .filter(|fields| *fields != Default::default())
    };
    view(deployed) == view(wanted)
}

/// Adds the public statements when `public`, removes lambdaship's when not; whether any
/// was (or would be) changed.
async fn align_permissions(
    context: &Context<'_>,
    name: &str,
    qualifier: Option<&str>,
    public: bool,
) -> Result<bool, DeployError> {
    let present = statement_ids(context, name, qualifier).await?;
    let lambda = &context.clients.lambda;
    let mut changed = false;
    for sid in [PUBLIC_URL_SID, PUBLIC_INVOKE_SID] {
        let has = present.contains(sid);
        if has == public {
            continue;
        }
        changed = true;
        if context.dry_run() {
            continue;
        }
        if public {
            let request = lambda
                .add_permission()
                .function_name(name)
                .set_qualifier(qualifier.map(str::to_string))
                .statement_id(sid)
                .principal("*");
            let request = if sid == PUBLIC_URL_SID {
                request
                    .action("lambda:InvokeFunctionUrl")
                    .function_url_auth_type(FunctionUrlAuthType::None)
            } else {
                request
                    .action("lambda:InvokeFunction")
                    .invoked_via_function_url(true)
            };
            request.send().await.map_err(|e| {
                step_failed(
                    format!("allowing public calls to the URL of `{name}`"),
                    "lambda:AddPermission",
                    &e,
                )
            })?;
        } else {
            lambda
                .remove_permission()
                .function_name(name)
                .set_qualifier(qualifier.map(str::to_string))
                .statement_id(sid)
                .send()
                .await
                .map_err(|e| {
                    step_failed(
                        format!("removing the public permission `{sid}` of `{name}`"),
                        "lambda:RemovePermission",
                        &e,
                    )
                })?;
        }
    }
    Ok(changed)
}

/// The statement ids in the function's resource policy.
pub(crate) async fn statement_ids(
    context: &Context<'_>,
    name: &str,
    qualifier: Option<&str>,
) -> Result<HashSet<String>, DeployError> {
    let answer = context
        .clients
        .lambda
        .get_policy()
        .function_name(name)
        .set_qualifier(qualifier.map(str::to_string))
        .send()
        .await;
    let policy = match answer {
        Ok(found) => found.policy().unwrap_or("{}").to_string(),
        Err(error) if code_of(&error) == Some("ResourceNotFoundException") => {
            return Ok(HashSet::new());
        }
        Err(error) => {
            return Err(step_failed(
                format!("reading the resource policy of `{name}`"),
                "lambda:GetPolicy",
                &error,
            ));
        }
    };
    let document: serde_json::Value = serde_json::from_str(&policy).unwrap_or_default();
    Ok(document["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["Sid"].as_str().map(str::to_string))
        .collect())
}
