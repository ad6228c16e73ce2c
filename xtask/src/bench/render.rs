//! The native part's output: the table on stderr and the `--json` values.

use super::{Artifact, InputReport, Measured, Tool, ratio, same_bytes, secs, stats};
use crate::report;
use std::time::Duration;

fn kiln_median(r: &InputReport) -> Option<Duration> {
    r.results
        .iter()
        .find(|m| m.tool == Tool::Kiln)
        .map(|m| stats(&m.times).0)
}

/// Median CPU time, when every run had one.
fn cpu_median(m: &Measured) -> Option<Duration> {
    (!m.cpu.is_empty()).then(|| stats(&m.cpu).0)
}

fn kiln_cpu_median(r: &InputReport) -> Option<Duration> {
    r.results
        .iter()
        .find(|m| m.tool == Tool::Kiln)
        .and_then(cpu_median)
}

pub(super) fn human(r: &InputReport, runs: usize) -> String {
    let kiln = kiln_median(r);
    let kiln_cpu = kiln_cpu_median(r);
    let size = |a: &Option<Artifact>| {
        a.as_ref()
            .map_or_else(|| "-".to_string(), |a| report::human_size(a.size))
    };
    let mut rows: Vec<Vec<String>> = r
        .results
        .iter()
        .map(|m| {
            let (median, min, max) = stats(&m.times);
            vec![
                m.tool.label().to_string(),
                secs(median),
                format!("{}–{}", secs(min), secs(max)),
                ratio(median, kiln).map_or_else(|| "n/a".to_string(), |x| format!("{x:.2}x")),
                cpu_median(m).map_or_else(|| "n/a".to_string(), secs),
                cpu_median(m)
                    .and_then(|c| ratio(c, kiln_cpu))
                    .map_or_else(|| "n/a".to_string(), |x| format!("{x:.2}x")),
                peak(m.peak_kib),
                size(&m.sdist),
                size(&m.wheel),
            ]
        })
        .collect();
    if let Some(e) = &r.kiln_error {
        let first = e.lines().next().unwrap_or("");
        rows.insert(
            0,
            vec![
                Tool::Kiln.label().to_string(),
                report::bad("failed"),
                first.to_string(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
            ],
        );
    }
    let mut text = format!(
        "\n{} project: {} files, {} ({} run{} after 1 warm-up; ratio = tool median / kiln median, >1 means kiln is faster; CPU = user + system of the process tree; peak RSS = the largest resident set in it, highest over the runs)\n",
        r.input.name,
        r.input.files,
        report::human_size(r.input.bytes),
        runs,
        if runs == 1 { "" } else { "s" }
    );
    text.push_str(&report::table(
        &[
            "tool",
            "median",
            "min–max",
            "vs kiln",
            "CPU",
            "CPU vs kiln",
            "peak RSS",
            "sdist",
            "wheel",
        ],
        &rows,
    ));
    text.push_str(&format!(
        "compressor limit (kiln's deflate alone over the same bytes, files in memory, all threads): {}; kiln's median is {} of it\n",
        secs(r.input.limit),
        kiln.map_or_else(
            || "n/a".to_string(),
            |k| format!("{:.2}x", k.as_secs_f64() / r.input.limit.as_secs_f64().max(1e-9))
        )
    ));
    if let Some(check) = &r.thread_check {
        let verdict = if same_bytes(&check.many, &check.one) {
            report::ok("identical")
        } else {
            report::bad("DIFFERENT")
        };
        text.push_str(&format!(
            "kiln threads: {} (rayon default = cores); one thread took {}; artifacts {verdict}:\n",
            check.threads,
            secs(check.one_time)
        ));
        let rows: Vec<Vec<String>> = check
            .many
            .iter()
            .zip(&check.one)
            .flat_map(|(many, one)| {
                [
                    vec![
                        format!("  {}", many.filename),
                        format!("{} threads", check.threads),
                        many.sha256.clone(),
                    ],
                    vec![
                        format!("  {}", one.filename),
                        "1 thread".to_string(),
                        one.sha256.clone(),
                    ],
                ]
            })
            .collect();
        text.push_str(&report::table(&["  artifact", "kiln", "sha256"], &rows));
    }
    text
}

/// A peak in KiB as the tables show it.
fn peak(kib: Option<u64>) -> String {
    kib.map_or_else(|| "n/a".to_string(), |k| report::human_size(k * 1024))
}

/// One line after the inputs' tables: kiln's peak memory on each input
/// beside the input's size, so a reader sees whether it grows with it.
pub(super) fn kiln_memory(
    reports: &[InputReport],
    probe: Option<&kiln_report::BenchMemoryProbe>,
) -> String {
    let mut each: Vec<String> = reports
        .iter()
        .map(|r| {
            let kiln = r.results.iter().find(|m| m.tool == Tool::Kiln);
            format!(
                "{} {} → {}",
                r.input.name,
                report::human_size(r.input.bytes),
                peak(kiln.and_then(|m| m.peak_kib))
            )
        })
        .collect();
    if let Some(p) = probe {
        each.push(format!(
            "{} {} files {} (kiln alone, one build) → {}",
            p.name,
            p.py_files,
            report::human_size(p.py_bytes),
            peak(Some(p.peak_rss_kib))
        ));
    }
    format!(
        "\nkiln peak memory (an input's sources → kiln's peak RSS building them): {}\n",
        each.join(", ")
    )
}

pub(super) fn input_report(r: &InputReport) -> kiln_report::BenchInput {
    let kiln = kiln_median(r);
    let kiln_cpu = kiln_cpu_median(r);
    let results = r
        .results
        .iter()
        .map(|m| {
            let (median, min, max) = stats(&m.times);
            kiln_report::BenchResult {
                tool: m.tool.key().to_owned(),
                label: m.tool.label().to_owned(),
                median_seconds: median.as_secs_f64(),
                min_seconds: min.as_secs_f64(),
                max_seconds: max.as_secs_f64(),
                times_seconds: m.times.iter().map(Duration::as_secs_f64).collect(),
                ratio_to_kiln: ratio(median, kiln),
                sdist: m.sdist.clone(),
                wheel: m.wheel.clone(),
                cpu_times_seconds: m.cpu.iter().map(Duration::as_secs_f64).collect(),
                cpu_median_seconds: cpu_median(m).map(|c| c.as_secs_f64()),
                cpu_ratio_to_kiln: cpu_median(m).and_then(|c| ratio(c, kiln_cpu)),
                peak_rss_kib: m.peak_kib,
            }
        })
        .collect();
    let thread_check = r.thread_check.as_ref().map(|c| {
        let list = |v: &[Artifact]| {
            v.iter()
                .map(|a| kiln_report::ThreadCheckArtifact {
                    filename: a.filename.clone(),
                    sha256: a.sha256.clone(),
                })
                .collect()
        };
        kiln_report::ThreadCheck {
            threads: c.threads,
            artifacts: list(&c.many),
            single_thread_artifacts: list(&c.one),
            single_thread_seconds: c.one_time.as_secs_f64(),
            identical: same_bytes(&c.many, &c.one),
        }
    });
    kiln_report::BenchInput {
        name: r.input.name.clone(),
        py_files: r.input.files,
        py_bytes: r.input.bytes,
        results,
        kiln_error: r.kiln_error.clone(),
        thread_check,
        compressor_limit_seconds: r.input.limit.as_secs_f64(),
        kiln_over_limit: kiln.map(|k| k.as_secs_f64() / r.input.limit.as_secs_f64().max(1e-9)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Input;
    use super::*;

    fn measured(tool: Tool, ms: u64, peak_kib: Option<u64>) -> Measured {
        Measured {
            tool,
            times: vec![Duration::from_millis(ms)],
            cpu: vec![Duration::from_millis(ms)],
            peak_kib,
            sdist: None,
            wheel: None,
        }
    }

    fn input(name: &str, bytes: u64, results: Vec<Measured>) -> InputReport {
        InputReport {
            input: Input {
                name: name.into(),
                files: 3,
                bytes,
                dirs: Vec::new(),
                limit: Duration::from_millis(1),
            },
            results,
            kiln_error: None,
            thread_check: None,
        }
    }

    fn row<'a>(text: &'a str, label: &str) -> &'a str {
        text.lines().find(|l| l.starts_with(label)).unwrap_or("")
    }

    #[test]
    fn the_table_has_a_peak_rss_column() {
        let r = input(
            "small",
            9 * 1024,
            vec![
                measured(Tool::Kiln, 10, Some(12 * 1024)),
                measured(Tool::Uv, 20, Some(30 * 1024)),
                measured(Tool::Flit, 30, None),
            ],
        );
        let text = human(&r, 1);
        assert!(text.contains("peak RSS"), "{text}");
        assert!(row(&text, "kiln build").contains("12.0 MiB"), "{text}");
        assert!(row(&text, "uv build").contains("30.0 MiB"), "{text}");
        assert!(row(&text, "python -m build (flit_core)").contains("n/a"));
        let json = input_report(&r);
        let peaks: Vec<_> = json.results.iter().map(|m| m.peak_rss_kib).collect();
        assert_eq!(peaks, [Some(12 * 1024), Some(30 * 1024), None]);
    }

    #[test]
    fn a_failed_kiln_row_spans_the_columns() {
        let mut r = input("small", 1, vec![measured(Tool::Uv, 20, Some(1024))]);
        r.kiln_error = Some("boom\nmore".into());
        let text = human(&r, 1);
        assert!(row(&text, "kiln build").contains("boom"), "{text}");
        assert!(row(&text, "uv build").contains("1.0 MiB"), "{text}");
    }

    #[test]
    fn kilns_peak_memory_is_set_beside_each_inputs_size() {
        let reports = [
            input(
                "small",
                9 * 1024,
                vec![measured(Tool::Kiln, 1, Some(10 * 1024))],
            ),
            input(
                "large",
                50 << 20,
                vec![measured(Tool::Kiln, 1, Some(11 * 1024))],
            ),
            input("sympy", 1 << 20, vec![measured(Tool::Uv, 1, Some(1))]),
        ];
        assert_eq!(
            kiln_memory(&reports, None),
            "\nkiln peak memory (an input's sources → kiln's peak RSS building them): \
             small 9.0 KiB → 10.0 MiB, large 50.0 MiB → 11.0 MiB, sympy 1.0 MiB → n/a\n"
        );
        let probe = kiln_report::BenchMemoryProbe {
            name: "huge".into(),
            py_files: 20_000,
            py_bytes: 200 << 20,
            seconds: 3.0,
            peak_rss_kib: 12 * 1024,
        };
        assert!(
            kiln_memory(&reports[..1], Some(&probe)).ends_with(
                "small 9.0 KiB → 10.0 MiB, huge 20000 files 200.0 MiB (kiln alone, one build) → 12.0 MiB\n"
            ),
            "{}",
            kiln_memory(&reports[..1], Some(&probe))
        );
    }
}
