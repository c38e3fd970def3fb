//! `aoc import` through the real binary.

use std::process::Command;

use crate::common::fixture;

fn aoc(db: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_aoc"))
        .args(args)
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .env_remove("TENANT_ID")
        .env("AOC_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn importing_twice_stores_once_and_reports_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aoc.db");
    let file = fixture("with-bad-line.jsonl");
    let file = file.to_str().unwrap();

    let (ok, stdout, stderr) = aoc(&db, &["import", file]);
    assert!(ok, "{stdout}\n{stderr}");
    let all = format!("{stdout}\n{stderr}");
    assert!(stdout.contains("5 new"), "{all}");
    assert!(stdout.contains("1 rejected"), "{all}");
    assert!(
        all.contains("line 3"),
        "the bad record's line is named: {all}"
    );

    let (ok, stdout, stderr) = aoc(
        &db,
        &["import", file, fixture("mixed.jsonl").to_str().unwrap()],
    );
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("0 new"), "{stdout}");
    assert!(stdout.contains("10 duplicates"), "{stdout}");
}

#[test]
fn import_of_a_missing_file_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = aoc(
        &dir.path().join("aoc.db"),
        &["import", "/no/such/file.json"],
    );
    assert!(!ok);
    assert!(stderr.contains("/no/such/file.json"), "{stderr}");
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["import", "--help"],
        vec!["maintenance", "--help"],
        vec!["maintenance", "renormalize", "--help"],
        vec!["maintenance", "dedupe", "--help"],
    ] {
        let (ok, stdout, _) = aoc(&dir.path().join("aoc.db"), &args);
        assert!(ok, "{args:?}");
        assert!(stdout.len() > 80, "{args:?}: {stdout}");
    }
}

#[test]
fn invalid_settings_stop_start_up_naming_the_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_aoc"))
        .args(["serve"])
        .env("FETCH_INTERVAL_MINUTES", "often")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("FETCH_INTERVAL_MINUTES"), "{stderr}");
}
