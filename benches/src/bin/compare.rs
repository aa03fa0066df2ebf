//! The comparison command: `cargo run --release -p benches` (see the root README).
//!
//! Runs every component's workloads, ours and the peers interleaved, prints a table per
//! component, and writes `results.json`, `results.md` and one SVG chart per component into
//! `target/compare/<time>/`.

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use benches::compare::machine::Machine;
use benches::compare::output::{Report, markdown, utc_stamp, write_all};
use benches::compare::{
    Component, ComponentResult, Mode, Settings, measure, policy, rounds_of, workloads,
};
use clap::Parser;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// Compare the workspace's crates with the system allocator and the best peer crates.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// About a minute of measuring: for CI and a first look.
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    /// Larger workloads and more rounds.
    #[arg(long)]
    full: bool,
    /// Run only these components (repeat or separate with commas).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Component>,
    /// The largest thread count for multi-threaded workloads (default: the cores, at least 2).
    #[arg(long)]
    threads: Option<usize>,
    /// Where to write the results (default: `target/compare/<UTC date and time>`).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() {
    let args = Args::parse();
    let mode = if args.quick {
        Mode::Quick
    } else if args.full {
        Mode::Full
    } else {
        Mode::Default
    };
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let settings = Settings {
        mode,
        threads: args.threads.unwrap_or(cores.max(2)).max(1),
    };
    let components: Vec<Component> = if args.only.is_empty() {
        Component::ALL.to_vec()
    } else {
        let mut c = args.only.clone();
        c.sort();
        c.dedup();
        c
    };
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let out_dir = args.out.clone().unwrap_or_else(|| {
        let target = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target"));
        target
            .canonicalize()
            .unwrap_or(target)
            .join("compare")
            .join(utc_stamp(started_unix))
    });
    let machine = Machine::detect();
    eprintln!("{}", machine.line());
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template(
        "{prefix:>8} {bar:30} {pos:>3}/{len:3} {elapsed:>4} left ~{eta:<4} {msg}",
    )
    .expect("a valid template");
    let start = Instant::now();
    let mut results = Vec::new();
    for component in components {
        let (workloads, note) = workloads(component, &settings);
        let total: usize = workloads
            .iter()
            .map(|w| rounds_of(w, mode.rounds()) * w.cases.len())
            .sum();
        let bar = bars.add(ProgressBar::new(total as u64));
        bar.set_style(style.clone());
        bar.set_prefix(component.name());
        let mut done = Vec::new();
        for w in workloads {
            bar.set_message(w.name.clone());
            match measure(w, mode.rounds(), &mut || bar.inc(1)) {
                Ok(r) => done.push(r),
                Err(e) => {
                    bar.abandon_with_message("failed");
                    eprintln!("error: {e}");
                    std::process::exit(1);
                }
            }
        }
        let curves = match component {
            Component::Policy => {
                bar.set_message("hit-ratio curves");
                policy::curves(&settings)
            }
            Component::Alloc => benches::compare::alloc::scaling_curves(&done, &settings),
            _ => Vec::new(),
        };
        bar.finish_with_message("done");
        results.push(ComponentResult {
            component,
            title: component.title().to_owned(),
            workloads: done,
            note,
            curves,
        });
    }
    let report = Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        started_unix,
        measured_secs: start.elapsed().as_secs_f64(),
        machine,
        settings,
        components: results,
    };
    println!("{}", markdown(&report));
    match write_all(&report, &out_dir) {
        Ok(()) => println!(
            "Results written to {} (results.json, results.md, one SVG chart per component).",
            out_dir.display()
        ),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
