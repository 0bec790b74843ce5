//! The device registry: one SQLite file (path from the controller config)
//! holding sites, tenants, devices, enrollment records, seen enrollment
//! nonces and API token hashes. Every write is one transaction; the file
//! survives restarts. The schema carries a version in `meta`; opening a
//! file written by a newer schema is refused.

pub mod model;

use model::{Device, DeviceState, Scope, Site, Tenant};
use rusqlite::{params, Connection, OptionalExtension};
use std::fmt;
use std::path::Path;
use std::sync::Mutex;

/// Version of the schema below; bump with a migration step in [`migrate`].
pub const SCHEMA_VERSION: i64 = 2;

const SCHEMA_V1: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sites (name TEXT PRIMARY KEY, description TEXT NOT NULL);
CREATE TABLE tenants (name TEXT PRIMARY KEY, route_targets TEXT NOT NULL);
CREATE TABLE devices (
    serial TEXT PRIMARY KEY,
    site TEXT NOT NULL REFERENCES sites(name),
    state TEXT NOT NULL,
    node_id TEXT NOT NULL UNIQUE,
    asn INTEGER NOT NULL,
    bgp_source TEXT,
    vrfs TEXT NOT NULL,
    wans TEXT NOT NULL,
    config_version INTEGER NOT NULL,
    md5_key TEXT NOT NULL,
    cert_fingerprint TEXT UNIQUE
);
CREATE TABLE enrollments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    serial TEXT NOT NULL REFERENCES devices(serial),
    at_unix INTEGER NOT NULL,
    cert_fingerprint TEXT NOT NULL,
    bgp_source TEXT
);
CREATE TABLE nonces (nonce TEXT PRIMARY KEY, at_unix INTEGER NOT NULL);
CREATE TABLE tokens (
    sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_unix INTEGER NOT NULL
);
";

/// Version 2: tenants carry their flow policies and topology.
const MIGRATE_V2: &str = "
ALTER TABLE tenants ADD COLUMN policies TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tenants ADD COLUMN topology TEXT NOT NULL DEFAULT 'null';
";

#[derive(Debug)]
pub enum Error {
    NotFound(String),
    Conflict(String),
    Invalid(String),
    Db(rusqlite::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound(m) | Error::Conflict(m) | Error::Invalid(m) => f.write_str(m),
            Error::Db(e) => write!(f, "registry database: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Db(e)
    }
}

impl Error {
    /// The HTTP status this error maps to.
    pub fn status(&self) -> u16 {
        match self {
            Error::NotFound(_) => 404,
            Error::Conflict(_) => 409,
            Error::Invalid(_) => 400,
            Error::Db(_) => 500,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

pub struct Registry {
    db: Mutex<Connection>,
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("registry values serialize")
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> rusqlite::Result<T> {
    serde_json::from_str(s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("{what}: {e}").into(),
        )
    })
}

fn bad_column(what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("bad {what} {value:?} in registry").into(),
    )
}

fn migrate(db: &mut Connection) -> Result<()> {
    let has_meta: bool = db
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)?;
    if !has_meta {
        let tx = db.transaction()?;
        tx.execute_batch(SCHEMA_V1)?;
        tx.execute(
            "INSERT INTO meta(key, value) VALUES('schema_version', '1')",
            [],
        )?;
        tx.commit()?;
    }
    loop {
        let v: String = db.query_row(
            "SELECT value FROM meta WHERE key='schema_version'",
            [],
            |r| r.get(0),
        )?;
        match v.parse::<i64>() {
            Ok(SCHEMA_VERSION) => return Ok(()),
            Ok(1) => {
                let tx = db.transaction()?;
                tx.execute_batch(MIGRATE_V2)?;
                tx.execute(
                    "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
                    [],
                )?;
                tx.commit()?;
            }
            Ok(n) => {
                return Err(Error::Invalid(format!(
                    "registry schema version {n}, this controller knows version {SCHEMA_VERSION}"
                )))
            }
            Err(_) => return Err(Error::Invalid(format!("registry schema version {v:?}"))),
        }
    }
}

fn row_tenant(r: &rusqlite::Row<'_>) -> rusqlite::Result<Tenant> {
    Ok(Tenant {
        name: r.get(0)?,
        route_targets: from_json(&r.get::<_, String>(1)?, "route_targets")?,
        policies: from_json(&r.get::<_, String>(2)?, "policies")?,
        hub_and_spoke: from_json(&r.get::<_, String>(3)?, "topology")?,
    })
}

fn row_device(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    let state: String = r.get("state")?;
    let node: String = r.get("node_id")?;
    let source: Option<String> = r.get("bgp_source")?;
    Ok(Device {
        serial: r.get("serial")?,
        site: r.get("site")?,
        state: DeviceState::parse(&state).ok_or_else(|| bad_column("state", &state))?,
        node_id: node.parse().map_err(|_| bad_column("node_id", &node))?,
        asn: r.get("asn")?,
        bgp_source: match source {
            Some(s) => Some(s.parse().map_err(|_| bad_column("bgp_source", &s))?),
            None => None,
        },
        vrfs: from_json(&r.get::<_, String>("vrfs")?, "vrfs")?,
        wans: from_json(&r.get::<_, String>("wans")?, "wans")?,
        config_version: r.get::<_, i64>("config_version")? as u64,
        md5_key: r.get("md5_key")?,
        cert_fingerprint: r.get("cert_fingerprint")?,
    })
}

impl Registry {
    /// Opens (creating when absent) the registry at `path`.
    pub fn open(path: &Path) -> Result<Registry> {
        let mut db = Connection::open(path)?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        migrate(&mut db)?;
        Ok(Registry { db: Mutex::new(db) })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn schema_version(&self) -> Result<i64> {
        let v: String = self.db().query_row(
            "SELECT value FROM meta WHERE key='schema_version'",
            [],
            |r| r.get(0),
        )?;
        v.parse()
            .map_err(|_| Error::Invalid(format!("schema version {v:?}")))
    }

    // ---- tenants ----

    /// Creates or replaces a tenant and, when it changed, bumps the config
    /// version of every non-revoked device with a VRF of it, in one
    /// transaction. Returns the serials whose config changed, or `None`
    /// when `t` is what was stored already.
    pub fn store_tenant(&self, t: &Tenant) -> Result<Option<Vec<String>>> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let before = tx
            .query_row(
                "SELECT name, route_targets, policies, topology FROM tenants WHERE name = ?1",
                params![t.name],
                row_tenant,
            )
            .optional()?;
        if before.as_ref() == Some(t) {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO tenants(name, route_targets, policies, topology) VALUES(?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO UPDATE SET route_targets = excluded.route_targets,
                                             policies = excluded.policies,
                                             topology = excluded.topology",
            params![
                t.name,
                json(&t.route_targets),
                json(&t.policies),
                json(&t.hub_and_spoke)
            ],
        )?;
        let devices: Vec<Device> = {
            let mut st = tx.prepare("SELECT * FROM devices WHERE state != 'revoked'")?;
            let rows = st.query_map([], row_device)?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut bumped = Vec::new();
        for d in devices {
            if d.vrfs.iter().any(|v| v.tenant == t.name) {
                tx.execute(
                    "UPDATE devices SET config_version = config_version + 1 WHERE serial = ?1",
                    params![d.serial],
                )?;
                bumped.push(d.serial);
            }
        }
        tx.commit()?;
        Ok(Some(bumped))
    }

    pub fn tenant(&self, name: &str) -> Result<Tenant> {
        self.db()
            .query_row(
                "SELECT name, route_targets, policies, topology FROM tenants WHERE name = ?1",
                params![name],
                row_tenant,
            )
            .optional()?
            .ok_or_else(|| Error::NotFound(format!("no tenant {name:?}")))
    }

    pub fn tenants(&self) -> Result<Vec<Tenant>> {
        let db = self.db();
        let mut st = db
            .prepare("SELECT name, route_targets, policies, topology FROM tenants ORDER BY name")?;
        let rows = st.query_map([], row_tenant)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // ---- sites ----

    pub fn put_site(&self, s: &Site) -> Result<()> {
        self.db().execute(
            "INSERT INTO sites(name, description) VALUES(?1, ?2)
             ON CONFLICT(name) DO UPDATE SET description = excluded.description",
            params![s.name, s.description],
        )?;
        Ok(())
    }

    pub fn sites(&self) -> Result<Vec<Site>> {
        let db = self.db();
        let mut st = db.prepare("SELECT name, description FROM sites ORDER BY name")?;
        let rows = st.query_map([], |r| {
            Ok(Site {
                name: r.get(0)?,
                description: r.get(1)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    // ---- devices ----

    /// Inserts a new device (its site is created when absent).
    pub fn add_device(&self, d: &Device) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        let exists: bool = tx
            .query_row(
                "SELECT 1 FROM devices WHERE serial = ?1",
                params![d.serial],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if exists {
            return Err(Error::Conflict(format!(
                "device {:?} is already registered",
                d.serial
            )));
        }
        let node_taken: bool = tx
            .query_row(
                "SELECT 1 FROM devices WHERE node_id = ?1",
                params![d.node_id.to_string()],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if node_taken {
            return Err(Error::Conflict(format!(
                "node id {} is already used by another device",
                d.node_id
            )));
        }
        tx.execute(
            "INSERT OR IGNORE INTO sites(name, description) VALUES(?1, '')",
            params![d.site],
        )?;
        write_device(
            &tx,
            "INSERT INTO devices(serial, site, state, node_id, asn, bgp_source, vrfs, wans,
                                 config_version, md5_key, cert_fingerprint)
             VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            d,
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Replaces a device's row (same serial).
    pub fn save_device(&self, d: &Device) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO sites(name, description) VALUES(?1, '')",
            params![d.site],
        )?;
        let n = write_device(
            &tx,
            "UPDATE devices SET site = ?2, state = ?3, node_id = ?4, asn = ?5, bgp_source = ?6,
                    vrfs = ?7, wans = ?8, config_version = ?9, md5_key = ?10,
                    cert_fingerprint = ?11
             WHERE serial = ?1",
            d,
        )?;
        if n == 0 {
            return Err(Error::NotFound(format!("no device {:?}", d.serial)));
        }
        tx.commit()?;
        Ok(())
    }

    pub fn device(&self, serial: &str) -> Result<Option<Device>> {
        Ok(self
            .db()
            .query_row(
                "SELECT * FROM devices WHERE serial = ?1",
                params![serial],
                row_device,
            )
            .optional()?)
    }

    pub fn device_by_fingerprint(&self, fp: &str) -> Result<Option<Device>> {
        Ok(self
            .db()
            .query_row(
                "SELECT * FROM devices WHERE cert_fingerprint = ?1",
                params![fp],
                row_device,
            )
            .optional()?)
    }

    pub fn devices(&self) -> Result<Vec<Device>> {
        let db = self.db();
        let mut st = db.prepare("SELECT * FROM devices ORDER BY serial")?;
        let rows = st.query_map([], row_device)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Marks `serial` enrolled with a new certificate and records the
    /// enrollment.
    pub fn record_enrollment(
        &self,
        serial: &str,
        fingerprint: &str,
        bgp_source: Option<std::net::IpAddr>,
        now_unix: u64,
    ) -> Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "UPDATE devices SET state = 'enrolled', cert_fingerprint = ?2,
                    bgp_source = COALESCE(?3, bgp_source)
             WHERE serial = ?1 AND state != 'revoked'",
            params![serial, fingerprint, bgp_source.map(|a| a.to_string())],
        )?;
        tx.execute(
            "INSERT INTO enrollments(serial, at_unix, cert_fingerprint, bgp_source)
             VALUES(?1, ?2, ?3, ?4)",
            params![
                serial,
                now_unix as i64,
                fingerprint,
                bgp_source.map(|a| a.to_string())
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Number of enrollments recorded for `serial`.
    pub fn enrollment_count(&self, serial: &str) -> Result<u64> {
        Ok(self.db().query_row(
            "SELECT count(*) FROM enrollments WHERE serial = ?1",
            params![serial],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Records `nonce`; false when it was seen before (a replay). Nonces
    /// older than `forget_before_unix` are dropped first (their requests
    /// are refused as stale anyway).
    pub fn remember_nonce(
        &self,
        nonce: &str,
        now_unix: u64,
        forget_before_unix: u64,
    ) -> Result<bool> {
        let mut db = self.db();
        let tx = db.transaction()?;
        tx.execute(
            "DELETE FROM nonces WHERE at_unix < ?1",
            params![forget_before_unix as i64],
        )?;
        let n = tx.execute(
            "INSERT OR IGNORE INTO nonces(nonce, at_unix) VALUES(?1, ?2)",
            params![nonce, now_unix as i64],
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    // ---- tokens ----

    pub fn add_token(
        &self,
        sha256_hex: &str,
        name: &str,
        scope: Scope,
        now_unix: u64,
    ) -> Result<()> {
        self.db().execute(
            "INSERT OR REPLACE INTO tokens(sha256, name, scope, created_unix) VALUES(?1, ?2, ?3, ?4)",
            params![sha256_hex, name, scope.as_str(), now_unix as i64],
        )?;
        Ok(())
    }

    /// Scope of the token whose SHA-256 is `sha256_hex`.
    pub fn token_scope(&self, sha256_hex: &str) -> Result<Option<(String, Scope)>> {
        let row: Option<(String, String)> = self
            .db()
            .query_row(
                "SELECT name, scope FROM tokens WHERE sha256 = ?1",
                params![sha256_hex],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            None => Ok(None),
            Some((name, s)) => Scope::parse(&s)
                .map(|scope| Some((name, scope)))
                .ok_or_else(|| Error::Invalid(format!("bad token scope {s:?} in registry"))),
        }
    }

    pub fn token_count(&self) -> Result<u64> {
        Ok(self
            .db()
            .query_row("SELECT count(*) FROM tokens", [], |r| r.get::<_, i64>(0))?
            as u64)
    }
}

#[cfg(test)]
mod tests;

/// Runs `sql` with a device's columns as ?1..?11 (serial, site, state,
/// node id, AS, BGP source, VRFs, WANs, config version, MD5 key,
/// certificate fingerprint): the one place that maps a `Device` to a row.
fn write_device(tx: &rusqlite::Transaction<'_>, sql: &str, d: &Device) -> rusqlite::Result<usize> {
    tx.execute(
        sql,
        params![
            d.serial,
            d.site,
            d.state.as_str(),
            d.node_id.to_string(),
            d.asn,
            d.bgp_source.map(|a| a.to_string()),
            json(&d.vrfs),
            json(&d.wans),
            d.config_version as i64,
            d.md5_key,
            d.cert_fingerprint,
        ],
    )
}
