//! CreateAlias, GetAlias, UpdateAlias, DeleteAlias and ListAliases.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{check_revision, paged};
use crate::Service;
use crate::error::ApiError;
use crate::http::{Call, Reply};
use crate::model::{Alias, FunctionDoc, new_revision};
use crate::names::check_alias_name;
use crate::store::Write;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct RoutingInput {
    additional_version_weights: Option<BTreeMap<String, f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct AliasInput {
    name: Option<String>,
    function_version: Option<String>,
    description: Option<String>,
    routing_config: Option<RoutingInput>,
    revision_id: Option<String>,
}

impl Service {
    /// `POST /2015-03-31/functions/{name}/aliases`.
    pub(crate) fn create_alias(&self, call: &Call, name: &str) -> Result<Reply, ApiError> {
        let name = self.unqualified(name)?;
        let input: AliasInput = call.json()?;
        let alias_name = input
            .name
            .clone()
            .ok_or_else(|| ApiError::validation("null", "name", "Member must not be null"))?;
        check_alias_name(&alias_name)?;
        let version = input.function_version.clone().ok_or_else(|| {
            ApiError::validation("null", "functionVersion", "Member must not be null")
        })?;
        let description = input.description.clone().unwrap_or_default();
        crate::validate::description(&description)?;
        let weights = input
            .routing_config
            .as_ref()
            .and_then(|r| r.additional_version_weights.clone())
            .unwrap_or_default();
        let created = self.store.change_function(&name, |current| {
            let mut doc = self.existing(current, &name)?;
            if doc.aliases.contains_key(&alias_name) {
                return Err(ApiError::conflict(format!(
                    "Alias already exists: {}",
                    self.partition.qualified_arn(&name, &alias_name)
                )));
            }
            self.check_alias_target(&doc, &version, &weights)?;
            let alias = Alias {
                name: alias_name.clone(),
                function_version: version,
                description,
                weights,
                revision_id: new_revision(),
            };
            doc.aliases.insert(alias_name.clone(), alias.clone());
            Ok((Write::Put(doc), alias))
        })?;
        Ok(Reply::json(
            201,
            &created.configuration(&self.partition, &name),
        ))
    }

    /// `GET /2015-03-31/functions/{name}/aliases/{alias}`.
    pub(crate) fn get_alias(&self, name: &str, alias: &str) -> Result<Reply, ApiError> {
        let name = self.unqualified(name)?;
        let doc = self
            .store
            .function(&name)
            .ok_or_else(|| self.function_not_found(&name, None))?;
        let found = doc
            .aliases
            .get(alias)
            .ok_or_else(|| self.alias_not_found(&name, alias))?;
        Ok(Reply::json(
            200,
            &found.configuration(&self.partition, &name),
        ))
    }

    /// `PUT /2015-03-31/functions/{name}/aliases/{alias}`.
    pub(crate) fn update_alias(
        &self,
        call: &Call,
        name: &str,
        alias: &str,
    ) -> Result<Reply, ApiError> {
        let name = self.unqualified(name)?;
        let input: AliasInput = call.json()?;
        if let Some(description) = &input.description {
            crate::validate::description(description)?;
        }
        let updated = self.store.change_function(&name, |current| {
            let mut doc = self.existing(current, &name)?;
            let mut found = doc
                .aliases
                .get(alias)
                .cloned()
                .ok_or_else(|| self.alias_not_found(&name, alias))?;
            check_revision(input.revision_id.as_deref(), &found.revision_id, "GetAlias")?;
            if let Some(version) = input.function_version.clone() {
                found.function_version = version;
            }
            if let Some(description) = input.description.clone() {
                found.description = description;
            }
            if let Some(routing) = &input.routing_config {
                found.weights = routing
                    .additional_version_weights
                    .clone()
                    .unwrap_or_default();
            }
            self.check_alias_target(&doc, &found.function_version, &found.weights)?;
            found.revision_id = new_revision();
            doc.aliases.insert(alias.to_string(), found.clone());
            Ok((Write::Put(doc), found))
        })?;
        Ok(Reply::json(
            200,
            &updated.configuration(&self.partition, &name),
        ))
    }

    /// `DELETE /2015-03-31/functions/{name}/aliases/{alias}`.
    pub(crate) fn delete_alias(&self, name: &str, alias: &str) -> Result<Reply, ApiError> {
        let name = self.unqualified(name)?;
        self.store.change_function(&name, |current| {
            let mut doc = self.existing(current, &name)?;
            if doc.aliases.remove(alias).is_none() {
                return Ok((Write::Keep, ()));
            }
            doc.policies.remove(alias);
            // Lambda deletes an alias's Function URL with the alias.
            doc.urls.remove(alias);
            Ok((Write::Put(doc), ()))
        })?;
        Ok(Reply::empty(204))
    }

    /// `GET /2015-03-31/functions/{name}/aliases`.
    pub(crate) fn list_aliases(&self, call: &Call, name: &str) -> Result<Reply, ApiError> {
        let name = self.unqualified(name)?;
        let doc = self
            .store
            .function(&name)
            .ok_or_else(|| self.function_not_found(&name, None))?;
        let version = call.query("FunctionVersion");
        let items: Vec<Value> = doc
            .aliases
            .values()
            .filter(|alias| version.is_none_or(|v| alias.function_version == v))
            .map(|alias| alias.configuration(&self.partition, &name))
            .collect();
        paged("Aliases", items, call)
    }

    fn alias_not_found(&self, name: &str, alias: &str) -> ApiError {
        ApiError::not_found(format!(
            "Alias not found: {}",
            self.partition.qualified_arn(name, alias)
        ))
    }

    /// The versions an alias points to exist; routing goes between two published versions.
    fn check_alias_target(
        &self,
        doc: &FunctionDoc,
        version: &str,
        weights: &BTreeMap<String, f64>,
    ) -> Result<(), ApiError> {
        let name = &doc.latest.name;
        let exists = |v: &str| {
            v == "$LATEST"
                || v.parse::<u64>()
                    .is_ok_and(|n| doc.versions.contains_key(&n))
        };
        if !exists(version) {
            return Err(self.function_not_found(name, Some(version)));
        }
        if weights.is_empty() {
            return Ok(());
        }
        if weights.len() > 1 {
            return Err(ApiError::invalid(
                "An alias can route to at most one additional version.",
            ));
        }
        if version == "$LATEST" || weights.contains_key("$LATEST") {
            return Err(ApiError::invalid(
                "$LATEST is not supported for an alias pointing to more than 1 version",
            ));
        }
        for (extra, weight) in weights {
            if !exists(extra) {
                return Err(self.function_not_found(name, Some(extra)));
            }
            if extra == version {
                return Err(ApiError::invalid(
                    "The additional version must differ from the alias's primary version.",
                ));
            }
            if !(0.0..=1.0).contains(weight) {
                return Err(ApiError::validation(
                    &weight.to_string(),
                    "routingConfig.additionalVersionWeights",
                    "Member must have value between 0.0 and 1.0",
                ));
            }
        }
        Ok(())
    }
}
