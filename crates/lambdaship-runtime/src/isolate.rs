//! TEMPORARY placeholder, replaced by the real module.
use std::path::PathBuf;
use std::sync::Arc;

/// Host directories that become Lambda's fixed paths inside an isolated environment.
pub struct IsolationPaths {
    /// task root
    pub task_root: PathBuf,
    /// opt
    pub opt: PathBuf,
    /// runtime dir
    pub runtime_dir: PathBuf,
    /// tmp
    pub tmp: PathBuf,
}
/// Why isolation cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IsolationUnavailable {
    /// x
    #[error("not yet")]
    NotYet,
}
/// probe
pub fn probe() -> Result<(), IsolationUnavailable> {
    Err(IsolationUnavailable::NotYet)
}
/// prepared
pub struct PreparedIsolation;
/// prepare
pub fn prepare(_paths: &IsolationPaths) -> Result<PreparedIsolation, IsolationUnavailable> {
    Err(IsolationUnavailable::NotYet)
}
impl PreparedIsolation {
    /// apply
    pub fn apply(self: &Arc<Self>, _command: &mut std::process::Command) {}
}
