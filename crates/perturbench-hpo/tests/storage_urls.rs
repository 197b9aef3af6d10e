//! Storage URLs: bad ones name themselves and the expected forms; an unreachable PostgreSQL
//! server names its address; SQLite URL forms open files.

use perturbench_hpo::storage::{open, redact_url, StorageError};

fn open_err(url: &str) -> StorageError {
    match open(url) {
        Ok(store) => panic!("{url} opened as {}", store.describe()),
        Err(e) => e,
    }
}

#[test]
fn bad_urls_name_the_url_and_the_expected_forms() {
    for url in ["mysql://x", "sqlite://", "sqlite:", "just-a-path.db"] {
        let err = open_err(url);
        assert!(
            matches!(err, StorageError::InvalidUrl { .. }),
            "{url}: {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(&format!("'{url}'")), "{message}");
        assert!(
            message.contains("postgresql://user:pass@host:port/db"),
            "{message}"
        );
        assert!(message.contains("sqlite:///abs/path.db"), "{message}");
    }
    assert!(open_err("mysql://x")
        .to_string()
        .contains("unsupported scheme 'mysql'"));
}

#[test]
fn unreachable_postgres_names_its_address() {
    let message = open_err("postgresql://u@127.0.0.1:1/db").to_string();
    assert!(message.contains("127.0.0.1:1"), "{message}");
    assert!(
        message.starts_with("cannot connect to PostgreSQL at 127.0.0.1:1 (database db): "),
        "{message}"
    );
    let message = open_err("postgres://u:secret@127.0.0.1:1/db").to_string();
    assert!(!message.contains("secret"), "{message}");
}

#[test]
fn passwords_are_redacted() {
    assert_eq!(
        redact_url("postgresql://me:hunter2@db:5432/hpo"),
        "postgresql://me:***@db:5432/hpo"
    );
}

#[test]
fn sqlite_url_forms_open_files() {
    let dir = tempfile::tempdir().unwrap();
    let abs = dir.path().join("nested/folder/a.db");
    let store = open(&format!("sqlite://{}", abs.display())).unwrap();
    assert!(abs.exists());
    assert_eq!(store.describe(), format!("sqlite://{}", abs.display()));
    drop(store);

    let other = dir.path().join("b.db");
    open(&format!("sqlite:{}", other.display())).unwrap();
    assert!(other.exists());
}
