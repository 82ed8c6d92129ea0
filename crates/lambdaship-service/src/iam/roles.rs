//! The role operations: CreateRole, GetRole, DeleteRole, ListRoles, AttachRolePolicy,
//! DetachRolePolicy and ListAttachedRolePolicies.

use super::Outcome;
use super::error::IamError;
use super::input::{
    Form, check_description, check_path, check_path_prefix, check_policy_document,
    check_policy_json, check_policy_path_prefix, check_role_name, check_tags, marker, max_items,
    max_session_duration, parse_policy_arn,
};
use super::model::{RoleDoc, RoleView, attached_policy, new_role_id, timestamp_now};
use super::xml::Element;
use crate::Service;
use crate::store::Write;

/// Managed policies one role may have: IAM's default quota.
const MAX_ATTACHED_POLICIES: usize = 10;

/// Where a role is stored: IAM names are unique regardless of letter case, and found so.
fn role_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl Service {
    /// CreateRole: a new role named `RoleName` under `Path` with the trust policy.
    pub(super) fn create_role(&self, form: &Form) -> Outcome {
        let role = role_from_form(form)?;
        self.store
            .change_role(&role_key(&role.name), |current| match current {
                Some(_) => Err(IamError::role_exists(&role.name)),
                None => Ok((Write::Put(role.clone()), ())),
            })?;
        Ok(Some(vec![self.role_element(&role, RoleView::Full)]))
    }

    /// GetRole.
    pub(super) fn get_role(&self, form: &Form) -> Outcome {
        let role = self.existing_role(form)?;
        Ok(Some(vec![self.role_element(&role, RoleView::Full)]))
    }

    /// DeleteRole: refused while managed policies are attached, as IAM refuses it.
    pub(super) fn delete_role(&self, form: &Form) -> Outcome {
        let name = role_name(form)?;
        self.store
            .change_role(&role_key(name), |current| match current {
                None => Err(IamError::no_such_role(name)),
                Some(role) if !role.attached_policies.is_empty() => {
                    Err(IamError::policies_attached())
                }
                Some(_) => Ok((Write::Delete, ())),
            })?;
        Ok(None)
    }

    /// ListRoles, optionally under `PathPrefix`, paged.
    pub(super) fn list_roles(&self, form: &Form) -> Outcome {
        let prefix = form.get("PathPrefix").unwrap_or("/");
        check_path_prefix(prefix)?;
        let roles: Vec<Vec<Element>> = self
            .store
            .roles()
            .iter()
            .filter(|role| role.path.starts_with(prefix))
            .map(|role| role.fields(&self.partition.account, RoleView::ListItem))
            .collect();
        page("Roles", roles, form)
    }

    /// AttachRolePolicy: any well-formed managed policy ARN of AWS or of this account; AWS
    /// managed policies are not known here, so they are taken on trust.
    pub(super) fn attach_role_policy(&self, form: &Form) -> Outcome {
        let name = role_name(form)?;
        let arn = form.required("PolicyArn", "policyArn")?;
        let policy = parse_policy_arn(arn)?;
        if policy.account != "aws" && policy.account != self.partition.account {
            return Err(IamError::policy_not_attachable(arn));
        }
        self.store.change_role(&role_key(name), |current| {
            let mut role = current
                .cloned()
                .ok_or_else(|| IamError::no_such_role(name))?;
            if role.attached_policies.iter().any(|a| a == arn) {
                return Ok((Write::Keep, ()));
            }
            if role.attached_policies.len() >= MAX_ATTACHED_POLICIES {
                return Err(IamError::limit_exceeded(format!(
                    "Cannot exceed quota for PoliciesPerRole: {MAX_ATTACHED_POLICIES}"
                )));
            }
            role.attached_policies.push(arn.to_string());
            Ok((Write::Put(role), ()))
        })?;
        Ok(None)
    }

    /// DetachRolePolicy.
    pub(super) fn detach_role_policy(&self, form: &Form) -> Outcome {
        let name = role_name(form)?;
        let arn = form.required("PolicyArn", "policyArn")?;
        parse_policy_arn(arn)?;
        self.store.change_role(&role_key(name), |current| {
            let mut role = current
                .cloned()
                .ok_or_else(|| IamError::no_such_role(name))?;
            let before = role.attached_policies.len();
            role.attached_policies.retain(|a| a != arn);
            if role.attached_policies.len() == before {
                return Err(IamError::policy_not_attached(arn));
            }
            Ok((Write::Put(role), ()))
        })?;
        Ok(None)
    }

    /// ListAttachedRolePolicies, optionally under a policy `PathPrefix`, paged.
    pub(super) fn list_attached_role_policies(&self, form: &Form) -> Outcome {
        let role = self.existing_role(form)?;
        let prefix = form.get("PathPrefix").unwrap_or("/");
        check_policy_path_prefix(prefix)?;
        let items: Vec<Vec<Element>> = role
            .attached_policies
            .iter()
            .filter(|arn| parse_policy_arn(arn).is_ok_and(|policy| policy.path.starts_with(prefix)))
            .map(|arn| attached_policy(arn))
            .collect();
        page("AttachedPolicies", items, form)
    }

    /// The role `RoleName` names.
    fn existing_role(&self, form: &Form) -> Result<std::sync::Arc<RoleDoc>, IamError> {
        let name = role_name(form)?;
        self.store
            .role(&role_key(name))
            .ok_or_else(|| IamError::no_such_role(name))
    }

    fn role_element(&self, role: &RoleDoc, view: RoleView) -> Element {
        Element::parent("Role", role.fields(&self.partition.account, view))
    }
}

/// A new role from CreateRole's parameters, checked in IAM's order: the model's constraints,
/// then the trust policy's content.
fn role_from_form(form: &Form) -> Result<RoleDoc, IamError> {
    let name = role_name(form)?;
    let document = form.required("AssumeRolePolicyDocument", "assumeRolePolicyDocument")?;
    check_policy_document(document, "assumeRolePolicyDocument")?;
    let path = form.get("Path").unwrap_or("/");
    check_path(path)?;
    let description = form.get("Description").filter(|d| !d.is_empty());
    if let Some(description) = description {
        check_description(description)?;
    }
    let max_session_duration = max_session_duration(form.get("MaxSessionDuration"))?;
    let boundary = form.get("PermissionsBoundary");
    if let Some(boundary) = boundary {
        parse_policy_arn(boundary)?;
    }
    let tags = form.pairs_list("Tags", "Key", "Value");
    check_tags(&tags)?;
    check_policy_json(document)?;
    Ok(RoleDoc {
        name: name.to_string(),
        path: path.to_string(),
        id: new_role_id(),
        created: timestamp_now(),
        assume_role_policy_document: document.to_string(),
        description: description.map(str::to_string),
        max_session_duration,
        permissions_boundary: boundary.map(str::to_string),
        tags,
        attached_policies: Vec::new(),
    })
}

/// The `RoleName` parameter, required and checked.
fn role_name(form: &Form) -> Result<&str, IamError> {
    let name = form.required("RoleName", "roleName")?;
    check_role_name(name)?;
    Ok(name)
}

/// One page of a list as IAM answers it: the items from `Marker` on, at most `MaxItems`,
/// `IsTruncated`, and the `Marker` of the next page when there is one.
fn page(list: &'static str, items: Vec<Vec<Element>>, form: &Form) -> Outcome {
    let start = marker(form.get("Marker"))?;
    let size = max_items(form.get("MaxItems"))?;
    let total = items.len();
    let shown = items.into_iter().skip(start).take(size).collect();
    let truncated = start.saturating_add(size) < total;
    let mut fields = vec![
        Element::list(list, shown),
        Element::text("IsTruncated", truncated.to_string()),
    ];
    if truncated {
        fields.push(Element::text("Marker", (start + size).to_string()));
    }
    Ok(Some(fields))
}
