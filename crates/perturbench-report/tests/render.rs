//! `render`: escaping, best-value marking, box-plot numbers, omitted sections, offline page.

mod common;

use std::collections::BTreeMap;

use perturbench_report::leaderboard::groups;
use perturbench_report::stats::quantile;
use perturbench_report::{
    load, render, BoxStats, LeaderRow, PerPertRow, ReportInput, StudyHistory, Trial, TrialState,
};

fn row(model: &str, seed: u64, metrics: &[(&str, f64)]) -> LeaderRow {
    LeaderRow {
        model: model.into(),
        dataset: "d".into(),
        task: "t".into(),
        seed: Some(seed),
        metrics: metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    }
}

/// The `<td>` of `column` in the table row of `model`.
fn cell<'a>(html: &'a str, model: &str, column: &str) -> &'a str {
    let start = html
        .find(&format!("</span>{model}</td>"))
        .unwrap_or_else(|| panic!("row of {model} missing"));
    let row = &html[start..];
    let row = &row[..row.find("</tr>").unwrap()];
    let at = row
        .find(&format!(r#"data-column="{column}""#))
        .unwrap_or_else(|| panic!("column {column} missing"));
    let td_start = row[..at].rfind("<td").unwrap();
    let td = &row[td_start..];
    &td[..td.find("</td>").unwrap()]
}

#[test]
fn best_value_marked_in_the_right_direction() {
    let input = ReportInput {
        title: "t".into(),
        leaderboard: vec![
            row(
                "a",
                0,
                &[
                    ("rmse_average", 0.5),
                    ("cosine_logfc", 0.9),
                    ("cosine_rank_logfc", 0.2),
                ],
            ),
            row(
                "b",
                0,
                &[
                    ("rmse_average", 0.3),
                    ("cosine_logfc", 0.7),
                    ("cosine_rank_logfc", 0.1),
                ],
            ),
            row(
                "c",
                0,
                &[
                    ("rmse_average", 0.4),
                    ("cosine_logfc", 0.8),
                    ("cosine_rank_logfc", 0.3),
                ],
            ),
        ],
        ..Default::default()
    };
    let html = render(&input);
    // Lower rmse is better: b. Higher cosine is better: a. Lower rank is better: b.
    assert!(cell(&html, "b", "rmse_average").contains(r#"class="num best""#));
    assert!(!cell(&html, "a", "rmse_average").contains("best"));
    assert!(!cell(&html, "c", "rmse_average").contains("best"));
    assert!(cell(&html, "a", "cosine_logfc").contains("best"));
    assert!(!cell(&html, "b", "cosine_logfc").contains("best"));
    assert!(cell(&html, "b", "cosine_rank_logfc").contains("best"));
    assert!(cell(&html, "b", "rmse_average").contains("<strong>0.3000</strong>"));
}

#[test]
fn seeds_are_averaged_with_sd() {
    let rows = vec![
        row("a", 0, &[("rmse_average", 1.0)]),
        row("a", 1, &[("rmse_average", 3.0)]),
        row("b", 0, &[("rmse_average", 1.5)]),
    ];
    let g = &groups(&rows)[0];
    assert_eq!(g.runs, vec![2, 1]);
    let a = g.cells[0][0].as_ref().unwrap();
    assert_eq!(a.mean, 2.0);
    assert!((a.sd.unwrap() - 2f64.sqrt()).abs() < 1e-12); // sample sd of {1, 3}
    assert_eq!(g.cells[1][0].as_ref().unwrap().sd, None);
    assert_eq!(g.best, vec![vec![false], vec![true]]); // 1.5 < mean 2.0
    let html = render(&ReportInput {
        leaderboard: rows,
        ..Default::default()
    });
    assert!(cell(&html, "a", "rmse_average").contains("± 1.414"));
    assert!(!cell(&html, "b", "rmse_average").contains("±"));
}

#[test]
fn quartiles_follow_numpy_linear_interpolation() {
    // numpy.percentile([1, 2, 3, 4, 10, 20], [25, 50, 75]) with the default method="linear":
    // h = (n - 1) p = 5 p;  p = .25: h = 1.25 -> 2 + .25 (3 - 2) = 2.25
    //                       p = .50: h = 2.5  -> 3 + .5 (4 - 3)  = 3.5
    //                       p = .75: h = 3.75 -> 4 + .75 (10 - 4) = 8.5
    // IQR = 6.25, fences 2.25 - 9.375 = -7.125 and 8.5 + 9.375 = 17.875:
    // whiskers 1 and 10, outlier 20.
    let s = BoxStats::new(&[20.0, 3.0, 1.0, 10.0, 4.0, 2.0, f64::NAN]).unwrap();
    assert_eq!(s.n, 6);
    assert!((s.q1 - 2.25).abs() < 1e-12);
    assert!((s.median - 3.5).abs() < 1e-12);
    assert!((s.q3 - 8.5).abs() < 1e-12);
    assert_eq!((s.whisker_lo, s.whisker_hi), (1.0, 10.0));
    assert_eq!(s.outliers, vec![20.0]);
    // numpy.percentile([7], 30) = 7; odd n: median is the middle value.
    assert_eq!(quantile(&[7.0], 0.3), Some(7.0));
    assert_eq!(quantile(&[1.0, 2.0, 4.0], 0.5), Some(2.0));
    assert_eq!(quantile(&[], 0.5), None);
    assert!(BoxStats::new(&[f64::NAN]).is_none());

    // The rendered box plot shows the same numbers.
    let per: Vec<PerPertRow> = [1.0, 2.0, 3.0, 4.0, 10.0, 20.0]
        .iter()
        .enumerate()
        .map(|(i, v)| PerPertRow {
            dataset: "d".into(),
            task: "t".into(),
            model: "m".into(),
            aggregation: "average".into(),
            metric: "rmse".into(),
            covariates: "c".into(),
            perturbation: format!("p{i}"),
            value: *v,
        })
        .collect();
    let html = render(&ReportInput {
        per_perturbation: per,
        ..Default::default()
    });
    assert!(html.contains("median = 3.500"), "median tooltip");
    assert!(html.contains("Q1 = 2.250, Q3 = 8.500"));
    assert!(html.contains("whiskers = 1.000 … 10.00"));
    assert!(html.contains(r#"id="per-perturbation""#));
    assert!(!html.contains(r#"id="rank""#));
}

#[test]
fn names_are_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = common::write_all(tmp.path());
    let mut input = load(&dirs).unwrap();
    input.title = "Report <b>&</b>".into();
    input.studies[0].name = "<img src=x onerror=alert(1)>".into();
    let html = render(&input);
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<img"));
    assert!(html.contains("Report &lt;b&gt;&amp;&lt;/b&gt;"));
    assert!(!html.contains("<script"), "no scripts at all");
    // Self-contained: nothing fetched from anywhere.
    for bad in ["http://", "https://", "src=\"", "<link", "@import", "url("] {
        assert!(!html.contains(bad), "{bad}");
    }
}

#[test]
fn sections_without_data_are_omitted() {
    let only_lb = ReportInput {
        title: "x".into(),
        leaderboard: vec![row("a", 0, &[("rmse_average", 1.0)])],
        ..Default::default()
    };
    let html = render(&only_lb);
    assert!(html.contains(r#"id="leaderboard""#));
    for id in ["per-perturbation", "rank", "logfc", "hpo", "provenance"] {
        assert!(!html.contains(&format!(r#"id="{id}""#)), "{id}");
    }
    assert!(!html.contains("<svg"));

    let only_hpo = ReportInput {
        studies: vec![StudyHistory {
            name: "s".into(),
            trials: vec![Trial {
                number: 0,
                state: TrialState::Fail,
                value: None,
                params: BTreeMap::new(),
            }],
            ..Default::default()
        }],
        ..Default::default()
    };
    let html = render(&only_hpo);
    assert!(html.contains(r#"id="hpo""#));
    assert!(!html.contains(r#"id="leaderboard""#));
    assert!(html.contains("1 trials: 0 complete, 0 pruned, 1 failed"));
    // A study without trials is omitted with its section.
    let empty = ReportInput {
        studies: vec![StudyHistory::default()],
        ..Default::default()
    };
    assert!(!render(&empty).contains(r#"id="hpo""#));
}

#[test]
fn full_report_has_every_section() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = common::write_all(tmp.path());
    let html = render(&load(&dirs).unwrap());
    for id in [
        "leaderboard",
        "per-perturbation",
        "rank",
        "logfc",
        "hpo",
        "provenance",
    ] {
        assert!(html.contains(&format!(r#"id="{id}""#)), "{id}");
    }
    assert!(html.contains(">random</text>"));
    assert!(html.contains("observed logFC") && html.contains("predicted logFC"));
    assert!(html.contains("best so far"));
    assert!(
        html.contains("3f2a9c1b7d4e<"),
        "sha256 shortened to 12 digits"
    );
}
