//! `--http-api`: an API Gateway HTTP API in front of the function, made explicitly (API,
//! AWS_PROXY integration with payload 2.0, `$default` route, auto-deployed `$default`
//! stage) rather than by quick create, so the same calls work on AWS and on emulators,
//! plus the permission that lets API Gateway invoke the function.

use aws_sdk_apigatewayv2::types::{IntegrationType, ProtocolType};
use lambdaship_project::FunctionSpec;

use crate::error::{DeployError, step_failed};
use crate::report::{Change, EndpointReport, FunctionReport};
use crate::{Context, arn_parts};

/// The route and stage every lambdaship HTTP API has: all requests, deployed on change.
const DEFAULT: &str = "$default";

/// Creates what is missing of the function's HTTP API.
pub(crate) async fn upsert(
    context: &Context<'_>,
    spec: &FunctionSpec,
    qualifier: Option<&str>,
    report: &FunctionReport,
) -> Result<EndpointReport, DeployError> {
    let api_name = format!("lambdaship-{}", spec.name);
    let Some(function_arn) = report.arn.as_deref() else {
        context.tell(&format!("http api {api_name}"), Change::Created, "");
        return Ok(EndpointReport {
            change: Change::Created,
            url: None,
            api_id: None,
        });
    };
    let target = match qualifier {
        Some(alias) => format!("{function_arn}:{alias}"),
        None => function_arn.to_string(),
    };
    let mut change = Change::Unchanged;
    let (api_id, url) = match find_api(context, &api_name).await? {
        Some(found) => found,
        None if context.dry_run() => {
            context.tell(&format!("http api {api_name}"), Change::Created, "");
            return Ok(EndpointReport {
                change: Change::Created,
                url: None,
                api_id: None,
            });
        }
        None => {
            change = Change::Created;
            create_api(context, &api_name).await?
        }
    };
    let integration = ensure_integration(context, &api_id, &target, &mut change).await?;
    ensure_route(context, &api_id, integration.as_deref(), &mut change).await?;
    ensure_stage(context, &api_id, &mut change).await?;
    ensure_permission(context, spec, qualifier, function_arn, &api_id, &mut change).await?;
    context.tell(&format!("http api {api_name}"), change, &url);
    Ok(EndpointReport {
        change,
        url: Some(url),
        api_id: Some(api_id),
    })
}

fn mark(change: &mut Change) {
    if *change == Change::Unchanged {
        *change = Change::Updated;
    }
}

async fn find_api(
    context: &Context<'_>,
    name: &str,
) -> Result<Option<(String, String)>, DeployError> {
    let apigateway = &context.clients.apigateway;
    let mut token: Option<String> = None;
    loop {
        let page = apigateway
            .get_apis()
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| step_failed("listing HTTP APIs", "apigateway:GET", &e))?;
        let found = page.items().iter().find(|api| {
            api.name() == Some(name) && api.protocol_type() == Some(&ProtocolType::Http)
        });
        if let Some(api) = found {
            return Ok(Some((
                api.api_id().unwrap_or_default().to_string(),
                api.api_endpoint().unwrap_or_default().to_string(),
            )));
        }
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_string()),
            _ => return Ok(None),
        }
    }
}

async fn create_api(context: &Context<'_>, name: &str) -> Result<(String, String), DeployError> {
    let created = context
        .clients
        .apigateway
        .create_api()
        .name(name)
        .protocol_type(ProtocolType::Http)
        .send()
        .await
        .map_err(|e| {
            step_failed(
                format!("creating the HTTP API `{name}`"),
                "apigateway:POST",
                &e,
            )
        })?;
    Ok((
        created.api_id().unwrap_or_default().to_string(),
        created.api_endpoint().unwrap_or_default().to_string(),
    ))
}

/// The id of the AWS_PROXY integration with the function (absent in a dry run that would
/// create it).
async fn ensure_integration(
    context: &Context<'_>,
    api_id: &str,
    target: &str,
    change: &mut Change,
) -> Result<Option<String>, DeployError> {
    let apigateway = &context.clients.apigateway;
    let listed = apigateway
        .get_integrations()
        .api_id(api_id)
        .send()
        .await
        .map_err(|e| step_failed("listing the HTTP API's integrations", "apigateway:GET", &e))?;
    let found = listed.items().iter().find(|i| {
        i.integration_type() == Some(&IntegrationType::AwsProxy)
            && i.integration_uri() == Some(target)
    });
    if let Some(integration) = found {
        return Ok(integration.integration_id().map(str::to_string));
    }
    mark(change);
    if context.dry_run() {
        return Ok(None);
    }
    let created = apigateway
        .create_integration()
        .api_id(api_id)
        .integration_type(IntegrationType::AwsProxy)
        .integration_uri(target)
        .payload_format_version("2.0")
        .send()
        .await
        .map_err(|e| step_failed("creating the HTTP API's integration", "apigateway:POST", &e))?;
    Ok(created.integration_id().map(str::to_string))
}

async fn ensure_route(
    context: &Context<'_>,
    api_id: &str,
    integration: Option<&str>,
    change: &mut Change,
) -> Result<(), DeployError> {
    let apigateway = &context.clients.apigateway;
    let want = integration.map(|id| format!("integrations/{id}"));
    let listed = apigateway
        .get_routes()
        .api_id(api_id)
        .send()
        .await
        .map_err(|e| step_failed("listing the HTTP API's routes", "apigateway:GET", &e))?;
    let route = listed
        .items()
        .iter()
        .find(|r| r.route_key() == Some(DEFAULT));
    match route {
        Some(route) if route.target() == want.as_deref() && want.is_some() => Ok(()),
        Some(route) => {
            mark(change);
            if let (false, Some(target)) = (context.dry_run(), want) {
                apigateway
                    .update_route()
                    .api_id(api_id)
                    .route_id(route.route_id().unwrap_or_default())
                    .target(target)
                    .send()
                    .await
                    .map_err(|e| {
                        step_failed("pointing the $default route", "apigateway:PATCH", &e)
                    })?;
            }
            Ok(())
        }
        None => {
            mark(change);
            if let (false, Some(target)) = (context.dry_run(), want) {
                apigateway
                    .create_route()
                    .api_id(api_id)
                    .route_key(DEFAULT)
                    .target(target)
                    .send()
                    .await
                    .map_err(|e| {
                        step_failed("creating the $default route", "apigateway:POST", &e)
                    })?;
            }
            Ok(())
        }
    }
}

async fn ensure_stage(
    context: &Context<'_>,
    api_id: &str,
    change: &mut Change,
) -> Result<(), DeployError> {
    let apigateway = &context.clients.apigateway;
    let listed = apigateway
        .get_stages()
        .api_id(api_id)
        .send()
        .await
        .map_err(|e| step_failed("listing the HTTP API's stages", "apigateway:GET", &e))?;
    if listed
        .items()
        .iter()
        .any(|s| s.stage_name() == Some(DEFAULT))
    {
        return Ok(());
    }
    mark(change);
    if context.dry_run() {
        return Ok(());
    }
    apigateway
        .create_stage()
        .api_id(api_id)
        .stage_name(DEFAULT)
        .auto_deploy(true)
        .send()
        .await
        .map_err(|e| step_failed("creating the $default stage", "apigateway:POST", &e))?;
    Ok(())
}

async fn ensure_permission(
    context: &Context<'_>,
    spec: &FunctionSpec,
    qualifier: Option<&str>,
    function_arn: &str,
    api_id: &str,
    change: &mut Change,
) -> Result<(), DeployError> {
    let sid = format!("lambdaship-http-api-{api_id}");
    let present = crate::url::statement_ids(context, &spec.name, qualifier).await?;
    if present.contains(&sid) {
        return Ok(());
    }
    mark(change);
    if context.dry_run() {
        return Ok(());
    }
    let parts = arn_parts(function_arn).ok_or_else(|| DeployError::Step {
        step: "allowing API Gateway to invoke the function".into(),
        reason: format!("the function ARN `{function_arn}` is not an ARN"),
        function_state: None,
    })?;
    let source_arn = format!(
        "arn:{}:execute-api:{}:{}:{api_id}/*/*",
        parts.partition, parts.region, parts.account
    );
    context
        .clients
        .lambda
        .add_permission()
        .function_name(&spec.name)
        .set_qualifier(qualifier.map(str::to_string))
        .statement_id(sid)
        .action("lambda:InvokeFunction")
        .principal("apigateway.amazonaws.com")
        .source_arn(source_arn)
        .send()
        .await
        .map_err(|e| {
            step_failed(
                "allowing API Gateway to invoke the function",
                "lambda:AddPermission",
                &e,
            )
        })?;
    Ok(())
}
