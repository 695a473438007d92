//! Ballista: a scheduler and two executors, each its own process on this machine (this test
//! binary started again in a role), talking over loopback. The standard report query through
//! them equals DataFusion's on one machine and the engine's (`sla_report --json`), R36.
//!
//! Ignored by `cargo test` because it starts processes; `.ci/run` runs it with
//! `cargo test -p sla-metrics-datafusion --test ballista -- --ignored`.

mod common;

use common::*;
use datafusion::execution::SessionState;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The role of a node process: `scheduler` or `executor`.
const ROLE: &str = "SLA_BALLISTA_ROLE";
/// The SPEC §11 configuration every node registers the functions with.
const CONFIG: &str = "SLA_BALLISTA_CONFIG";
/// The scheduler's URL, for executors.
const SCHEDULER: &str = "SLA_BALLISTA_SCHEDULER";

/// A session state with the sla-metrics functions, as every node and the client need it.
fn state(config: &str) -> SessionState {
    use ballista::prelude::SessionConfigExt;
    let ctx = SessionContext::new_with_config(SessionConfig::new_with_ballista().with_target_partitions(2));
    sla_metrics_datafusion::register(&ctx, config).unwrap();
    ctx.state()
}

/// Not a test of its own: the body of a node process that `ballista_report_equals_the_engine`
/// starts. Without the role variable (a plain `--ignored` run) it returns at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a Ballista node; started by ballista_report_equals_the_engine"]
async fn ballista_node() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let state = state(&std::env::var(CONFIG).unwrap());
    match role.as_str() {
        "scheduler" => {
            let addr = ballista_scheduler::standalone::new_standalone_scheduler_from_state(&state)
                .await
                .unwrap();
            println!("SLA-NODE-READY {}", addr.port());
        }
        "executor" => {
            let url = std::env::var(SCHEDULER).unwrap();
            let scheduler =
                ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient::connect(url)
                    .await
                    .unwrap();
            ballista_executor::new_standalone_executor_from_state(scheduler, 1, &state)
                .await
                .unwrap();
            println!("SLA-NODE-READY executor");
        }
        other => panic!("unknown role {other}"),
    }
    // Serve until the test kills this process.
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

/// The node processes, killed when dropped (also when the test fails).
struct Cluster(Vec<Child>);

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Cluster {
    /// Starts a node and waits for its ready line; returns what follows `SLA-NODE-READY`.
    fn start(&mut self, role: &str, config: &str, scheduler: Option<&str>) -> String {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "ballista_node",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, role)
        .env(CONFIG, config)
        .stdout(Stdio::piped());
        if let Some(url) = scheduler {
            cmd.env(SCHEDULER, url);
        }
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        self.0.push(child);
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            // The test harness may have written `test ballista_node ... ` on the same line.
            if let Some((_, rest)) = line.split_once("SLA-NODE-READY ") {
                return rest.trim().to_owned();
            }
        }
        panic!("the {role} process exited before it was ready");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts a Ballista scheduler and two executors as processes; .ci/run runs it"]
async fn ballista_report_equals_the_engine() {
    use ballista::prelude::SessionContextExt;
    for (name, config, seed) in [("default", DEFAULT, 11), ("business", BUSINESS, 12)] {
        let data = hostile_stream(seed, 1200);
        let (dir, jsonl) = write_events(&format!("ballista-{name}"), &data);
        // Executors read the files themselves: Parquet with the events columns.
        let parquet = dir.join("events.parquet");
        sla_metrics_datafusion::write_parquet(&jsonl, &parquet).unwrap();

        let mut cluster = Cluster(Vec::new());
        let port = cluster.start("scheduler", config, None);
        let url = format!("http://localhost:{port}");
        cluster.start("executor", config, Some(&url));
        cluster.start("executor", config, Some(&url));

        let ctx = SessionContext::remote_with_state(&format!("df://localhost:{port}"), state(config))
            .await
            .unwrap();
        // Ballista 55 ships the client's optimized logical plan to the scheduler, and a plan
        // where this rule extracted `c['report']` into a projection below the aggregate does
        // not decode there ("No field named sla_report(__datafusion_extracted_1)").
        assert!(ctx.remove_optimizer_rule("extract_leaf_expressions"));
        // The client plans the query: `sql_run` registers the functions on it too (the
        // Ballista upgrade of the state does not keep them).
        let (report, _) = sql_run(&ctx, config, &parquet).await;
        let got = serde_json::to_value(&report).unwrap();

        let expected = engine_report(&data, config);
        assert!(expected["rejected"]["count"].as_u64().unwrap() > 0);
        assert_same(&got, &expected, &format!("{name}: Ballista vs engine"));
        let (local, _) = sql_report(&parquet, config, 2).await;
        assert_same(&got, &local, &format!("{name}: Ballista vs DataFusion"));
        drop(cluster);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
