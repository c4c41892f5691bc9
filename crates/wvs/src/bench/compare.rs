//! `wvs bench --compare-binary PATH` / `--compare-serve-arg ARG`: one figure side by side in
//! one command. The same bench runs against two servers, A (the bench's own settings) and B
//! (another executable's `serve`, or extra settings), alternately, A B A B ..., so that a
//! machine that slows down or speeds up during the runs weighs on both alike; each pair's
//! B/A ratio and the range of the ratios are printed.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use super::report::Report;
use super::{Args, run_once};

/// The two servers and every pair's figures.
#[derive(Debug, Serialize)]
pub struct Comparison {
    pub a: Side,
    pub b: Side,
    pub pairs: Vec<Pair>,
    /// B/A of the delivery rate over the pairs.
    pub deliveries_per_second_ratio: Spread,
    /// B/A of the p50 and p99 latency (ack to receipt) over the pairs.
    pub latency_p50_ratio: Spread,
    pub latency_p99_ratio: Spread,
}

/// How one side's server is started.
#[derive(Debug, Serialize)]
pub struct Side {
    pub binary: PathBuf,
    pub serve_args: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Pair {
    pub a: Report,
    pub b: Report,
    pub deliveries_per_second_ratio: f64,
}

/// The lowest, middle and highest of a set of ratios.
#[derive(Debug, Serialize)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Spread {
    fn of(mut values: Vec<f64>) -> Spread {
        values.sort_by(f64::total_cmp);
        let middle = values.len() / 2;
        let median = if values.len().is_multiple_of(2) && middle > 0 {
            (values[middle - 1] + values[middle]) / 2.0
        } else {
            values.get(middle).copied().unwrap_or(f64::NAN)
        };
        Spread {
            min: values.first().copied().unwrap_or(f64::NAN),
            median,
            max: values.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// B/A, or NaN when A measured nothing.
fn ratio(b: f64, a: f64) -> f64 {
    if a > 0.0 { b / a } else { f64::NAN }
}

pub async fn run(args: &Args) -> Result<Comparison> {
    let this = std::env::current_exe().context("finding the wvs executable")?;
    let a = Side {
        binary: args.serve_binary.clone().unwrap_or_else(|| this.clone()),
        serve_args: args.serve_args.clone(),
    };
    let b = Side {
        binary: args
            .compare_binary
            .clone()
            .unwrap_or_else(|| a.binary.clone()),
        serve_args: args
            .serve_args
            .iter()
            .chain(&args.compare_serve_args)
            .cloned()
            .collect(),
    };
    let mut pairs = Vec::new();
    for pair in 1..=args.pairs {
        let a_report = measured(args, "A", pair, &a).await?;
        let b_report = measured(args, "B", pair, &b).await?;
        pairs.push(Pair {
            deliveries_per_second_ratio: ratio(
                b_report.deliveries_per_second,
                a_report.deliveries_per_second,
            ),
            a: a_report,
            b: b_report,
        });
    }
    let spread = |of: fn(&Pair) -> f64| Spread::of(pairs.iter().map(of).collect());
    Ok(Comparison {
        deliveries_per_second_ratio: spread(|p| p.deliveries_per_second_ratio),
        latency_p50_ratio: spread(|p| ratio(p.b.latency_ms.p50, p.a.latency_ms.p50)),
        latency_p99_ratio: spread(|p| ratio(p.b.latency_ms.p99, p.a.latency_ms.p99)),
        a,
        b,
        pairs,
    })
}

/// One run of one side, announced on stderr as it ends (a comparison takes a while).
async fn measured(args: &Args, name: &str, pair: u32, side: &Side) -> Result<Report> {
    let report = run_once(args, Some(&side.binary), &side.serve_args)
        .await
        .with_context(|| format!("run {name} of pair {pair}"))?;
    eprintln!(
        "pair {pair} {name}: {:.0} deliveries/s, p50 {:.2} ms, p99 {:.2} ms",
        report.deliveries_per_second, report.latency_ms.p50, report.latency_ms.p99
    );
    Ok(report)
}

fn shown(side: &Side) -> String {
    let mut line = shown_path(&side.binary);
    line.push_str(" serve");
    for arg in &side.serve_args {
        line.push(' ');
        line.push_str(arg);
    }
    line
}

fn shown_path(path: &Path) -> String {
    path.display().to_string()
}

impl Comparison {
    pub fn text(&self) -> String {
        let mut out = String::new();
        if let Some(first) = self.pairs.first() {
            // The setup line of the plain report: what each run did.
            let setup = first.a.text();
            let _ = writeln!(out, "{}", setup.lines().next().unwrap_or_default());
        }
        let _ = writeln!(out, "A: {}", shown(&self.a));
        let _ = writeln!(out, "B: {}", shown(&self.b));
        let _ = writeln!(
            out,
            "pair  A deliveries/s  B deliveries/s    B/A   A p50 / p99 ms      B p50 / p99 ms      A / B server CPU s"
        );
        for (n, pair) in self.pairs.iter().enumerate() {
            let cpu = |report: &Report| {
                report
                    .server_cpu_seconds
                    .map_or_else(|| "-".to_owned(), |cpu| format!("{cpu:.1}"))
            };
            let _ = writeln!(
                out,
                "{:>4}  {:>14.0}  {:>14.0}  {:>5.2}   {:>7.2} / {:<8.2}  {:>7.2} / {:<8.2}  {} / {}",
                n + 1,
                pair.a.deliveries_per_second,
                pair.b.deliveries_per_second,
                pair.deliveries_per_second_ratio,
                pair.a.latency_ms.p50,
                pair.a.latency_ms.p99,
                pair.b.latency_ms.p50,
                pair.b.latency_ms.p99,
                cpu(&pair.a),
                cpu(&pair.b),
            );
        }
        for (what, spread) in [
            ("deliveries/s", &self.deliveries_per_second_ratio),
            ("p50 latency", &self.latency_p50_ratio),
            ("p99 latency", &self.latency_p99_ratio),
        ] {
            let _ = writeln!(
                out,
                "B/A {what:<13} {:.2}-{:.2} (median {:.2}) over {} pairs",
                spread.min,
                spread.max,
                spread.median,
                self.pairs.len()
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_give_the_range_and_the_middle() {
        let spread = Spread::of(vec![3.0, 1.0, 2.0]);
        assert_eq!((spread.min, spread.median, spread.max), (1.0, 2.0, 3.0));
        let spread = Spread::of(vec![4.0, 1.0, 2.0, 3.0]);
        assert_eq!((spread.min, spread.median, spread.max), (1.0, 2.5, 4.0));
    }

    #[test]
    fn a_ratio_of_nothing_is_not_a_number() {
        assert!(ratio(5.0, 0.0).is_nan());
        assert_eq!(ratio(6.0, 2.0), 3.0);
    }
}
