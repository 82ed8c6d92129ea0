//! What a deploy did (or, in a dry run, would do), for the summary and `--json`.

use serde::Serialize;

/// What a step did to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// It did not exist and was created.
    Created,
    /// It existed and was changed.
    Updated,
    /// It already was as wanted: nothing was sent.
    Unchanged,
}

impl Change {
    /// The word for the summary, in the tense of a real run or of a dry run.
    pub fn word(self, dry_run: bool) -> &'static str {
        match (self, dry_run) {
            (Change::Created, false) => "created",
            (Change::Created, true) => "would be created",
            (Change::Updated, false) => "updated",
            (Change::Updated, true) => "would be updated",
            (Change::Unchanged, _) => "unchanged",
        }
    }
}

/// A resource a step looked after.
#[derive(Debug, Clone, Serialize)]
pub struct Resource {
    /// What happened to it.
    pub change: Change,
    /// Its ARN (absent when a dry run would create it).
    pub arn: Option<String>,
}

/// A layer version the function uses.
#[derive(Debug, Clone, Serialize)]
pub struct LayerReport {
    /// The layer name.
    pub name: String,
    /// Published now, or the latest version already had this content.
    pub change: Change,
    /// The layer version ARN (absent when a dry run would publish it).
    pub arn: Option<String>,
    /// Bytes sent for it.
    pub bytes_uploaded: u64,
}

/// The function's code.
#[derive(Debug, Clone, Serialize)]
pub struct CodeReport {
    /// Sent now, or the deployed CodeSha256 already matched.
    pub change: Change,
    /// SHA-256 of the zip, base64, as Lambda reports CodeSha256; for an image, its
    /// manifest digest's hex.
    pub code_sha256: String,
    /// Bytes sent (directly or to S3).
    pub bytes_uploaded: u64,
    /// `s3://bucket/key` when the code went through S3.
    pub s3_location: Option<String>,
    /// An image function's ImageUri, `HOST/REPOSITORY@sha256:HEX`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_uri: Option<String>,
}

/// The function's configuration.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigurationReport {
    /// Whether it was sent.
    pub change: Change,
    /// The settings that differed (Lambda's names).
    pub fields: Vec<String>,
}

/// A function URL or an HTTP API.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointReport {
    /// What happened to it.
    pub change: Change,
    /// Its URL (absent when a dry run would create it).
    pub url: Option<String>,
    /// The API id, for an HTTP API.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_id: Option<String>,
}

/// One function's deploy.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionReport {
    /// The function name.
    pub name: String,
    /// The function ARN (absent when a dry run would create it).
    pub arn: Option<String>,
    /// The execution role, when the deploy looked at it (creating the function, or a
    /// configured role).
    pub role: Option<Resource>,
    /// The layers lambdaship built and published.
    pub layers: Vec<LayerReport>,
    /// The code.
    pub code: CodeReport,
    /// The configuration.
    pub configuration: ConfigurationReport,
    /// The version `--publish` published or found.
    pub version: Option<String>,
    /// The alias `--alias` points at it.
    pub alias: Option<Resource>,
    /// The function URL (`--url`).
    pub url: Option<EndpointReport>,
    /// The HTTP API (`--http-api`).
    pub http_api: Option<EndpointReport>,
}

impl FunctionReport {
    /// Bytes this function's deploy sent.
    pub fn bytes_uploaded(&self) -> u64 {
        self.code.bytes_uploaded + self.layers.iter().map(|l| l.bytes_uploaded).sum::<u64>()
    }

    /// Whether anything was (or would be) written.
    pub fn changed(&self) -> bool {
        let changes = [
            self.role.as_ref().map(|r| r.change),
            self.alias.as_ref().map(|a| a.change),
            self.url.as_ref().map(|u| u.change),
            self.http_api.as_ref().map(|h| h.change),
            Some(self.code.change),
            Some(self.configuration.change),
        ];
        changes
            .into_iter()
            .flatten()
            .chain(self.layers.iter().map(|l| l.change))
            .any(|change| change != Change::Unchanged)
    }
}

/// A whole deploy.
#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    /// Where the calls went: an endpoint URL, or `AWS (region)`.
    pub destination: String,
    /// The region.
    pub region: String,
    /// A dry run: the changes are the ones a real run would make.
    pub dry_run: bool,
    /// Each function deployed.
    pub functions: Vec<FunctionReport>,
    /// Bytes sent in all.
    pub bytes_uploaded: u64,
}

impl DeployReport {
    /// The summary a person reads, one line per fact.
    pub fn summary(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let dry = self.dry_run;
        for function in &self.functions {
            let verdict = match (function.changed(), dry) {
                (false, _) => "unchanged",
                (true, false) => "deployed",
                (true, true) => "would change",
            };
            lines.push(format!("function {}: {verdict}", function.name));
            if let Some(arn) = &function.arn {
                lines.push(format!("  arn            {arn}"));
            }
            if let Some(role) = &function.role {
                let arn = role.arn.as_deref().unwrap_or("(new role)");
                lines.push(format!(
                    "  role           {arn} ({})",
                    role.change.word(dry)
                ));
            }
            for layer in &function.layers {
                let arn = layer.arn.as_deref().unwrap_or(&layer.name);
                lines.push(format!(
                    "  layer          {arn} ({})",
                    layer.change.word(dry)
                ));
            }
            let code = &function.code;
            let via = code
                .s3_location
                .as_ref()
                .map(|at| format!(" via {at}"))
                .unwrap_or_default();
            lines.push(format!(
                "  code           {} ({}{via})",
                code.image_uri.as_ref().unwrap_or(&code.code_sha256),
                code.change.word(dry)
            ));
            let configuration = &function.configuration;
            let fields = if configuration.fields.is_empty() {
                String::new()
            } else {
                format!(": {}", configuration.fields.join(", "))
            };
            lines.push(format!(
                "  configuration  {}{fields}",
                configuration.change.word(dry)
            ));
            if let Some(version) = &function.version {
                lines.push(format!("  version        {version}"));
            }
            if let Some(alias) = &function.alias {
                let arn = alias.arn.as_deref().unwrap_or("(new alias)");
                lines.push(format!(
                    "  alias          {arn} ({})",
                    alias.change.word(dry)
                ));
            }
            for (label, endpoint) in [("url", &function.url), ("http api", &function.http_api)] {
                if let Some(endpoint) = endpoint {
                    let url = endpoint.url.as_deref().unwrap_or("(new)");
                    lines.push(format!(
                        "  {label:<15}{url} ({})",
                        endpoint.change.word(dry)
                    ));
                }
            }
        }
        let verb = if dry { "would upload" } else { "uploaded" };
        lines.push(format!(
            "{verb} {} to {}",
            human_bytes(self.bytes_uploaded),
            self.destination
        ));
        lines
    }
}

/// `1.4 MB`, `812 B`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
