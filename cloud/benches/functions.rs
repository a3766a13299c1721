//! Each function of the model as deployed: `cargo bench -p stackgen-cloud --bench functions`.
//!
//! Builds every handler binary with the release profile (what `sam build` ships), starts a
//! moto server, creates the model's resources there, and then, per function, with the
//! environment the rendered template gives it:
//! - init time, process start to first `/next`, over several cold starts (issue 6
//!   target: ≤ 10 ms);
//! - peak RSS (`VmHWM`) after handling its event file from `events/` a number of times,
//!   so the AWS client, the TLS-free HTTP stack and the handler's own work are counted
//!   (target: ≤ 16 MiB);
//! - the warm invoke time of that event (p50, including the moto round trips) and the
//!   binary's size.
//!
//! `COLD_STARTS=N` (default 20) and `INVOKES=N` (default 50) change the sample sizes;
//! `NO_BUILD=1` uses the release binaries already built.

#[path = "../../runtime/benches/support/stats.rs"]
mod stats;

use std::path::Path;
use std::time::{Duration, Instant};

use stackgen::app::App;
use stackgen_cloud::endpoint::{self, Clients, Endpoint};
use stackgen_cloud::functions::{self, ModelFunction, Profile};
use stackgen_cloud::resources;
use stackgen_runtime::{FunctionSpec, InvokeOutcome, LogSink, Runtime};
use stats::{env_number, ms, peak_rss_kib, percentile, verdicts};

/// The event file (under `events/`) each function handles while it is measured.
const EVENTS: &[(&str, &str)] = &[
    ("AuthorizerFunction", "users/authorizer.json"),
    ("UsersFunction", "users/get-user.json"),
    ("CreateOrderFunction", "orders/create-order.json"),
    ("GetOrderFunction", "orders/get-order.json"),
    ("ListOrdersFunction", "orders/list-orders.json"),
    ("EditOrderFunction", "orders/edit-order.json"),
    ("CancelOrderFunction", "orders/cancel-order.json"),
    (
        "UpdateOrderStatusFunction",
        "orderstatus/order-updated.json",
    ),
    ("AddAddressFunction", "userprofile/address-added.json"),
    ("EditAddressFunction", "userprofile/address-updated.json"),
    ("DeleteAddressFunction", "userprofile/address-deleted.json"),
    ("ListAddressesFunction", "userprofile/list-addresses.json"),
    ("ListFavoritesFunction", "userprofile/list-favorites.json"),
    (
        "FavoritesConsumerFunction",
        "userprofile/favorites-batch.json",
    ),
];

const INIT_TARGET: Duration = Duration::from_millis(10);
const RSS_TARGET_KIB: u64 = 16 * 1024;
const PATIENCE: Duration = Duration::from_secs(10);

/// One function's numbers.
struct Row {
    name: String,
    init: Vec<Duration>,
    warm_p50: Duration,
    peak_rss_kib: u64,
    size: u64,
    outcome: &'static str,
}

fn main() {
    let cold_starts = env_number("COLD_STARTS", 20).max(1);
    let invokes = env_number("INVOKES", 50).max(1);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = stackgen::model::load(&root.join("model")).expect("the model parses");
    let app = App::check(model).expect("the model passes its checks");
    let all = functions::all(&app);
    for f in &all {
        assert!(
            EVENTS.iter().any(|(name, _)| *name == f.name),
            "{} has no event file in this bench's EVENTS table",
            f.name
        );
    }

    if std::env::var_os("NO_BUILD").is_none() {
        eprintln!("building {} functions with the release profile…", all.len());
        functions::build(&root, &all, Profile::Release, false).expect("the functions build");
    }
    let bin_dir = functions::bin_dir(&root, Profile::Release).expect("cargo metadata");
    let endpoint = Endpoint::from_option(None, &root).expect("moto server starts");

    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let rows = tokio.block_on(async {
        let clients = Clients::new(endpoint.url()).await;
        let resolved = resources::create(&app, &clients)
            .await
            .expect("the model's resources are created");
        let mut rows = Vec::with_capacity(all.len());
        for f in &all {
            let spec = functions::spec(*f, &resolved, endpoint.url(), &bin_dir)
                .expect("the function's environment resolves");
            let size =
                std::fs::metadata(functions::bootstrap_path(&bin_dir, f)).map_or(0, |m| m.len());
            let mut row = measure(&root, *f, spec, cold_starts, invokes).await;
            row.size = size;
            rows.push(row);
        }
        rows
    });
    drop(endpoint);
    report(&rows, cold_starts, invokes);
}

async fn measure(
    root: &Path,
    f: ModelFunction<'_>,
    spec: FunctionSpec,
    cold_starts: usize,
    invokes: usize,
) -> Row {
    let event_file = EVENTS
        .iter()
        .find(|(name, _)| *name == f.name)
        .map(|(_, file)| root.join("events").join(file))
        .expect("checked in main");
    let event = stackgen_runtime::read_event(&event_file)
        .unwrap_or_else(|e| panic!("{}: {e}", event_file.display()));

    let mut init = Vec::with_capacity(cold_starts);
    let mut warm = Vec::with_capacity(invokes);
    let mut peak_rss_kib = 0;
    let mut outcome = "";
    for start in 0..cold_starts {
        let runtime = Runtime::builder()
            .region(endpoint::REGION)
            .log_sink(LogSink::Discard)
            .function(spec.clone())
            .start()
            .await
            .expect("the runtime starts");
        let ready = runtime
            .wait_ready(f.name, PATIENCE)
            .await
            .unwrap_or_else(|| panic!("{} did not ask for an event", f.name));
        init.push(ready[0].init_duration.expect("an init time once ready"));
        // The last process also handles the event, so its peak RSS includes real work.
        if start + 1 == cold_starts {
            for _ in 0..invokes {
                let t = Instant::now();
                let result = runtime.invoke(f.name, &event).await;
                warm.push(t.elapsed());
                outcome = match result {
                    Ok(InvokeOutcome::Response(_)) => "response",
                    Ok(_) => "function error",
                    Err(e) => panic!("{}: the invocation failed: {e}", f.name),
                };
            }
            let pid = runtime.instances(f.name).expect("known")[0]
                .pid
                .expect("still running");
            peak_rss_kib = peak_rss_kib_of(pid);
        }
        runtime.shutdown().await;
    }
    init.sort();
    warm.sort();
    Row {
        name: f.name.to_owned(),
        init,
        warm_p50: percentile(&warm, 50.0),
        peak_rss_kib,
        size: 0,
        outcome,
    }
}

fn peak_rss_kib_of(pid: u32) -> u64 {
    peak_rss_kib(pid).unwrap_or_else(|| panic!("/proc/{pid}/status is unreadable"))
}

fn report(rows: &[Row], cold_starts: usize, invokes: usize) {
    println!(
        "functions, release build: init over {cold_starts} cold starts, then {invokes} invokes of the event file"
    );
    println!(
        "  {:<28} {:>10} {:>10} {:>10} {:>10} {:>8}  {:<15}",
        "function", "init p50", "init max", "warm p50", "peak RSS", "size", "event result"
    );
    for row in rows {
        println!(
            "  {:<28} {:>10} {:>10} {:>10} {:>6.1} MiB {:>4.1} MiB  {:<15}",
            row.name,
            ms(percentile(&row.init, 50.0)),
            ms(row.init[row.init.len() - 1]),
            ms(row.warm_p50),
            row.peak_rss_kib as f64 / 1024.0,
            row.size as f64 / (1024.0 * 1024.0),
            row.outcome,
        );
    }
    let worst_init = rows
        .iter()
        .map(|r| percentile(&r.init, 50.0))
        .max()
        .unwrap_or_default();
    let worst_rss = rows.iter().map(|r| r.peak_rss_kib).max().unwrap_or(0);
    println!(
        "  slowest init p50 {}, largest peak RSS {:.1} MiB; {}",
        ms(worst_init),
        worst_rss as f64 / 1024.0,
        verdicts(&[
            ("init p50 ≤ 10 ms", worst_init <= INIT_TARGET),
            ("peak RSS ≤ 16 MiB", worst_rss <= RSS_TARGET_KIB),
        ])
    );
}
