//! What the service stores about a role, and the `<Role>` IAM returns for it.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};

use super::xml::Element;

/// Everything stored about one role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDoc {
    /// The name as created (lookups ignore case).
    pub name: String,
    /// `/` or `/a/b/`.
    pub path: String,
    /// `AROA` and 17 uppercase letters and digits.
    pub id: String,
    /// When it was created, ISO 8601 to the second.
    pub created: String,
    /// The trust policy, as the caller sent it.
    pub assume_role_policy_document: String,
    /// Description, when one was given.
    pub description: Option<String>,
    /// Longest session, seconds.
    pub max_session_duration: u32,
    /// The permissions boundary policy's ARN (recorded, not enforced).
    pub permissions_boundary: Option<String>,
    /// Tags in the order given.
    pub tags: Vec<(String, String)>,
    /// ARNs of the attached managed policies, in attachment order.
    pub attached_policies: Vec<String>,
}

/// Which fields a `<Role>` carries: ListRoles leaves out the boundary, the tags and the
/// last use, as IAM's does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleView {
    /// CreateRole and GetRole.
    Full,
    /// An item of ListRoles.
    ListItem,
}

/// What IAM leaves unencoded in the policy documents it returns: the rest is percent-encoded
/// (spaces as `%20`, which botocore's `unquote` and every URL decoder read back).
const POLICY_ENCODING: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'*');

impl RoleDoc {
    /// `arn:aws:iam::ACCOUNT:role/PATH/NAME`.
    pub fn arn(&self, account: &str) -> String {
        role_arn(account, &self.path, &self.name)
    }

    /// The `<Role>` fields.
    pub fn fields(&self, account: &str, view: RoleView) -> Vec<Element> {
        let mut fields = vec![
            Element::text("Path", &self.path),
            Element::text("RoleName", &self.name),
            Element::text("RoleId", &self.id),
            Element::text("Arn", self.arn(account)),
            Element::text("CreateDate", &self.created),
            Element::text(
                "AssumeRolePolicyDocument",
                encode_policy(&self.assume_role_policy_document),
            ),
        ];
        if let Some(description) = &self.description {
            fields.push(Element::text("Description", description));
        }
        fields.push(Element::text(
            "MaxSessionDuration",
            self.max_session_duration.to_string(),
        ));
        if view == RoleView::ListItem {
            return fields;
        }
        if let Some(boundary) = &self.permissions_boundary {
            fields.push(Element::parent(
                "PermissionsBoundary",
                vec![
                    Element::text("PermissionsBoundaryType", "PermissionsBoundaryPolicy"),
                    Element::text("PermissionsBoundaryArn", boundary),
                ],
            ));
        }
        if !self.tags.is_empty() {
            let tags = self
                .tags
                .iter()
                .map(|(key, value)| vec![Element::text("Key", key), Element::text("Value", value)])
                .collect();
            fields.push(Element::list("Tags", tags));
        }
        // Roles here are never assumed, so never used.
        fields.push(Element::parent("RoleLastUsed", Vec::new()));
        fields
    }
}

/// An `<AttachedPolicies>` item: the policy's name (its ARN's last segment) and ARN.
pub fn attached_policy(arn: &str) -> Vec<Element> {
    let name = arn.rsplit('/').next().unwrap_or(arn);
    vec![
        Element::text("PolicyName", name),
        Element::text("PolicyArn", arn),
    ]
}

/// `arn:aws:iam::ACCOUNT:role/PATH/NAME`: IAM is global, so no region.
pub fn role_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role{path}{name}")
}

/// A policy document as IAM returns it: URL-encoded.
pub fn encode_policy(document: &str) -> String {
    utf8_percent_encode(document, POLICY_ENCODING).to_string()
}

/// A fresh role id: `AROA` then 17 uppercase letters and digits, as IAM's.
pub fn new_role_id() -> String {
    const ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    // 17 base-36 digits take 88 bits; a v4 UUID has 122 random ones.
    let mut bits = uuid::Uuid::new_v4().as_u128();
    let mut id = String::from("AROA");
    for _ in 0..17 {
        id.push(char::from(ALPHABET[(bits % 36) as usize]));
        bits /= 36;
    }
    id
}

/// Now, as IAM prints `CreateDate`: `2024-01-31T12:34:56Z`.
pub fn timestamp_now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_ids_look_like_iams() {
        let id = new_role_id();
        assert_eq!(id.len(), 21, "{id}");
        assert!(id.starts_with("AROA"));
        assert!(
            id.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
        assert_ne!(id, new_role_id());
    }

    #[test]
    fn arns_carry_the_path() {
        assert_eq!(
            role_arn("000000000000", "/", "r"),
            "arn:aws:iam::000000000000:role/r"
        );
        assert_eq!(
            role_arn("000000000000", "/service-role/", "r"),
            "arn:aws:iam::000000000000:role/service-role/r"
        );
    }

    #[test]
    fn policies_are_url_encoded_with_percent_twenty() {
        assert_eq!(
            encode_policy(r#"{"Action": "sts:AssumeRole"}"#),
            "%7B%22Action%22%3A%20%22sts%3AAssumeRole%22%7D"
        );
    }
}
