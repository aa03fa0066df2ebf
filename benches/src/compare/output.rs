//! The command's output: a table per component (terminal and Markdown), `results.json`
//! (every sample, the machine, the command, the revision) and one SVG chart per component.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;
use serde::Serialize;

use super::machine::Machine;
use super::{ComponentResult, ContenderResult, Curve, Settings, WorkloadResult};

/// Everything one run of the command measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The command line.
    pub command: String,
    /// When the run started (seconds since the Unix epoch).
    pub started_unix: u64,
    /// How long the measuring took, seconds.
    pub measured_secs: f64,
    /// The machine and build.
    pub machine: Machine,
    /// The settings.
    pub settings: Settings,
    /// One entry per component run.
    pub components: Vec<ComponentResult>,
}

/// A spread wider than this fraction of the median marks a result as noisy.
pub const NOISY: f64 = 0.25;

/// The value a workload ranks its contenders by: a figure's median when the workload names
/// one (lower is better), else the median time.
fn rank_value(workload: &WorkloadResult, c: &ContenderResult) -> f64 {
    match &workload.rank_by {
        Some(m) => c.metrics.get(m).copied().unwrap_or(f64::NAN),
        None => c.median,
    }
}

/// The best (lowest) ranking value among the peers of a workload, if it has peers.
fn best_peer(workload: &WorkloadResult) -> Option<f64> {
    workload
        .contenders
        .iter()
        .filter(|c| !c.ours)
        .map(|c| rank_value(workload, c))
        .filter(|v| v.is_finite())
        .min_by(f64::total_cmp)
}

/// The winner's index (lowest ranking value).
fn winner(workload: &WorkloadResult) -> Option<usize> {
    (0..workload.contenders.len())
        .filter(|&i| rank_value(workload, &workload.contenders[i]).is_finite())
        .min_by(|&a, &b| {
            rank_value(workload, &workload.contenders[a])
                .total_cmp(&rank_value(workload, &workload.contenders[b]))
        })
}

/// A duration in seconds with a unit that fits.
///
/// ```
/// use benches::compare::output::human_time;
/// assert_eq!(human_time(0.0000123), "12.3 µs");
/// assert_eq!(human_time(1.5), "1.50 s");
/// ```
pub fn human_time(secs: f64) -> String {
    let (v, unit) = if secs >= 1.0 {
        (secs, "s")
    } else if secs >= 1e-3 {
        (secs * 1e3, "ms")
    } else if secs >= 1e-6 {
        (secs * 1e6, "µs")
    } else {
        (secs * 1e9, "ns")
    };
    if v >= 100.0 {
        format!("{v:.0} {unit}")
    } else if v >= 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.2} {unit}")
    }
}

/// A figure by its name's convention: `*_ratio` as a percentage, `*_mib` in MiB.
///
/// ```
/// use benches::compare::output::human_metric;
/// assert_eq!(human_metric("hit_ratio", 0.5663), "hit 56.63%");
/// assert_eq!(human_metric("peak_rss_mib", 12.345), "peak rss 12.3 MiB");
/// ```
pub fn human_metric(name: &str, value: f64) -> String {
    if let Some(base) = name.strip_suffix("_ratio") {
        format!("{} {:.2}%", base.replace('_', " "), value * 100.0)
    } else if let Some(base) = name.strip_suffix("_mib") {
        format!("{} {value:.1} MiB", base.replace('_', " "))
    } else {
        format!("{} {value:.3}", name.replace('_', " "))
    }
}

/// The Markdown table of one component.
pub fn component_markdown(c: &ComponentResult) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### {} (`--only {}`)\n", c.title, c.component.name());
    if let Some(note) = &c.note {
        let _ = writeln!(out, "{note}\n");
    }
    for w in &c.workloads {
        let rank = match &w.rank_by {
            Some(m) => format!("ranked by {}", m.replace('_', " ")),
            None => "ranked by time".to_owned(),
        };
        let _ = writeln!(out, "**{}**: {} ({rank})\n", w.name, w.about);
        let _ = writeln!(
            out,
            "| contender | median time | spread (min-max) | vs best peer | figures |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|");
        let best = best_peer(w);
        let win = winner(w);
        for (i, r) in w.contenders.iter().enumerate() {
            let mut name = r.name.clone();
            if r.ours {
                name = format!("**{name}** (ours)");
            }
            if win == Some(i) {
                name.push_str(" ★");
            }
            let spread = (r.max - r.min) / r.median.max(f64::MIN_POSITIVE);
            let noisy = if spread > NOISY { " noisy" } else { "" };
            let ratio = match best {
                Some(b) if b > 0.0 => format!("{:.2}x", rank_value(w, r) / b),
                _ => "-".to_owned(),
            };
            let figures: Vec<String> = r.metrics.iter().map(|(k, v)| human_metric(k, *v)).collect();
            let _ = writeln!(
                out,
                "| {name} | {} | {}-{} (±{:.0}%{noisy}) | {ratio} | {} |",
                human_time(r.median),
                human_time(r.min),
                human_time(r.max),
                spread * 50.0,
                figures.join(", ")
            );
        }
        out.push('\n');
    }
    for curve in &c.curves {
        out.push_str(&curve_markdown(curve));
    }
    out
}

/// A curve as a table: a row per contender, a column per value of the parameter.
fn curve_markdown(curve: &Curve) -> String {
    let mut out = String::new();
    let Some((_, first)) = curve.series.first() else {
        return out;
    };
    let _ = writeln!(
        out,
        "**{}: {} against {}**\n",
        curve.name, curve.y_label, curve.x_label
    );
    let xs: Vec<String> = first.iter().map(|(x, _)| format!("{x}")).collect();
    let _ = writeln!(out, "| contender | {} |", xs.join(" | "));
    let _ = writeln!(out, "|---|{}", "---|".repeat(xs.len()));
    for (name, points) in &curve.series {
        let cells: Vec<String> = points.iter().map(|(_, y)| format!("{y:.3}")).collect();
        let _ = writeln!(out, "| {name} | {} |", cells.join(" | "));
    }
    out.push('\n');
    out
}

/// Writes the curves of a component, one panel per curve: its figure against its parameter,
/// a line per contender.
pub fn curves_chart(curves: &[Curve], path: &Path) -> Result<(), String> {
    if curves.is_empty() {
        return Ok(());
    }
    let err = |e: &dyn std::fmt::Display| format!("chart {}: {e}", path.display());
    let cols = curves.len().min(3);
    let rows = curves.len().div_ceil(cols);
    let root = SVGBackend::new(path, (420 * cols as u32, 340 * rows as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    for (curve, area) in curves.iter().zip(root.split_evenly((rows, cols))) {
        let points = || curve.series.iter().flat_map(|(_, p)| p.iter().copied());
        let (lo, hi) = points().fold((f64::MAX, f64::MIN), |(lo, hi), (x, _)| {
            (lo.min(x), hi.max(x))
        });
        let top = curve
            .y_max
            .unwrap_or_else(|| 1.1 * points().fold(0f64, |m, (_, y)| m.max(y)));
        let mut builder = ChartBuilder::on(&area);
        builder
            .caption(
                format!("{}, {}", curve.y_label, curve.name),
                ("sans-serif", 15),
            )
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(40);
        // A ratio's curves rise towards its top (legend below them); times rise to the right.
        let legend = if curve.y_max.is_some() {
            SeriesLabelPosition::LowerRight
        } else {
            SeriesLabelPosition::UpperLeft
        };
        // A linear axis is of counts (threads): a label per whole number.
        let x_labels = if curve.log_x {
            10
        } else {
            (hi - lo) as usize + 1
        };
        // The two kinds of x axis are two chart types; the drawing is the same.
        macro_rules! draw {
            ($chart:expr) => {{
                let mut chart = $chart.map_err(|e| err(&e))?;
                chart
                    .configure_mesh()
                    .x_desc(curve.x_label.as_str())
                    .x_labels(x_labels)
                    .x_label_formatter(&|x| format!("{x:.0}"))
                    .draw()
                    .map_err(|e| err(&e))?;
                for (j, (name, points)) in curve.series.iter().enumerate() {
                    let color = Palette99::pick(j).to_rgba();
                    chart
                        .draw_series(LineSeries::new(
                            points.iter().copied(),
                            color.stroke_width(2),
                        ))
                        .map_err(|e| err(&e))?
                        .label(name.clone())
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2))
                        });
                    chart
                        .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                        .map_err(|e| err(&e))?;
                }
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .label_font(("sans-serif", 10))
                    .position(legend)
                    .draw()
                    .map_err(|e| err(&e))?;
            }};
        }
        if curve.log_x {
            draw!(builder.build_cartesian_2d((lo.max(1.0)..hi).log_scale(), 0f64..top));
        } else {
            draw!(builder.build_cartesian_2d(lo..hi, 0f64..top));
        }
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// The whole report as Markdown: the machine, the command, then a table per component, with
/// the workloads where a peer wins listed first.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## Comparison results\n");
    let _ = writeln!(out, "- date: {}", utc_stamp(report.started_unix));
    let _ = writeln!(out, "- machine: {}", report.machine.line());
    let _ = writeln!(out, "- command: `{}`", report.command);
    let _ = writeln!(
        out,
        "- mode: {:?}, up to {} threads, {:.0} s of measuring",
        report.settings.mode, report.settings.threads, report.measured_secs
    );
    let _ = writeln!(
        out,
        "- each contender runs once per round, contenders interleaved; median of the rounds, \
         spread = min-max (marked noisy past ±{:.0}%); \"vs best peer\" = this contender's \
         median over the best peer's (below 1: faster than every peer); ★ = fastest\n",
        NOISY * 50.0
    );
    let lost = peer_wins(report);
    if lost.is_empty() {
        let _ = writeln!(out, "Ours is fastest in every workload of this run.\n");
    } else {
        let _ = writeln!(out, "Where a peer wins in this run:\n");
        for line in lost {
            let _ = writeln!(out, "- {line}");
        }
        out.push('\n');
    }
    for c in &report.components {
        out.push_str(&component_markdown(c));
    }
    out
}

/// One line per workload where a peer beats our best contender.
pub fn peer_wins(report: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    for c in &report.components {
        for w in &c.workloads {
            if w.name.starts_with(super::alloc::OVERHEAD_PREFIX) {
                continue; // ours against ours untraced: an overhead, not a peer's win
            }
            let ours = w
                .contenders
                .iter()
                .filter(|r| r.ours)
                .map(|r| rank_value(w, r))
                .min_by(f64::total_cmp);
            let (Some(ours), Some(best)) = (ours, best_peer(w)) else {
                continue;
            };
            if best < ours {
                let who = w
                    .contenders
                    .iter()
                    .find(|r| !r.ours && rank_value(w, r) == best)
                    .map_or("?", |r| r.name.as_str());
                lines.push(format!(
                    "{} / {}: {who} ({:.2}x our figure)",
                    c.component.name(),
                    w.name,
                    best / ours
                ));
            }
        }
    }
    lines
}

/// Writes one SVG chart for a component: for each workload, a bar per contender with its
/// figure as a multiple of the best peer's (below 1 is better than every peer), and error
/// bars from the fastest and slowest rounds (time-ranked workloads).
pub fn chart(c: &ComponentResult, path: &Path) -> Result<(), String> {
    let workloads: Vec<&WorkloadResult> = c
        .workloads
        .iter()
        .filter(|w| best_peer(w).is_some())
        .collect();
    if workloads.is_empty() {
        return Ok(());
    }
    let mut names: Vec<String> = Vec::new();
    for w in &workloads {
        for r in &w.contenders {
            if !names.contains(&r.name) {
                names.push(r.name.clone());
            }
        }
    }
    let mut top: f64 = 1.2;
    for w in &workloads {
        let best = best_peer(w).unwrap_or(1.0);
        for r in &w.contenders {
            let hi = if w.rank_by.is_some() {
                rank_value(w, r)
            } else {
                r.max
            };
            if hi.is_finite() {
                top = top.max(hi / best * 1.1);
            }
        }
    }
    let top = top.min(10.0);
    let width = (220 * workloads.len()).clamp(640, 2400) as u32;
    let root = SVGBackend::new(path, (width, 480)).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| format!("chart {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{}: figure / best peer's (lower is better)", c.title),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(60)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..workloads.len() as f64, 0f64..top)
        .map_err(|e| err(&e))?;
    let labels: Vec<String> = workloads.iter().map(|w| w.name.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(workloads.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - x.floor() - 0.5).abs() < 0.01 && i < labels.len() {
                labels[i].clone()
            } else {
                String::new()
            }
        })
        .y_desc("x best peer")
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(LineSeries::new(
            [(0.0, 1.0), (workloads.len() as f64, 1.0)],
            BLACK.stroke_width(1),
        ))
        .map_err(|e| err(&e))?;
    let slot = 0.8 / names.len() as f64;
    for (j, name) in names.iter().enumerate() {
        let color = Palette99::pick(j).to_rgba();
        let mut bars = Vec::new();
        let mut whiskers = Vec::new();
        for (i, w) in workloads.iter().enumerate() {
            let Some(r) = w.contenders.iter().find(|r| &r.name == name) else {
                continue;
            };
            let best = best_peer(w).unwrap_or(1.0);
            let value = (rank_value(w, r) / best).min(top);
            let x0 = i as f64 + 0.1 + j as f64 * slot;
            bars.push(Rectangle::new(
                [(x0, 0.0), (x0 + slot * 0.9, value)],
                color.filled(),
            ));
            if w.rank_by.is_none() {
                let mid = x0 + slot * 0.45;
                whiskers.push(PathElement::new(
                    vec![
                        (mid, (r.min / best).min(top)),
                        (mid, (r.max / best).min(top)),
                    ],
                    BLACK.stroke_width(1),
                ));
            }
        }
        chart
            .draw_series(bars)
            .map_err(|e| err(&e))?
            .label(name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
        chart.draw_series(whiskers).map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// Writes `results.json`, `results.md` and a chart per component into `dir`.
pub fn write_all(report: &Report, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let json = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("results.json"), json).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("results.md"), markdown(report)).map_err(|e| e.to_string())?;
    for c in &report.components {
        chart(c, &dir.join(format!("{}.svg", c.component.name())))?;
        curves_chart(
            &c.curves,
            &dir.join(format!("{}-curves.svg", c.component.name())),
        )?;
    }
    Ok(())
}

/// `YYYY-MM-DDTHH-MM-SSZ` for a Unix time (the civil calendar from days since the epoch,
/// after Howard Hinnant's algorithm).
///
/// ```
/// use benches::compare::output::utc_stamp;
/// assert_eq!(utc_stamp(0), "1970-01-01T00-00-00Z");
/// assert_eq!(utc_stamp(951_782_400), "2000-02-29T00-00-00Z");
/// assert_eq!(utc_stamp(1_796_141_027), "2026-12-01T16-03-47Z");
/// ```
pub fn utc_stamp(unix: u64) -> String {
    let (days, secs) = ((unix / 86_400) as i64, unix % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}-{:02}-{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}
