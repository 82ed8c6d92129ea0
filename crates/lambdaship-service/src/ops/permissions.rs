//! Resource-based policies (AddPermission, RemovePermission, GetPolicy) and tags
//! (TagResource, UntagResource, ListTags).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::check_revision;
use super::functions::{check_tags, merge_qualifier};
use crate::Service;
use crate::error::ApiError;
use crate::http::{Call, Reply};
use crate::model::{FunctionDoc, Policy, new_revision};
use crate::store::Write;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct PermissionInput {
    statement_id: Option<String>,
    action: Option<String>,
    principal: Option<String>,
    source_arn: Option<String>,
    source_account: Option<String>,
    event_source_token: Option<String>,
    revision_id: Option<String>,
    #[serde(rename = "PrincipalOrgID")]
    principal_org_id: Option<String>,
    function_url_auth_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct TagInput {
    tags: Option<BTreeMap<String, String>>,
}

impl Service {
    /// `POST /2015-03-31/functions/{name}/policy`.
    pub(crate) fn add_permission(&self, call: &Call, name: &str) -> Result<Reply, ApiError> {
        let reference = self.partition.parse_function(name)?;
        let qualifier = merge_qualifier(reference.qualifier, call.query("Qualifier"))?;
        let name = reference.name;
        let input: PermissionInput = call.json()?;
        let sid = input.statement_id.clone().ok_or_else(|| {
            ApiError::validation("null", "statementId", "Member must not be null")
        })?;
        if sid.is_empty()
            || sid.len() > 100
            || !sid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ApiError::validation(
                &sid,
                "statementId",
                "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)",
            ));
        }
        let action = input
            .action
            .clone()
            .ok_or_else(|| ApiError::validation("null", "action", "Member must not be null"))?;
        let action_ok = action == "*"
            || action.strip_prefix("lambda:").is_some_and(|rest| {
                rest == "*" || (!rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphabetic()))
            });
        if !action_ok {
            return Err(ApiError::validation(
                &action,
                "action",
                "Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])",
            ));
        }
        let principal = input
            .principal
            .clone()
            .ok_or_else(|| ApiError::validation("null", "principal", "Member must not be null"))?;
        let principal_json = principal_document(&principal)?;
        let statement = self.store.change_function(&name, |current| {
            let mut doc = self.existing(current, &name)?;
            let key = self.policy_key(&doc, qualifier.as_deref())?;
            let policy = doc.policies.entry(key).or_default();
            check_revision(
                input.revision_id.as_deref(),
                &policy.revision_id,
                "GetPolicy",
            )?;
            if policy
                .statements
                .iter()
                .any(|s| s.get("Sid").and_then(Value::as_str) == Some(sid.as_str()))
            {
                return Err(ApiError::conflict(format!(
                    "The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement."
                )));
            }
            let resource = match qualifier.as_deref() {
                Some(q) => self.partition.qualified_arn(&name, q),
                None => self.partition.function_arn(&name),
            };
            let mut statement = json!({
                "Sid": sid,
                "Effect": "Allow",
                "Principal": principal_json,
                "Action": action,
                "Resource": resource,
            });
            let condition = conditions(&input);
            if !condition.is_empty()
                && let Value::Object(map) = &mut statement
            {
                map.insert("Condition".to_string(), Value::Object(condition));
            }
            policy.statements.push(statement.clone());
            policy.revision_id = new_revision();
            Ok((Write::Put(doc), statement))
        })?;
        Ok(Reply::json(
            201,
            &json!({ "Statement": statement.to_string() }),
        ))
    }

    /// `DELETE /2015-03-31/functions/{name}/policy/{sid}`.
    pub(crate) fn remove_permission(
        &self,
        call: &Call,
        name: &str,
        sid: &str,
    ) -> Result<Reply, ApiError> {
        let reference = self.partition.parse_function(name)?;
        let qualifier = merge_qualifier(reference.qualifier, call.query("Qualifier"))?;
        let name = reference.name;
        self.store.change_function(&name, |current| {
            let mut doc = self.existing(current, &name)?;
            let key = self.policy_key(&doc, qualifier.as_deref())?;
            let missing =
                || ApiError::not_found(format!("Statement {sid} is not found in resource policy."));
            let policy = doc.policies.get_mut(&key).ok_or_else(missing)?;
            check_revision(call.query("RevisionId"), &policy.revision_id, "GetPolicy")?;
            let before = policy.statements.len();
            policy
                .statements
                .retain(|s| s.get("Sid").and_then(Value::as_str) != Some(sid));
            if policy.statements.len() == before {
                return Err(missing());
            }
            policy.revision_id = new_revision();
            if policy.statements.is_empty() {
                doc.policies.remove(&key);
            }
            Ok((Write::Put(doc), ()))
        })?;
        Ok(Reply::empty(204))
    }

    /// `GET /2015-03-31/functions/{name}/policy`.
    pub(crate) fn get_policy(&self, call: &Call, name: &str) -> Result<Reply, ApiError> {
        let (doc, qualifier) = self.lookup(call, name)?;
        let key = self.policy_key(&doc, qualifier.as_deref())?;
        let policy: &Policy = doc
            .policies
            .get(&key)
            .filter(|p| !p.statements.is_empty())
            .ok_or_else(|| ApiError::not_found("The resource you requested does not exist."))?;
        let document = json!({
            "Version": "2012-10-17",
            "Id": "default",
            "Statement": policy.statements,
        });
        Ok(Reply::json(
            200,
            &json!({"Policy": document.to_string(), "RevisionId": policy.revision_id}),
        ))
    }

    /// Policies are kept per qualifier; the qualifier must name a version or alias.
    fn policy_key(&self, doc: &FunctionDoc, qualifier: Option<&str>) -> Result<String, ApiError> {
        match qualifier {
            None => Ok(String::new()),
            Some(q) => {
                self.resolve(doc, Some(q))?;
                Ok(q.to_string())
            }
        }
    }

    /// `POST /2017-03-31/tags/{arn}`.
    pub(crate) fn tag_resource(&self, call: &Call, arn: &str) -> Result<Reply, ApiError> {
        let name = self.tagged_function(arn)?;
        let input: TagInput = call.json()?;
        let tags = input
            .tags
            .ok_or_else(|| ApiError::validation("null", "tags", "Member must not be null"))?;
        self.store.change_function(&name, |current| {
            let mut doc = self.existing(current, &name)?;
            doc.tags.extend(tags);
            check_tags(&doc.tags)?;
            Ok((Write::Put(doc), ()))
        })?;
        Ok(Reply::empty(204))
    }

    /// `DELETE /2017-03-31/tags/{arn}?tagKeys=...`.
    pub(crate) fn untag_resource(&self, call: &Call, arn: &str) -> Result<Reply, ApiError> {
        let name = self.tagged_function(arn)?;
        let keys = call.query_all("tagKeys");
        self.store.change_function(&name, |current| {
            let mut doc = self.existing(current, &name)?;
            for key in &keys {
                doc.tags.remove(key);
            }
            Ok((Write::Put(doc), ()))
        })?;
        Ok(Reply::empty(204))
    }

    /// `GET /2017-03-31/tags/{arn}`.
    pub(crate) fn list_tags(&self, arn: &str) -> Result<Reply, ApiError> {
        let name = self.tagged_function(arn)?;
        let doc = self
            .store
            .function(&name)
            .ok_or_else(|| self.function_not_found(&name, None))?;
        Ok(Reply::json(200, &json!({ "Tags": doc.tags })))
    }

    /// The function a taggable ARN names (tags belong to the unqualified function).
    fn tagged_function(&self, arn: &str) -> Result<String, ApiError> {
        if !arn.starts_with("arn:") {
            return Err(ApiError::validation(
                arn,
                "resource",
                "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:...:function:NAME",
            ));
        }
        let reference = self.partition.parse_function(arn)?;
        if reference.qualifier.is_some() {
            return Err(ApiError::invalid(
                "Tags apply to the function: pass its unqualified ARN.",
            ));
        }
        Ok(reference.name)
    }
}

/// The `Principal` element for a principal as AddPermission receives it.
fn principal_document(principal: &str) -> Result<Value, ApiError> {
    if principal == "*" {
        return Ok(json!("*"));
    }
    if principal.len() == 12 && principal.chars().all(|c| c.is_ascii_digit()) {
        return Ok(json!({"AWS": format!("arn:aws:iam::{principal}:root")}));
    }
    if principal.starts_with("arn:") {
        return Ok(json!({"AWS": principal}));
    }
    if principal.contains('.') && !principal.chars().any(char::is_whitespace) {
        return Ok(json!({"Service": principal}));
    }
    Err(ApiError::invalid(format!(
        "The provided principal was invalid: {principal}. Use a service principal (s3.amazonaws.com), an account id, an ARN or *."
    )))
}

/// The `Condition` element from the optional fields.
fn conditions(input: &PermissionInput) -> serde_json::Map<String, Value> {
    let mut condition = serde_json::Map::new();
    let mut string_equals = serde_json::Map::new();
    if let Some(arn) = &input.source_arn {
        condition.insert("ArnLike".to_string(), json!({"AWS:SourceArn": arn}));
    }
    if let Some(account) = &input.source_account {
        string_equals.insert("AWS:SourceAccount".to_string(), json!(account));
    }
    if let Some(org) = &input.principal_org_id {
        string_equals.insert("aws:PrincipalOrgID".to_string(), json!(org));
    }
    if let Some(token) = &input.event_source_token {
        string_equals.insert("lambda:EventSourceToken".to_string(), json!(token));
    }
    if let Some(auth) = &input.function_url_auth_type {
        string_equals.insert("lambda:FunctionUrlAuthType".to_string(), json!(auth));
    }
    if !string_equals.is_empty() {
        condition.insert("StringEquals".to_string(), Value::Object(string_equals));
    }
    condition
}
