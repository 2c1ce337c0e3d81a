//! The official conformance suite through `tests/peers/conformance.sh`, as a
//! differential: every check that passes against a server directly must
//! pass through the gateway too.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use super::{run, workspace};

/// Which suite: the stable 0.1.16, or the 0.2 alpha with `--requirements`
/// of one revision.
#[derive(Clone, Copy, Debug)]
pub enum Suite<'a> {
    Stable,
    Next { requirements: &'a str },
}

/// The `PASS` and `FAIL` checks (`scenario/check`) of one run against `url`.
async fn checks(url: &str, name: &str, suite: Suite<'_>) -> (BTreeSet<String>, BTreeSet<String>) {
    let tag = match suite {
        Suite::Stable => "stable".to_owned(),
        Suite::Next { requirements } => format!("next-{requirements}"),
    };
    let out = std::env::temp_dir().join(format!(
        "mcpgw-conformance-{tag}-{name}-{}.txt",
        std::process::id()
    ));
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg(workspace().join("tests/peers/conformance.sh"))
        .arg(url)
        .arg(&out);
    if let Suite::Next { requirements } = suite {
        cmd.args(["--requirements", requirements])
            .env("MCPGW_CONFORMANCE_SUITE", "next");
    }
    run(cmd, Duration::from_secs(600)).await;
    let text = std::fs::read_to_string(&out).expect("summary written");
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_dir_all(out.with_extension("txt.raw"));
    println!("--- conformance {tag}, {name} ---\n{text}");
    let pick = |status: &str| {
        text.lines()
            .filter_map(|l| l.strip_prefix(status))
            .map(|c| c.trim().to_owned())
            .collect::<BTreeSet<_>>()
    };
    (pick("PASS "), pick("FAIL "))
}

/// Run `suite` against `direct` and through the gateway at `via`: the suite
/// must have run, and no check that passes directly may fail through it.
pub async fn differential(direct: &str, via: &str, suite: Suite<'_>) {
    let (direct, _) = checks(direct, "direct", suite).await;
    let (via, via_failed) = checks(via, "through-the-gateway", suite).await;
    assert!(!direct.is_empty(), "the suite ran");
    let lost: Vec<_> = direct.difference(&via).collect();
    println!(
        "{suite:?}: direct {} passed; through the gateway {} passed, {} failed; gained: {:?}; lost: {lost:?}",
        direct.len(),
        via.len(),
        via_failed.len(),
        via.difference(&direct).collect::<Vec<_>>()
    );
    assert!(
        lost.is_empty(),
        "checks that pass directly but fail through the gateway: {lost:?}"
    );
}
