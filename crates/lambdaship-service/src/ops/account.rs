//! GetAccountSettings, and the download of stored code (the `Location` of GetFunction and
//! GetLayerVersion).

use bytes::Bytes;
use serde_json::json;

use crate::Service;
use crate::error::ApiError;
use crate::http::Reply;
use crate::validate::{MAX_UNZIPPED_BYTES, MAX_ZIP_BYTES};

/// Lambda's default code storage per region, bytes (75 GB).
const TOTAL_CODE_SIZE: u64 = 80_530_636_800;

impl Service {
    /// `GET /2016-08-19/account-settings`.
    pub(crate) fn get_account_settings(&self) -> Result<Reply, ApiError> {
        let concurrency = self.engine.concurrency();
        Ok(Reply::json(
            200,
            &json!({
                "AccountLimit": {
                    "TotalCodeSize": TOTAL_CODE_SIZE,
                    "CodeSizeUnzipped": MAX_UNZIPPED_BYTES,
                    "CodeSizeZipped": MAX_ZIP_BYTES,
                    "ConcurrentExecutions": concurrency,
                    "UnreservedConcurrentExecutions": concurrency,
                },
                "AccountUsage": {
                    "TotalCodeSize": self.blobs.total_size(),
                    "FunctionCount": self.store.functions().len(),
                },
            }),
        ))
    }

    /// `GET /_lambdaship/code/{sha256}`: a stored archive.
    pub(crate) fn download_code(&self, sha256: &str) -> Result<Reply, ApiError> {
        let not_found = || ApiError::not_found("The resource you requested does not exist.");
        if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(not_found());
        }
        let bytes = std::fs::read(self.blobs.path(sha256)).map_err(|_| not_found())?;
        Ok(Reply {
            status: 200,
            headers: vec![("content-type", "application/zip".to_string())],
            body: Bytes::from(bytes),
            request_id: None,
        })
    }
}
