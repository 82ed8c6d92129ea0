//! `--publish` and `--alias`: a version of what was just deployed (Lambda hands back the
//! newest version when nothing changed since it), and an alias pointed at it.

use std::collections::HashSet;

use lambdaship_project::FunctionSpec;

use crate::Context;
use crate::error::{DeployError, code_of, step_failed};
use crate::report::{Change, FunctionReport, Resource};

/// What the release step did.
pub(crate) struct Release {
    /// The version published or found (absent when not asked, or in a dry run that
    /// would publish one).
    pub version: Option<String>,
    /// The alias.
    pub alias: Option<Resource>,
}

/// Publishes a version when `--publish` or `--alias` asks for one, then points the alias.
pub(crate) async fn publish(
    context: &Context<'_>,
    spec: &FunctionSpec,
    report: &FunctionReport,
) -> Result<Release, DeployError> {
    let options = context.options;
    if !options.publish && options.alias.is_none() {
        return Ok(Release {
            version: None,
            alias: None,
        });
    }
    let name = &spec.name;
    if report.arn.is_none() {
        // A dry run that would create the function: nothing to read yet.
        context.tell(&format!("version of {name}"), Change::Created, "");
        let alias = options.alias.as_ref().map(|alias| {
            context.tell(&format!("alias {alias}"), Change::Created, "");
            Resource {
                change: Change::Created,
                arn: None,
            }
        });
        return Ok(Release {
            version: None,
            alias,
        });
    }
    let existing = versions(context, name).await?;
    let newest = existing.iter().filter_map(|v| v.parse::<u64>().ok()).max();
    let unchanged_since = match newest {
        Some(newest) if !report.changed() => {
            same_as_latest(context, name, &newest.to_string()).await?
        }
        _ => false,
    };
    let version = if unchanged_since {
        // Lambda would hand back this version; some emulators publish another one.
        let newest = newest.map(|v| v.to_string());
        context.tell(
            &format!("version {} of {name}", newest.as_deref().unwrap_or("")),
            Change::Unchanged,
            "",
        );
        newest
    } else if context.dry_run() {
        context.tell(&format!("version of {name}"), Change::Created, "");
        None
    } else {
        let published = context
            .clients
            .lambda
            .publish_version()
            .function_name(name)
            // An image's CodeSha256 is Lambda's own reckoning: only a zip's is checked.
            .set_code_sha256(
                report
                    .code
                    .image_uri
                    .is_none()
                    .then(|| report.code.code_sha256.clone()),
            )
            .send()
            .await
            .map_err(|e| {
                step_failed(
                    format!("publishing a version of `{name}`"),
                    "lambda:PublishVersion",
                    &e,
                )
            })?;
        let version = published.version().unwrap_or("$LATEST").to_string();
        let change = if existing.contains(&version) {
            Change::Unchanged
        } else {
            Change::Created
        };
        context.tell(&format!("version {version} of {name}"), change, "");
        Some(version)
    };
    let alias = match &options.alias {
        Some(alias) => Some(point_alias(context, name, alias, version.as_deref()).await?),
        None => None,
    };
    Ok(Release { version, alias })
}

/// Whether `version` has $LATEST's code and configuration, so publishing would give it back.
async fn same_as_latest(
    context: &Context<'_>,
    name: &str,
    version: &str,
) -> Result<bool, DeployError> {
    let mut contents = Vec::new();
    for qualifier in ["$LATEST", version] {
        let configuration = context
            .clients
            .lambda
            .get_function_configuration()
            .function_name(name)
            .qualifier(qualifier)
            .send()
            .await
            .map_err(|e| {
                step_failed(
                    format!("reading version {qualifier} of `{name}`"),
                    "lambda:GetFunctionConfiguration",
                    &e,
                )
            })?;
        let mut environment: Vec<(String, String)> = configuration
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        environment.sort();
        contents.push(serde_json::json!({
            "code": configuration.code_sha256(),
            "handler": configuration.handler(),
            "runtime": configuration.runtime().map(|r| r.as_str()),
            "memory": configuration.memory_size(),
            "timeout": configuration.timeout(),
            "role": configuration.role(),
            "environment": environment,
            "layers": configuration.layers().iter().map(|l| l.arn()).collect::<Vec<_>>(),
        }));
    }
    Ok(contents[0] == contents[1])
}

/// The function's published version numbers.
async fn versions(context: &Context<'_>, name: &str) -> Result<HashSet<String>, DeployError> {
    let mut found = HashSet::new();
    let mut pages = context
        .clients
        .lambda
        .list_versions_by_function()
        .function_name(name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            step_failed(
                format!("listing the versions of `{name}`"),
                "lambda:ListVersionsByFunction",
                &e,
            )
        })?;
        found.extend(
            page.versions()
                .iter()
                .filter_map(|v| v.version())
                .filter(|v| *v != "$LATEST")
                .map(str::to_string),
        );
    }
    Ok(found)
}

async fn point_alias(
    context: &Context<'_>,
    name: &str,
    alias: &str,
    version: Option<&str>,
) -> Result<Resource, DeployError> {
    let lambda = &context.clients.lambda;
    let current = match lambda
        .get_alias()
        .function_name(name)
        .name(alias)
        .send()
        .await
    {
        Ok(found) => Some(found),
        Err(error) if code_of(&error) == Some("ResourceNotFoundException") => None,
        Err(error) => {
            return Err(step_failed(
                format!("looking up the alias `{alias}` of `{name}`"),
                "lambda:GetAlias",
                &error,
            ));
        }
    };
    let change = match (&current, version) {
        (None, _) => Change::Created,
        (Some(found), Some(version)) if found.function_version() == Some(version) => {
            Change::Unchanged
        }
        (Some(_), _) => Change::Updated,
    };
    let mut arn = current
        .as_ref()
        .and_then(|c| c.alias_arn().map(str::to_string));
    if let (false, Some(version)) = (context.dry_run(), version) {
        match change {
            Change::Created => {
                let created = lambda
                    .create_alias()
                    .function_name(name)
                    .name(alias)
                    .function_version(version)
                    .send()
                    .await
                    .map_err(|e| {
                        step_failed(
                            format!("creating the alias `{alias}`"),
                            "lambda:CreateAlias",
                            &e,
                        )
                    })?;
                arn = created.alias_arn().map(str::to_string);
            }
            Change::Updated => {
                lambda
                    .update_alias()
                    .function_name(name)
                    .name(alias)
                    .function_version(version)
                    .send()
                    .await
                    .map_err(|e| {
                        step_failed(
                            format!("pointing the alias `{alias}` at version {version}"),
                            "lambda:UpdateAlias",
                            &e,
                        )
                    })?;
            }
            Change::Unchanged => {}
        }
    }
    context.tell(
        &format!("alias {alias}"),
        change,
        &version.map(|v| format!("-> {v}")).unwrap_or_default(),
    );
    Ok(Resource { change, arn })
}
