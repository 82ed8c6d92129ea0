//! PublishVersion and ListVersionsByFunction.

use serde::Deserialize;
use serde_json::Value;

use super::functions::publish_latest;
use super::{check_revision, paged};
use crate::Service;
use crate::error::ApiError;
use crate::http::{Call, Reply};
use crate::store::Write;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct PublishInput {
    code_sha256: Option<String>,
    description: Option<String>,
    revision_id: Option<String>,
}

impl Service {
    /// `POST /2015-03-31/functions/{name}/versions`.
    pub(crate) fn publish_version(&self, call: &Call, name: &str) -> Result<Reply, ApiError> {
        let name = self.unqualified(name)?;
        let input: PublishInput = call.json()?;
        if let Some(description) = &input.description {
            crate::validate::description(description)?;
        }
        let published = self.store.change_function(&name, |current| {
            let mut doc = self.existing(current, &name)?;
            check_revision(
                input.revision_id.as_deref(),
                &doc.latest.revision_id,
                "GetFunction/GetAlias",
            )?;
            let latest_sha = doc.latest.code.sha256_base64();
            if let Some(given) = input.code_sha256.as_deref()
                && given != latest_sha
            {
                return Err(ApiError::invalid(format!(
                    "CodeSHA256 ({given}) is different from current CodeSHA256 in $LATEST ({latest_sha}). Please try again with the CodeSHA256 in $LATEST."
                )));
            }
            let version = publish_latest(&mut doc, input.description.clone());
            Ok((Write::Put(doc), version))
        })?;
        Ok(Reply::json(201, &published.configuration(&self.partition)))
    }

    /// `GET /2015-03-31/functions/{name}/versions`.
    pub(crate) fn list_versions(&self, call: &Call, name: &str) -> Result<Reply, ApiError> {
        let name = self.unqualified(name)?;
        let doc = self
            .store
            .function(&name)
            .ok_or_else(|| self.function_not_found(&name, None))?;
        let items: Vec<Value> = std::iter::once(&doc.latest)
            .chain(doc.versions.values())
            .map(|version| version.configuration(&self.partition))
            .collect();
        paged("Versions", items, call)
    }
}
