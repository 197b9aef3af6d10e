//! Charts built from the primitives of [`crate::svg`]: box plots and x/y charts (dots, lines,
//! step lines, a y = x reference, marks without a value in a strip under the plot).

use std::fmt::Write as _;

use crate::escape::escape;
use crate::stats::{fmt_sig, BoxStats};
use crate::svg::{
    header, nice_ticks, tick_label, truncate, x_axis, y_axis, Canvas, LegendItem, Mark, Rect,
    Scale, CHAR_W,
};

/// A box plot: one box per group.
#[derive(Debug, Clone)]
pub struct BoxPlot {
    /// Chart title.
    pub title: String,
    /// Line under the title (e.g. "lower is better").
    pub subtitle: Option<String>,
    /// Label of the value axis.
    pub y_label: String,
    /// Label of the category axis.
    pub x_label: String,
    /// Boxes: (name, colour, statistics).
    pub groups: Vec<(String, String, BoxStats)>,
    /// Dashed horizontal reference line at a value, with its label (e.g. 0.5, "random").
    pub reference: Option<(f64, String)>,
    /// Fixed value-axis range (otherwise fitted to the data).
    pub y_range: Option<(f64, f64)>,
}

/// Renders a [`BoxPlot`] (boxes = quartiles, line = median, whiskers = Tukey 1.5 IQR,
/// hollow dots = outliers, tooltips with the numbers).
pub fn box_plot(p: &BoxPlot) -> String {
    let n = p.groups.len().max(1);
    let max_label = p
        .groups
        .iter()
        .map(|g| g.0.chars().count().min(24))
        .max()
        .unwrap_or(0) as f64;
    let text_w = max_label * CHAR_W;
    // Rotated labels (−35°) reach cos 35° · text_w left of their box and sin 35° · text_w down.
    let left = 64.0_f64.max(text_w * 0.82 - 24.0);
    let right = if p.reference.is_some() { 52.0 } else { 16.0 };
    let width = (left + right + 64.0 * n as f64).max(380.0);
    let plot_w = width - left - right;
    let rotate = text_w > plot_w / n as f64 - 8.0;
    let label_h = if rotate { text_w * 0.58 + 10.0 } else { 18.0 };
    let mut c = Canvas::new(width, 0.0);
    let top = header(&mut c, &p.title, p.subtitle.as_deref(), &[]);
    let plot_h = 200.0;
    let area = Rect {
        x: left,
        y: top,
        w: plot_w,
        h: plot_h,
    };
    c.h = top + plot_h + label_h + 30.0;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for (_, _, s) in &p.groups {
        let vmin = s
            .outliers
            .first()
            .copied()
            .unwrap_or(s.whisker_lo)
            .min(s.whisker_lo);
        let vmax = s
            .outliers
            .last()
            .copied()
            .unwrap_or(s.whisker_hi)
            .max(s.whisker_hi);
        lo = lo.min(vmin);
        hi = hi.max(vmax);
    }
    if let Some((r, _)) = &p.reference {
        lo = lo.min(*r);
        hi = hi.max(*r);
    }
    let ticks = match p.y_range {
        Some((a, b)) => nice_ticks(a.min(lo), b.max(hi), 5),
        None => nice_ticks(lo, hi, 5),
    };
    let y = Scale::new(ticks.lo, ticks.hi, area.y + area.h, area.y);
    y_axis(&mut c, area, &y, &ticks, &p.y_label);
    let step = area.w / n as f64;
    let bw = (step * 0.5).min(36.0);
    let base = area.y + area.h;
    c.line(area.x, base, area.x + area.w, base, r#"class="axis""#);
    if let Some((r, label)) = &p.reference {
        let py = y.map(*r);
        c.line(
            area.x,
            py,
            area.x + area.w,
            py,
            r##"stroke="#555" stroke-width="1.2" stroke-dasharray="6 4""##,
        );
        c.text(area.x + area.w + 5.0, py + 3.5, "start", "ref-label", label);
    }
    for (i, (name, color, s)) in p.groups.iter().enumerate() {
        let cx = area.x + step * (i as f64 + 0.5);
        let tip = format!(
            "{name}\nn = {}\nmedian = {}\nQ1 = {}, Q3 = {}\nwhiskers = {} … {}\nmean = {}",
            s.n,
            fmt_sig(s.median),
            fmt_sig(s.q1),
            fmt_sig(s.q3),
            fmt_sig(s.whisker_lo),
            fmt_sig(s.whisker_hi),
            fmt_sig(s.mean)
        );
        let _ = write!(c.body, "<g class=\"box\"><title>{}</title>", escape(&tip));
        let stroke = format!(r#"stroke="{color}" stroke-width="1.5""#);
        c.line(cx, y.map(s.whisker_lo), cx, y.map(s.q1), &stroke);
        c.line(cx, y.map(s.q3), cx, y.map(s.whisker_hi), &stroke);
        for w in [s.whisker_lo, s.whisker_hi] {
            c.line(cx - bw / 4.0, y.map(w), cx + bw / 4.0, y.map(w), &stroke);
        }
        let (top_px, bot_px) = (y.map(s.q3), y.map(s.q1));
        let _ = write!(
            c.body,
            r#"<rect x="{:.1}" y="{top_px:.1}" width="{bw:.1}" height="{:.1}" fill="{color}" fill-opacity="0.25" stroke="{color}" stroke-width="1.5" rx="2"/>"#,
            cx - bw / 2.0,
            (bot_px - top_px).max(0.8)
        );
        c.line(
            cx - bw / 2.0,
            y.map(s.median),
            cx + bw / 2.0,
            y.map(s.median),
            &format!(r#"stroke="{color}" stroke-width="3""#),
        );
        for &o in &s.outliers {
            c.mark(Mark::HollowDots, cx, y.map(o), color, None);
        }
        c.raw("</g>");
        let label = truncate(name, 24);
        if rotate {
            let _ = write!(
                c.body,
                r#"<text transform="translate({:.1} {:.1}) rotate(-35)" text-anchor="end" class="tick">{}<title>{}</title></text>"#,
                cx + 3.0,
                base + 14.0,
                escape(&label),
                escape(name)
            );
        } else {
            c.text(cx, base + 16.0, "middle", "tick", &label);
        }
    }
    c.text(
        area.x + area.w / 2.0,
        c.h - 8.0,
        "middle",
        "axis-label",
        &p.x_label,
    );
    let label = p.title.clone();
    c.finish(&label)
}

/// One data series of an [`XyChart`].
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text (not shown if empty).
    pub name: String,
    /// Colour.
    pub color: String,
    /// How the points are drawn.
    pub mark: Mark,
    /// (x, y) points; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
    /// Optional tooltip per point (same length as `points`, or empty).
    pub tips: Vec<String>,
}

/// A chart of numeric x against numeric y.
#[derive(Debug, Clone)]
pub struct XyChart {
    /// Chart title.
    pub title: String,
    /// Line under the title.
    pub subtitle: Option<String>,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Data series, drawn in order.
    pub series: Vec<Series>,
    /// Draw the dashed y = x line and use the same range on both axes.
    pub identity: bool,
    /// Marks without a y value, drawn in a strip under the plot: (legend text, colour, mark, xs).
    pub no_value: Vec<(String, String, Mark, Vec<f64>)>,
    /// Plot area width in pixels.
    pub width: f64,
    /// Plot area height in pixels.
    pub height: f64,
}

/// Renders an [`XyChart`].
pub fn xy_chart(p: &XyChart) -> String {
    let left = 64.0;
    let width = left + p.width + 20.0;
    let mut c = Canvas::new(width, 0.0);
    let mut legend: Vec<LegendItem> = p
        .series
        .iter()
        .filter(|s| !s.name.is_empty())
        .map(|s| LegendItem {
            label: s.name.clone(),
            color: s.color.clone(),
            mark: s.mark,
        })
        .collect();
    for (name, color, mark, xs) in &p.no_value {
        if !xs.is_empty() {
            legend.push(LegendItem {
                label: name.clone(),
                color: color.clone(),
                mark: *mark,
            });
        }
    }
    if p.identity {
        legend.push(LegendItem {
            label: "y = x".into(),
            color: "#555".into(),
            mark: Mark::Dashed,
        });
    }
    let top = header(&mut c, &p.title, p.subtitle.as_deref(), &legend);
    let strip = if p.no_value.iter().any(|n| !n.3.is_empty()) {
        26.0
    } else {
        0.0
    };
    let area = Rect {
        x: left,
        y: top,
        w: p.width,
        h: p.height,
    };
    c.h = top + p.height + strip + 46.0;
    let finite = |&(x, y): &(f64, f64)| x.is_finite() && y.is_finite();
    let pts = || {
        p.series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(finite)
    };
    let xs_extra = p.no_value.iter().flat_map(|n| n.3.iter().copied());
    let (mut x0, mut x1) = pts()
        .map(|q| q.0)
        .chain(xs_extra)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    let (mut y0, mut y1) = pts()
        .map(|q| q.1)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if p.identity {
        let (a, b) = (x0.min(y0), x1.max(y1));
        (x0, x1, y0, y1) = (a, b, a, b);
    }
    let xt = nice_ticks(x0, x1, (p.width / 80.0).round() as usize);
    let yt = nice_ticks(y0, y1, (p.height / 50.0).round() as usize);
    let x = Scale::new(xt.lo, xt.hi, area.x, area.x + area.w);
    let y = Scale::new(yt.lo, yt.hi, area.y + area.h, area.y);
    y_axis(&mut c, area, &y, &yt, &p.y_label);
    let x_area = Rect {
        h: area.h + strip,
        ..area
    };
    x_axis(&mut c, x_area, &x, &xt, &p.x_label, true);
    if p.identity {
        let (a, b) = (xt.lo.max(yt.lo), xt.hi.min(yt.hi));
        c.line(
            x.map(a),
            y.map(a),
            x.map(b),
            y.map(b),
            r##"stroke="#555" stroke-width="1.2" stroke-dasharray="6 4""##,
        );
    }
    for s in &p.series {
        let points: Vec<(usize, (f64, f64))> = s
            .points
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, q)| finite(q))
            .collect();
        match s.mark {
            Mark::Line | Mark::Step | Mark::Dashed => {
                let mut d = String::new();
                for (k, (_, (px, py))) in points.iter().enumerate() {
                    let (sx, sy) = (x.map(*px), y.map(*py));
                    if k == 0 {
                        let _ = write!(d, "M{sx:.1} {sy:.1}");
                    } else if s.mark == Mark::Step {
                        let _ = write!(d, "H{sx:.1}V{sy:.1}");
                    } else {
                        let _ = write!(d, "L{sx:.1} {sy:.1}");
                    }
                }
                let dash = if s.mark == Mark::Dashed {
                    r#" stroke-dasharray="5 3""#
                } else {
                    ""
                };
                let _ = write!(
                    c.body,
                    r#"<path d="{d}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#,
                    s.color
                );
            }
            mark => {
                for (i, (px, py)) in points {
                    let tip = s.tips.get(i).map(String::as_str);
                    c.mark(mark, x.map(px), y.map(py), &s.color, tip);
                }
            }
        }
    }
    if strip > 0.0 {
        let sy = area.y + area.h + strip * 0.62;
        c.text(area.x - 6.0, sy + 3.5, "end", "tick", "no value");
        for (name, color, mark, xs) in &p.no_value {
            for &v in xs {
                c.mark(
                    *mark,
                    x.map(v),
                    sy,
                    color,
                    Some(&format!("{name}: {}", tick_label(v, 1.0))),
                );
            }
        }
    }
    let label = p.title.clone();
    c.finish(&label)
}
