//! Render time and peak memory: the app's model, then synthetic models of 250, 500 and 1,000
//! functions with as many routes (to show growth is linear). Run with `cargo bench -p stackgen`.
//! Peak memory is the process's high-water mark (VmHWM, Linux), so the first line is the
//! app's model on its own.

use std::path::Path;
use std::time::{Duration, Instant};

use stackgen::app::App;
use stackgen::render::Renderer;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Load, check and render `root` once; the best of `runs` wall times.
fn measure(root: &Path, runs: usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut bytes = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let model = stackgen::model::load(&root.join("model")).expect("model");
        let app = App::check(model).expect("checks");
        let files = Renderer::new(&root.join("templates"))
            .expect("templates")
            .render_all(&app)
            .expect("render");
        best = best.min(start.elapsed());
        bytes = files.iter().map(|(_, t)| t.len()).sum();
    }
    (best, bytes)
}

fn synthetic(root: &Path, functions: usize) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::create_dir_all(root.join("model")).unwrap();
    std::fs::copy(repo.join("model/app.yaml"), root.join("model/app.yaml")).unwrap();
    let mut y = String::from(
        "service: big\ndescription: synthetic\ntables:\n  ItemsTable:\n    partition_key: { name: id }\nfunctions:\n",
    );
    for i in 0..functions {
        y.push_str(&format!(
            "  F{i}Function:\n    crate: big\n    bin: f{i}\n    description: function {i}\n    environment:\n      ITEMS_TABLE: {{ table: ItemsTable }}\n    permissions:\n      - {{ table: ItemsTable, access: read }}\n"
        ));
    }
    y.push_str("apis:\n  BigApi:\n    stage: Prod\n    description: synthetic\n    routes:\n");
    for i in 0..functions {
        y.push_str(&format!(
            "      - {{ route: \"GET /r{i}/{{id}}\", integration: {{ function: F{i}Function }} }}\n"
        ));
    }
    std::fs::write(root.join("model/big.yaml"), y).unwrap();
    let templates = root.join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    for t in ["service.yaml", "root.yaml"] {
        std::fs::copy(repo.join("templates").join(t), templates.join(t)).unwrap();
    }
}

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let (t, bytes) = measure(&repo, 20);
    println!(
        "app model (4 services): {:>8.2} ms  {:>8} bytes  peak RSS {:.1} MiB",
        t.as_secs_f64() * 1e3,
        bytes,
        peak_rss_mib()
    );
    for n in [250, 500, 1000] {
        let tmp = tempfile::tempdir().unwrap();
        synthetic(tmp.path(), n);
        let (t, bytes) = measure(tmp.path(), 3);
        println!(
            "{n:>5} functions + routes: {:>8.2} ms  {:>8} bytes  peak RSS {:.1} MiB",
            t.as_secs_f64() * 1e3,
            bytes,
            peak_rss_mib()
        );
    }
}
