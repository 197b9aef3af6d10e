//! Lenient deserialisation of settings typed on a command line: a label such as `0` or `true`
//! read as a number or boolean is still a valid string setting, and a comma-separated string
//! is a valid list.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn list(v: Value) -> Result<Vec<String>, String> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|x| {
                scalar_text(x).ok_or_else(|| format!("expected a list of strings, got {v}", v = x))
            })
            .collect(),
        Value::String(s) if s.is_empty() => Ok(Vec::new()),
        other => match scalar_text(&other) {
            Some(s) => Ok(s.split(',').map(str::to_string).collect()),
            None => Err(format!(
                "expected a list or a comma-separated string, got {other}"
            )),
        },
    }
}

/// A string from any scalar.
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    scalar_text(&v).ok_or_else(|| serde::de::Error::custom(format!("expected a string, got {v}")))
}

/// A list of strings from a list or a comma-separated string.
pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(Vec::new()),
        v => list(v).map_err(serde::de::Error::custom),
    }
}

/// An optional list of strings (null: none given).
pub fn opt_string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => list(v).map(Some).map_err(serde::de::Error::custom),
    }
}
