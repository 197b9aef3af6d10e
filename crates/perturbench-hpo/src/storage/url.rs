//! Storage URLs: which backend, and where.

use super::StorageError;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// A parsed storage URL.
pub(crate) enum StoreUrl {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection.
    Postgres(Box<postgres::Config>),
}

/// How long to wait for a PostgreSQL server unless the URL says otherwise.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Parses `sqlite:///abs/path.db`, `sqlite://relative/path.db`, `sqlite:relative.db`,
/// `postgresql://...` and `postgres://...`.
pub(crate) fn parse(url: &str) -> Result<StoreUrl, StorageError> {
    let invalid = |reason: &str| StorageError::InvalidUrl {
        url: redact_url(url),
        reason: reason.to_string(),
    };
    let trimmed = url.trim();
    let Some((scheme, _)) = trimmed.split_once(':') else {
        return Err(invalid("no scheme"));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "sqlite" => {
            let rest = &trimmed[scheme.len() + 1..];
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                Err(invalid("the SQLite database path is empty"))
            } else {
                Ok(StoreUrl::Sqlite(PathBuf::from(path)))
            }
        }
        "postgresql" | "postgres" => {
            let mut config = postgres::Config::from_str(trimmed)
                .map_err(|e| invalid(&format!("not a PostgreSQL URL ({e})")))?;
            if config.get_hosts().is_empty() {
                return Err(invalid("no host"));
            }
            if config.get_connect_timeout().is_none() {
                config.connect_timeout(CONNECT_TIMEOUT);
            }
            if config.get_application_name().is_none() {
                config.application_name("perturbench");
            }
            Ok(StoreUrl::Postgres(Box::new(config)))
        }
        _ => Err(invalid(&format!("unsupported scheme '{scheme}'"))),
    }
}

/// `url` with the password of its user-info part (`user:password@`) replaced by `***`, for
/// messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    let authority = &url[start..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let userinfo = &authority[..at];
    match userinfo.find(':') {
        Some(colon) => format!(
            "{}{}:***{}",
            &url[..start],
            &userinfo[..colon],
            &url[start + at..]
        ),
        None => url.to_string(),
    }
}

/// `host:port` of a PostgreSQL configuration (several joined by commas).
pub(crate) fn pg_address(config: &postgres::Config) -> String {
    let ports = config.get_ports();
    config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports
                .get(i)
                .or_else(|| ports.first())
                .copied()
                .unwrap_or(5432);
            match host {
                postgres::config::Host::Tcp(name) if name.contains(':') => {
                    format!("[{name}]:{port}")
                }
                postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                postgres::config::Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The database a PostgreSQL configuration connects to (the user name when unset).
pub(crate) fn pg_database(config: &postgres::Config) -> String {
    config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("(default)")
        .to_string()
}

/// `postgresql://user@address/database`, without password.
pub(crate) fn pg_describe(config: &postgres::Config) -> String {
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    format!(
        "postgresql://{user}{}/{}",
        pg_address(config),
        pg_database(config)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_forms() {
        for (url, path) in [
            ("sqlite:///abs/path.db", "/abs/path.db"),
            ("sqlite://relative/path.db", "relative/path.db"),
            ("sqlite:relative.db", "relative.db"),
        ] {
            match parse(url) {
                Ok(StoreUrl::Sqlite(p)) => assert_eq!(p, PathBuf::from(path)),
                _ => panic!("{url} should parse as SQLite"),
            }
        }
        for bad in ["sqlite://", "sqlite:", "mysql://x", "nothing"] {
            let err = parse(bad).err().expect("must fail").to_string();
            assert!(err.contains(&format!("'{bad}'")), "{err}");
        }
    }

    #[test]
    fn postgres_forms() {
        let Ok(StoreUrl::Postgres(config)) = parse("postgresql://u:secret@db.example:5433/hpo")
        else {
            panic!("must parse");
        };
        assert_eq!(pg_address(&config), "db.example:5433");
        assert_eq!(pg_database(&config), "hpo");
        assert_eq!(pg_describe(&config), "postgresql://u@db.example:5433/hpo");
        assert_eq!(config.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        assert!(matches!(
            parse("postgres://u@h/db"),
            Ok(StoreUrl::Postgres(_))
        ));
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact_url("postgresql://u:secret@h:1/db"),
            "postgresql://u:***@h:1/db"
        );
        assert_eq!(redact_url("postgresql://u@h/db"), "postgresql://u@h/db");
        assert_eq!(redact_url("sqlite:///a/b@c.db"), "sqlite:///a/b@c.db");
    }
}
