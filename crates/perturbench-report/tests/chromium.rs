//! Renders a full synthetic report and loads it in headless Chromium: no console errors, the
//! DOM holds the leaderboard, and the screenshot is non-trivial.
//!
//! Skipped (with a message) when no Chromium is installed, unless
//! `PERTURBENCH_REQUIRE_CHROMIUM=1` is set (CI: `source .ci/chromium.sh`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn chromium(bin: &Path, profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("failed to start chromium")
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(bin) = find_chromium() else {
        if std::env::var("PERTURBENCH_REQUIRE_CHROMIUM").as_deref() == Ok("1") {
            panic!(
                "chromium not installed but PERTURBENCH_REQUIRE_CHROMIUM=1 (see .ci/chromium.sh)"
            );
        }
        println!("skipped: chromium not installed");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dirs = common::write_all(&tmp.path().join("inputs"));
    let input = perturbench_report::load(&dirs).unwrap();
    let html = perturbench_report::render(&input);
    // Kept after the test so that it can be looked at.
    let out_dir = std::env::temp_dir().join("perturbench-report-test");
    std::fs::create_dir_all(&out_dir).unwrap();
    let page = out_dir.join("report.html");
    std::fs::write(&page, &html).unwrap();
    let url = format!("file://{}", page.display());
    let profile = tmp.path().join("profile");

    // 1. DOM and console messages.
    let dom = chromium(
        &bin,
        &profile,
        &["--enable-logging=stderr", "--v=1", "--dump-dom", &url],
    );
    let stdout = String::from_utf8_lossy(&dom.stdout);
    let stderr = String::from_utf8_lossy(&dom.stderr);
    assert!(dom.status.success(), "chromium failed: {stderr}");
    assert!(
        stdout.contains(r#"<table class="leaderboard""#),
        "leaderboard missing from DOM"
    );
    assert!(stdout.contains("<svg"), "charts missing from DOM");
    assert!(stdout.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let console: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("console.error"))
        .collect();
    assert!(console.is_empty(), "console messages: {console:#?}");

    // 2. Screenshot.
    let png = out_dir.join("report.png");
    let _ = std::fs::remove_file(&png);
    let shot = chromium(
        &bin,
        &profile,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1400,3000",
            &url,
        ],
    );
    assert!(
        shot.status.success(),
        "screenshot failed: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "screenshot {} is only {size} bytes",
        png.display()
    );
    if Path::new("/work").is_dir() {
        let _ = std::fs::copy(&png, "/work/report-screenshot.png");
    }
    println!("report: {}", page.display());
    println!("screenshot: {} ({size} bytes)", png.display());
}
