//! Chart primitives rendered to inline SVG: scales and "nice" ticks, axes, legends, marks and
//! the palette; the charts built from them are in [`crate::plots`].
//!
//! Charts are plain SVG text meant to be embedded in an HTML page whose stylesheet styles the
//! classes used here (`title`, `subtitle`, `tick`, `axis-label`, `grid`, `axis`, `legend`).
//! All text passes through [`escape`].

use std::fmt::Write as _;

use crate::escape::escape;
use crate::stats::Better;

/// Okabe–Ito colour-blind-safe palette, in the order colours are handed out.
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#999933", "#000000",
];

/// Average width of one character of 11 px text, for layout estimates.
pub(crate) const CHAR_W: f64 = 6.4;

/// Maps a data interval onto a pixel interval.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    d0: f64,
    d1: f64,
    r0: f64,
    r1: f64,
}

impl Scale {
    /// Linear map from `[d0, d1]` to `[r0, r1]`.
    pub fn new(d0: f64, d1: f64, r0: f64, r1: f64) -> Scale {
        Scale { d0, d1, r0, r1 }
    }

    /// Pixel position of `v`.
    pub fn map(&self, v: f64) -> f64 {
        let span = self.d1 - self.d0;
        if span == 0.0 {
            return (self.r0 + self.r1) / 2.0;
        }
        self.r0 + (v - self.d0) / span * (self.r1 - self.r0)
    }
}

/// Axis ticks: a domain widened to multiples of a 1-2-5 step, and the tick values.
#[derive(Debug, Clone, PartialEq)]
pub struct Ticks {
    /// Lower end of the widened domain.
    pub lo: f64,
    /// Upper end of the widened domain.
    pub hi: f64,
    /// Distance between ticks.
    pub step: f64,
    /// Tick values from `lo` to `hi`.
    pub values: Vec<f64>,
}

/// About `target` ticks covering `[min, max]` at a step of 1, 2 or 5 times a power of ten.
pub fn nice_ticks(min: f64, max: f64, target: usize) -> Ticks {
    let (mut min, mut max) = if min.is_finite() && max.is_finite() {
        (min.min(max), min.max(max))
    } else {
        (0.0, 1.0)
    };
    if max - min < 1e-12 * (min.abs() + max.abs()).max(1e-300) {
        let pad = if min == 0.0 { 1.0 } else { min.abs() * 0.1 };
        min -= pad;
        max += pad;
    }
    if !(max - min).is_finite() {
        // Spans beyond f64 (e.g. ±1e308): just the two ends.
        return Ticks {
            lo: min,
            hi: max,
            step: max / 2.0 - min / 2.0,
            values: vec![min, max],
        };
    }
    let raw = (max - min) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let lo = (min / step).floor() * step;
    let hi = (max / step).ceil() * step;
    let n = (((hi - lo) / step).round() as usize).min(1000);
    let values = (0..=n).map(|i| lo + i as f64 * step).collect();
    Ticks {
        lo,
        hi,
        step,
        values,
    }
}

/// Label of tick `v` on an axis with tick distance `step`.
pub fn tick_label(v: f64, step: f64) -> String {
    let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
    if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-4) {
        return format!("{v:.1e}");
    }
    let decimals = (-(step.log10().floor()) as i32).max(0) as usize;
    let decimals = if (step * 10f64.powi(decimals as i32)).fract().abs() > 1e-9 {
        decimals + 1
    } else {
        decimals
    };
    format!("{v:.decimals$}")
}

/// Pixel rectangle.
#[derive(Debug, Clone, Copy)]
pub struct Rect {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

/// Shape of a mark in a chart and its legend entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Filled circles.
    Dots,
    /// Hollow circles.
    HollowDots,
    /// Crosses.
    Crosses,
    /// Downward triangles.
    Triangles,
    /// Solid polyline.
    Line,
    /// Solid step line (horizontal, then vertical).
    Step,
    /// Dashed polyline.
    Dashed,
}

/// One legend entry.
#[derive(Debug, Clone)]
pub struct LegendItem {
    /// Text.
    pub label: String,
    /// Colour.
    pub color: String,
    /// Mark shape.
    pub mark: Mark,
}

/// An SVG document under construction.
pub struct Canvas {
    pub(crate) w: f64,
    pub(crate) h: f64,
    pub(crate) body: String,
}

impl Canvas {
    /// An empty `w` × `h` canvas.
    pub fn new(w: f64, h: f64) -> Canvas {
        Canvas {
            w,
            h,
            body: String::new(),
        }
    }

    /// Appends raw SVG markup (callers escape text themselves).
    pub fn raw(&mut self, s: &str) {
        self.body.push_str(s);
    }

    /// A text element; `content` is escaped.
    pub fn text(&mut self, x: f64, y: f64, anchor: &str, class: &str, content: &str) {
        let _ = write!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" class="{class}">{}</text>"#,
            escape(content)
        );
    }

    /// A line segment with extra attributes.
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, attrs: &str) {
        let _ = write!(
            self.body,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" {attrs}/>"#
        );
    }

    /// A mark of shape `mark` centred at (x, y); `tip` becomes a hover tooltip.
    pub fn mark(&mut self, mark: Mark, x: f64, y: f64, color: &str, tip: Option<&str>) {
        let (open, close) = match tip {
            Some(t) => (
                String::from("<g>"),
                format!("<title>{}</title></g>", escape(t)),
            ),
            None => (String::new(), String::new()),
        };
        self.body.push_str(&open);
        let _ = match mark {
            Mark::Dots => write!(
                self.body,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="3.2" fill="{color}" fill-opacity="0.75" stroke="white" stroke-width="0.6"/>"#
            ),
            Mark::HollowDots => write!(
                self.body,
                r#"<circle cx="{x:.1}" cy="{y:.1}" r="2.8" fill="white" stroke="{color}" stroke-width="1.3"/>"#
            ),
            Mark::Crosses => write!(
                self.body,
                r#"<path d="M{:.1} {:.1}l7 7m0 -7l-7 7" stroke="{color}" stroke-width="1.8"/>"#,
                x - 3.5,
                y - 3.5
            ),
            Mark::Triangles => write!(
                self.body,
                r#"<path d="M{:.1} {:.1}h8l-4 7z" fill="white" stroke="{color}" stroke-width="1.4"/>"#,
                x - 4.0,
                y - 3.5
            ),
            Mark::Line | Mark::Step | Mark::Dashed => write!(
                self.body,
                r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{color}" stroke-width="2"{}/>"#,
                x - 8.0,
                x + 8.0,
                if mark == Mark::Dashed {
                    r#" stroke-dasharray="5 3""#
                } else {
                    ""
                }
            ),
        };
        self.body.push_str(&close);
    }

    /// The finished `<svg>` element, labelled `label` for assistive technology.
    pub fn finish(self, label: &str) -> String {
        format!(
            r#"<svg class="chart" viewBox="0 0 {w:.0} {h:.0}" width="{w:.0}" height="{h:.0}" role="img" aria-label="{l}"><title>{l}</title>{body}</svg>"#,
            w = self.w,
            h = self.h,
            l = escape(label),
            body = self.body
        )
    }
}

/// Height taken by a legend of `items` laid out in rows of at most `width` pixels.
fn legend_rows(items: &[LegendItem], width: f64) -> Vec<Vec<(usize, f64)>> {
    let mut rows: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut x = 0.0;
    for (i, it) in items.iter().enumerate() {
        let w = 26.0 + it.label.chars().count().min(40) as f64 * CHAR_W;
        if rows.is_empty() || (x + w > width && x > 0.0) {
            rows.push(Vec::new());
            x = 0.0;
        }
        if let Some(r) = rows.last_mut() {
            r.push((i, x));
        }
        x += w + 8.0;
    }
    rows
}

/// Draws the title, an optional subtitle and the legend; returns the y where the plot may start.
pub(crate) fn header(
    c: &mut Canvas,
    title: &str,
    subtitle: Option<&str>,
    legend: &[LegendItem],
) -> f64 {
    let room = ((c.w - 24.0) / CHAR_W) as usize;
    c.text(12.0, 20.0, "start", "title", &truncate(title, room * 6 / 7));
    let mut y = 26.0;
    if let Some(s) = subtitle {
        c.text(12.0, 38.0, "start", "subtitle", &truncate(s, room));
        y = 42.0;
    }
    for row in legend_rows(legend, c.w - 24.0) {
        y += 16.0;
        for (i, x) in row {
            let it = &legend[i];
            c.mark(it.mark, 12.0 + x + 9.0, y - 4.0, &it.color, None);
            let label: String = truncate(&it.label, 40);
            c.text(12.0 + x + 22.0, y, "start", "legend", &label);
        }
    }
    y + 12.0
}

/// `s` cut to `n` characters with an ellipsis.
pub fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Horizontal grid lines, tick labels and the rotated label of a vertical axis.
pub(crate) fn y_axis(c: &mut Canvas, area: Rect, y: &Scale, ticks: &Ticks, label: &str) {
    for &v in &ticks.values {
        let py = y.map(v);
        c.line(area.x, py, area.x + area.w, py, r#"class="grid""#);
        c.text(
            area.x - 6.0,
            py + 3.5,
            "end",
            "tick",
            &tick_label(v, ticks.step),
        );
    }
    c.line(area.x, area.y, area.x, area.y + area.h, r#"class="axis""#);
    let cy = area.y + area.h / 2.0;
    let _ = write!(
        c.body,
        r#"<text transform="translate({:.1} {cy:.1}) rotate(-90)" text-anchor="middle" class="axis-label">{}</text>"#,
        area.x - 50.0,
        escape(label)
    );
}

/// Tick marks, tick labels and label of a horizontal numeric axis.
pub(crate) fn x_axis(
    c: &mut Canvas,
    area: Rect,
    x: &Scale,
    ticks: &Ticks,
    label: &str,
    grid: bool,
) {
    let base = area.y + area.h;
    for &v in &ticks.values {
        let px = x.map(v);
        if grid {
            c.line(px, area.y, px, base, r#"class="grid""#);
        }
        c.line(px, base, px, base + 4.0, r#"class="axis""#);
        c.text(
            px,
            base + 16.0,
            "middle",
            "tick",
            &tick_label(v, ticks.step),
        );
    }
    c.line(area.x, base, area.x + area.w, base, r#"class="axis""#);
    c.text(
        area.x + area.w / 2.0,
        base + 34.0,
        "middle",
        "axis-label",
        label,
    );
}

/// Subtitle text for a metric direction.
pub fn direction_note(b: Option<Better>) -> Option<String> {
    match b {
        Some(Better::Lower) => Some("lower is better ↓".into()),
        Some(Better::Higher) => Some("higher is better ↑".into()),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_and_cover_the_data() {
        let t = nice_ticks(0.13, 0.92, 5);
        assert_eq!(t.step, 0.2);
        assert_eq!((t.lo, t.hi), (0.0, 1.0));
        assert_eq!(t.values.len(), 6);
        assert_eq!(tick_label(0.4, 0.2), "0.4");
        assert_eq!(tick_label(0.25, 0.25), "0.25");
        assert_eq!(tick_label(20.0, 10.0), "20");
        let flat = nice_ticks(3.0, 3.0, 5);
        assert!(flat.lo < 3.0 && flat.hi > 3.0);
        let wild = nice_ticks(-1e308, 1e308, 5);
        assert_eq!(wild.values.len(), 2);
        assert_eq!(nice_ticks(f64::NAN, 1.0, 5).lo, 0.0);
    }
}
