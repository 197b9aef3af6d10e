//! A store for one test of perturbench-hpo: a SQLite file in a temporary folder, or a fresh
//! PostgreSQL database on the server of `PERTURBENCH_TEST_POSTGRES` (dropped afterwards;
//! skipped with a printed reason without that variable, unless `PERTURBENCH_REQUIRE_POSTGRES=1`,
//! which fails). [`on_both_backends!`] runs a test on each.
#![allow(dead_code)]

use perturbench_hpo::storage::{open, Storage};

/// A store for one test; dropping it deletes it.
pub struct Fixture {
    /// The store's URL.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// Admin URL and name of the PostgreSQL database to drop afterwards.
    pub pg_drop: Option<(String, String)>,
}

impl Fixture {
    /// A SQLite file `study.db` in a new temporary folder; the URL has four slashes (an
    /// absolute path for SQLAlchemy, and for us).
    pub fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().expect("temporary folder");
        let url = format!("sqlite:///{}", dir.path().join("study.db").display());
        Fixture {
            url,
            _dir: Some(dir),
            pg_drop: None,
        }
    }

    /// A fresh database `<prefix>_<test>_<pid>`, or `None` (skipped).
    pub fn postgres(prefix: &str, test: &str) -> Option<Fixture> {
        let Ok(admin) = std::env::var("PERTURBENCH_TEST_POSTGRES") else {
            assert!(
                std::env::var("PERTURBENCH_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "PERTURBENCH_REQUIRE_POSTGRES=1 but PERTURBENCH_TEST_POSTGRES is not set"
            );
            println!("skipped: set PERTURBENCH_TEST_POSTGRES=postgresql://... to test PostgreSQL");
            return None;
        };
        let db = format!("{prefix}_{test}_{}", std::process::id()).to_lowercase();
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to {admin}: {e}"));
        for statement in [
            format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
            format!("CREATE DATABASE {db}"),
        ] {
            client
                .batch_execute(&statement)
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        Some(Fixture {
            url: with_database(&admin, &db),
            _dir: None,
            pg_drop: Some((admin, db)),
        })
    }

    /// Opens the store.
    pub fn open(&self) -> Box<dyn Storage> {
        open(&self.url).unwrap_or_else(|e| panic!("open {}: {e}", self.url))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some((admin, db)) = &self.pg_drop {
            if let Ok(mut client) = postgres::Client::connect(admin, postgres::NoTls) {
                let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
            }
        }
    }
}

/// `url` with its database replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[start..].find('/').map_or(base.len(), |i| start + i);
    format!("{}/{db}{query}", &base[..host_end])
}

/// Runs each test `fn name(fx: &Fixture)` on SQLite and on PostgreSQL (databases named
/// `<prefix>_<name>_<pid>`), as `name::sqlite` and `name::postgres`.
macro_rules! on_both_backends {
    ($prefix:literal; $($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(&super::Fixture::sqlite());
            }

            #[test]
            fn postgres() {
                if let Some(fixture) = super::Fixture::postgres($prefix, stringify!($name)) {
                    super::$name(&fixture);
                }
            }
        }
    )*};
}
pub(crate) use on_both_backends;
