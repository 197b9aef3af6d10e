//! Page assembly: the stylesheet and the order of the sections.

use std::collections::BTreeSet;
use std::fmt::Write as _;

pub use crate::escape::escape;
use crate::input::ReportInput;
use crate::svg::PALETTE;

const STYLE: &str = r#"
:root{--fg:#1d2330;--muted:#5b6475;--line:#e3e6ec;--bg:#f5f6f8;--card:#fff;--accent:#0072B2}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 system-ui,-apple-system,"Segoe UI","DejaVu Sans",Roboto,sans-serif}
header.top{background:#1d2330;color:#fff;padding:22px 32px 16px}
header.top h1{margin:0 0 4px;font-size:24px;font-weight:650;letter-spacing:.2px}
header.top .meta{color:#c4cad6;font-size:13px}
nav{display:flex;flex-wrap:wrap;gap:6px;margin-top:12px}
nav a{color:#fff;text-decoration:none;font-size:13px;padding:3px 10px;border:1px solid #4a5366;border-radius:12px}
nav a:hover{background:#2f3747}
main{max-width:1320px;margin:0 auto;padding:20px 24px 40px}
section.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 22px 20px;margin:0 0 20px;box-shadow:0 1px 2px rgba(20,30,50,.04)}
section.card>h2{margin:0 0 4px;font-size:19px}
section.card>p.lead{margin:0 0 10px;color:var(--muted);font-size:13px}
h3{font-size:15px;margin:16px 0 8px;color:#2b3240}
h3 .sep{color:#9aa3b2}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:13px}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:#f0f2f5;font-weight:600;border-bottom:2px solid #d5d9e0;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th .agg{font-weight:400;color:var(--muted);font-size:11.5px}
th .dir{color:var(--muted);margin-left:3px}
th.rank{background:#eef3f8}
tbody tr:hover{background:#fafbfc}
td.best{background:#e3f1fa;color:#00446b}
td.best strong{font-weight:700}
td.best::after{content:" ★";color:#0072B2;font-size:11px}
td.missing,span.missing{color:#a0a7b4}
.sd{color:var(--muted);font-size:11.5px}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:7px;vertical-align:-1px}
.charts{display:flex;flex-wrap:wrap;gap:14px}
figure.chart-box{margin:0;background:#fff;border:1px solid var(--line);border-radius:8px;padding:4px}
svg.chart{display:block;max-width:100%;height:auto}
svg.chart text{font-family:system-ui,-apple-system,"Segoe UI","DejaVu Sans",sans-serif;font-size:11px;fill:#333}
svg.chart text.title{font-size:13.5px;font-weight:650;fill:#1d2330}
svg.chart text.subtitle{font-size:11px;fill:#6b7385}
svg.chart text.axis-label{font-size:11.5px;fill:#3a4150;font-weight:600}
svg.chart text.tick{fill:#555d6b}
svg.chart text.ref-label{fill:#444;font-style:italic}
svg.chart line.grid{stroke:#eceef2;stroke-width:1}
svg.chart line.axis{stroke:#8a92a0;stroke-width:1}
.study{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start;margin-bottom:16px}
.study-info{min-width:260px;max-width:440px;font-size:13px}
.study-info p{margin:4px 0}
.study-info .counts{color:var(--muted)}
.study-info .source{color:#9aa3b2;font-size:12px;word-break:break-all}
table.params th{font-weight:500;color:var(--muted);background:none;border-bottom:1px solid var(--line)}
pre{background:#f6f7f9;border:1px solid var(--line);border-radius:6px;padding:8px;font-size:12px;overflow-x:auto}
code{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px}
code.sha{color:#6b7385}
ul.inputs{margin:0;padding:0;list-style:none}
ul.inputs .role{color:var(--muted);font-size:11.5px}
table.provenance td{font-size:12.5px}
footer{color:#8a92a0;font-size:12px;text-align:center;padding:10px}
"#;

/// Current UTC time as `YYYY-MM-DD HH:MM UTC`.
fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Colour of each model: palette entries handed out in sorted name order.
fn model_colors(input: &ReportInput) -> Vec<(String, String)> {
    let names: BTreeSet<&str> = input
        .leaderboard
        .iter()
        .map(|r| r.model.as_str())
        .chain(input.per_perturbation.iter().map(|r| r.model.as_str()))
        .chain(input.scatter.iter().map(|r| r.model.as_str()))
        .collect();
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), PALETTE[i % PALETTE.len()].to_string()))
        .collect()
}

/// One section: id, heading, lead text and body; nothing if the body is empty.
fn section(
    out: &mut String,
    nav: &mut Vec<(String, String)>,
    id: &str,
    title: &str,
    lead: &str,
    body: &str,
) {
    if body.is_empty() {
        return;
    }
    nav.push((id.to_string(), title.to_string()));
    let _ = write!(
        out,
        r#"<section class="card" id="{id}"><h2>{}</h2><p class="lead">{}</p>{body}</section>"#,
        escape(title),
        escape(lead)
    );
}

/// Renders `input` as one self-contained HTML page (inline CSS and SVG, no scripts, no external
/// URLs). Sections without data are left out.
pub fn render(input: &ReportInput) -> String {
    let colors = model_colors(input);
    let color = |m: &str| -> String {
        colors
            .iter()
            .find(|(n, _)| n == m)
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| PALETTE[0].to_string())
    };
    let mut body = String::new();
    let mut nav = Vec::new();
    section(
        &mut body,
        &mut nav,
        "leaderboard",
        "Leaderboard",
        "Summary metrics per model, mean ± sd over runs (seeds) where there are several. The best value of each column is highlighted (★); arrows give the direction in which a metric improves.",
        &crate::leaderboard::render(&input.leaderboard, &color),
    );
    section(
        &mut body,
        &mut nav,
        "per-perturbation",
        "Per-perturbation distributions",
        "Each box summarises one model's metric over perturbations: box = quartiles (linear interpolation, numpy's default), thick line = median, whiskers = most extreme values within 1.5 IQR, hollow dots = values beyond; runs (seeds) of a model are pooled. Hover for the numbers.",
        &crate::charts::per_perturbation(&input.per_perturbation, false, &color),
    );
    section(
        &mut body,
        &mut nav,
        "rank",
        "Rank metrics",
        "Rank of each perturbation's prediction among all perturbations' observed responses (0 = closest, lower is better); the dashed line at 0.5 is what a random prediction scores.",
        &crate::charts::per_perturbation(&input.per_perturbation, true, &color),
    );
    section(
        &mut body,
        &mut nav,
        "logfc",
        "Predicted vs observed logFC",
        "Per-gene log fold changes for selected perturbations; points on the dashed y = x line are predicted exactly. r is Pearson's correlation.",
        &crate::charts::logfc_scatter(&input.scatter, &color),
    );
    section(
        &mut body,
        &mut nav,
        "hpo",
        "Hyper-parameter optimisation",
        "Objective of each complete trial by trial number, with the best value so far; pruned and failed trials have no value and are marked in the strip below each plot.",
        &crate::charts::hpo(&input.studies),
    );
    section(
        &mut body,
        &mut nav,
        "provenance",
        "Provenance",
        "How each run was produced (from run.json). The config digest is the first 12 hex digits of the FNV-1a 64 hash of the config as canonical JSON: equal digests mean equal configs.",
        &crate::provenance::render(&input.provenance),
    );
    let counts = format!(
        "{} leaderboard rows · {} per-perturbation values · {} runs with provenance · {} HPO studies",
        input.leaderboard.len(),
        input.per_perturbation.len(),
        input.provenance.len(),
        input.studies.len()
    );
    let nav_html: String = nav
        .iter()
        .map(|(id, t)| format!(r##"<a href="#{id}">{}</a>"##, escape(t)))
        .collect();
    let title = if input.title.is_empty() {
        "PerturBench report"
    } else {
        &input.title
    };
    if body.is_empty() {
        body = r#"<section class="card"><p class="lead">No data.</p></section>"#.into();
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{t}</title>
<style>{STYLE}</style>
</head>
<body>
<header class="top"><h1>{t}</h1><div class="meta">Generated {now} by perturbench-report {v} · {counts}</div><nav>{nav_html}</nav></header>
<main>
{body}
</main>
<footer>perturbench-report {v} · self-contained page: inline CSS and SVG, no scripts, no network access</footer>
</body>
</html>
"#,
        t = escape(title),
        now = now_utc(),
        v = env!("CARGO_PKG_VERSION"),
    )
}
