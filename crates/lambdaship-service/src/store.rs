//! The service's state in SQLite (WAL): one JSON document per function, per layer name and
//! per IAM role, replaced in one transaction per API call, so a crash leaves the old document
//! or the new one. Reads come from an in-memory copy updated after each commit.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use rusqlite::{Connection, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::iam::model::RoleDoc;
use crate::model::{FunctionDoc, LayerDoc};

/// What a change does to a document.
pub enum Write<D> {
    /// Leave it as it is.
    Keep,
    /// Store this document.
    Put(D),
    /// Remove the document.
    Delete,
}

/// Functions, layers and roles, durable in SQLite and mirrored in memory.
pub struct Store {
    connection: Mutex<Connection>,
    functions: RwLock<BTreeMap<String, Arc<FunctionDoc>>>,
    layers: RwLock<BTreeMap<String, Arc<LayerDoc>>>,
    /// Keyed by the lowercased role name: IAM names are unique regardless of case.
    roles: RwLock<BTreeMap<String, Arc<RoleDoc>>>,
}

/// Why the state could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("state database {path}: {source}")]
    Database {
        /// The database file.
        path: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A stored document does not parse (written by another version of lambdaship?).
    #[error("state database {path}: the {table} record `{name}` cannot be read: {message}")]
    Record {
        /// The database file.
        path: String,
        /// Its table.
        table: &'static str,
        /// The record's key.
        name: String,
        /// What is wrong.
        message: String,
    },
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS functions (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS layers (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS roles (name TEXT PRIMARY KEY, doc TEXT NOT NULL);
";

impl Store {
    /// Opens (creating) the database at `path` and loads every record.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        let database = |source| StoreError::Database {
            path: shown.clone(),
            source,
        };
        let connection = Connection::open(path).map_err(database)?;
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(database)?;
        // FULL: a commit that returned is on disk, so an acknowledged change survives a
        // crash of the machine too, not only of the process.
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(database)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(database)?;
        connection.execute_batch(SCHEMA).map_err(database)?;
        let functions = load::<FunctionDoc>(&connection, "functions", &shown)?;
        let layers = load::<LayerDoc>(&connection, "layers", &shown)?;
        let roles = load::<RoleDoc>(&connection, "roles", &shown)?;
        Ok(Store {
            connection: Mutex::new(connection),
            functions: RwLock::new(functions),
            layers: RwLock::new(layers),
            roles: RwLock::new(roles),
        })
    }

    /// The function named `name`.
    pub fn function(&self, name: &str) -> Option<Arc<FunctionDoc>> {
        read(&self.functions).get(name).cloned()
    }

    /// Every function, by name.
    pub fn functions(&self) -> Vec<Arc<FunctionDoc>> {
        read(&self.functions).values().cloned().collect()
    }

    /// The layer named `name`.
    pub fn layer(&self, name: &str) -> Option<Arc<LayerDoc>> {
        read(&self.layers).get(name).cloned()
    }

    /// Every layer, by name.
    pub fn layers(&self) -> Vec<Arc<LayerDoc>> {
        read(&self.layers).values().cloned().collect()
    }

    /// The role stored under `key` (its lowercased name).
    pub fn role(&self, key: &str) -> Option<Arc<RoleDoc>> {
        read(&self.roles).get(key).cloned()
    }

    /// Every role, by lowercased name.
    pub fn roles(&self) -> Vec<Arc<RoleDoc>> {
        read(&self.roles).values().cloned().collect()
    }

    /// Changes one function atomically: `change` sees the current document and decides;
    /// no other change runs in between; the result is committed before the in-memory copy
    /// changes.
    pub fn change_function<T>(
        &self,
        name: &str,
        change: impl FnOnce(Option<&FunctionDoc>) -> Result<(Write<FunctionDoc>, T), ApiError>,
    ) -> Result<T, ApiError> {
        self.change(&self.functions, "functions", name, change)
    }

    /// Changes one layer atomically, as [`Store::change_function`].
    pub fn change_layer<T>(
        &self,
        name: &str,
        change: impl FnOnce(Option<&LayerDoc>) -> Result<(Write<LayerDoc>, T), ApiError>,
    ) -> Result<T, ApiError> {
        self.change(&self.layers, "layers", name, change)
    }

    /// Changes one role atomically, as [`Store::change_function`]; `key` is the lowercased
    /// role name. The error type is the caller's: IAM answers in its own error shape.
    pub fn change_role<T, E: From<ApiError>>(
        &self,
        key: &str,
        change: impl FnOnce(Option<&RoleDoc>) -> Result<(Write<RoleDoc>, T), E>,
    ) -> Result<T, E> {
        self.change(&self.roles, "roles", key, change)
    }

    fn change<D: Serialize + Clone, T, E: From<ApiError>>(
        &self,
        mirror: &RwLock<BTreeMap<String, Arc<D>>>,
        table: &'static str,
        name: &str,
        change: impl FnOnce(Option<&D>) -> Result<(Write<D>, T), E>,
    ) -> Result<T, E> {
        // The connection's lock serialises writers: read, decide, commit, publish.
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let current = read(mirror).get(name).cloned();
        let (write, answer) = change(current.as_deref())?;
        let failed = |e: rusqlite::Error| ApiError::service(format!("state database: {e}"));
        match write {
            Write::Keep => {}
            Write::Put(doc) => {
                let text = serde_json::to_string(&doc)
                    .map_err(|e| ApiError::service(format!("cannot encode {name}: {e}")))?;
                connection
                    .execute(
                        &format!("INSERT OR REPLACE INTO {table} (name, doc) VALUES (?1, ?2)"),
                        params![name, text],
                    )
                    .map_err(failed)?;
                write_lock(mirror).insert(name.to_string(), Arc::new(doc));
            }
            Write::Delete => {
                connection
                    .execute(
                        &format!("DELETE FROM {table} WHERE name = ?1"),
                        params![name],
                    )
                    .map_err(failed)?;
                write_lock(mirror).remove(name);
            }
        }
        Ok(answer)
    }

    /// The SHA-256 of every archive a record refers to.
    pub fn referenced_blobs(&self) -> HashSet<String> {
        let mut referenced = HashSet::new();
        for doc in self.functions() {
            for version in std::iter::once(&doc.latest).chain(doc.versions.values()) {
                referenced.insert(version.code.sha256.clone());
                for layer in &version.layers {
                    referenced.insert(layer.code.sha256.clone());
                }
            }
        }
        for layer in self.layers() {
            for version in layer.versions.values() {
                referenced.insert(version.code.sha256.clone());
            }
        }
        referenced
    }
}

fn load<D: DeserializeOwned>(
    connection: &Connection,
    table: &'static str,
    path: &str,
) -> Result<BTreeMap<String, Arc<D>>, StoreError> {
    let database = |source| StoreError::Database {
        path: path.to_string(),
        source,
    };
    let mut statement = connection
        .prepare(&format!("SELECT name, doc FROM {table}"))
        .map_err(database)?;
    let rows = statement
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .map_err(database)?;
    let mut docs = BTreeMap::new();
    for row in rows {
        let (name, text) = row.map_err(database)?;
        let doc = serde_json::from_str(&text).map_err(|e| StoreError::Record {
            path: path.to_string(),
            table,
            name: name.clone(),
            message: e.to_string(),
        })?;
        docs.insert(name, Arc::new(doc));
    }
    Ok(docs)
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
