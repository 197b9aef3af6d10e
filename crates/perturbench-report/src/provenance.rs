//! The provenance table: how each run was produced.

use std::fmt::Write as _;

use crate::escape::escape;
use crate::input::Provenance;

/// `s` shortened to its last `n` path components, prefixed with `…/` when cut.
fn short_path(s: &str, n: usize) -> String {
    let parts: Vec<&str> = s.split('/').filter(|p| !p.is_empty()).collect();
    if parts.len() <= n {
        s.to_string()
    } else {
        format!("…/{}", parts[parts.len() - n..].join("/"))
    }
}

/// Wall time as `12.3 s`, `4 min 05 s` or `1 h 02 min`.
pub fn wall_time(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "–".into();
    }
    if secs < 60.0 {
        format!("{secs:.1} s")
    } else if secs < 3600.0 {
        let s = secs.round() as u64;
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        let m = (secs / 60.0).round() as u64;
        format!("{} h {:02} min", m / 60, m % 60)
    }
}

/// HTML table of the runs' provenance; empty string if there is none.
pub fn render(rows: &[Provenance]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        r#"<div class="table-wrap"><table class="provenance"><thead><tr><th>run</th><th>models</th><th>dataset · task</th><th class="num">seed</th><th>version</th><th>config digest</th><th>inputs (sha256)</th><th class="num">wall time</th></tr></thead><tbody>"#,
    );
    for p in rows {
        let inputs: Vec<String> = p
            .inputs
            .iter()
            .map(|i| {
                let role = i
                    .role
                    .as_deref()
                    .map(|r| format!(r#"<span class="role">{}</span> "#, escape(r)))
                    .unwrap_or_default();
                let sha = match &i.sha256 {
                    Some(s) => format!(
                        r#" <code class="sha" title="{}">{}</code>"#,
                        escape(s),
                        escape(&s.chars().take(12).collect::<String>())
                    ),
                    None => r#" <span class="missing">no checksum</span>"#.into(),
                };
                format!(
                    r#"<li>{role}<span class="path" title="{}">{}</span>{sha}</li>"#,
                    escape(&i.path),
                    escape(&short_path(&i.path, 2))
                )
            })
            .collect();
        let _ = write!(
            out,
            r#"<tr><td title="{}">{}</td><td>{}</td><td>{} · {}</td><td class="num">{}</td><td>{}</td><td><code>{}</code></td><td><ul class="inputs">{}</ul></td><td class="num">{}</td></tr>"#,
            escape(&p.source),
            escape(&short_path(&p.source, 2)),
            escape(&p.models.join(", ")),
            escape(&p.dataset),
            escape(&p.task),
            p.seed.map(|s| s.to_string()).unwrap_or_else(|| "–".into()),
            escape(p.version.as_deref().unwrap_or("–")),
            escape(p.config_digest.as_deref().unwrap_or("–")),
            inputs.join(""),
            p.wall_seconds.map(wall_time).unwrap_or_else(|| "–".into()),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}
