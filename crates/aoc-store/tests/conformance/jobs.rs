//! Conformance checks of jobs: queue, claim once, progress and cancel flag, finish, cancel,
//! listing with filters and cursor, and the stale sweep.

use std::collections::HashSet;

use aoc_store::{JobEnd, JobQuery, JobState, NewJob};
use chrono::{Duration, Utc};
use serde_json::json;

use super::Store;

fn new_job(kind: &str, n: i64) -> NewJob {
    NewJob {
        kind: kind.to_string(),
        params: json!({ "n": n, "text": "x\u{0}y", "name": "Zoë" }),
        created_by: format!("Zoë {n}"),
    }
}

fn succeeded(n: i64) -> JobEnd {
    JobEnd {
        state: JobState::Succeeded,
        result: Some(json!({ "stored": n, "lines": ["a", "ß"] })),
        error: None,
    }
}

pub async fn jobs_queue_claim_progress_and_finish(store: Store) {
    let before = Utc::now() - Duration::seconds(1);
    let job = store.create_job(&new_job("fetch", 1)).await.unwrap();
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.kind, "fetch");
    assert_eq!(job.created_by, "Zoë 1");
    assert_eq!(job.params["n"], 1);
    assert!(job.created_at >= before);
    assert!(job.started_at.is_none() && job.finished_at.is_none());
    assert_eq!((job.progress_done, job.progress_total), (0, None));
    assert!(!job.cancel_requested);

    let claimed = store.claim_job("worker-a").await.unwrap().unwrap();
    assert_eq!(claimed.id, job.id);
    assert_eq!(claimed.state, JobState::Running);
    assert_eq!(claimed.worker.as_deref(), Some("worker-a"));
    assert!(claimed.started_at.is_some() && claimed.heartbeat_at.is_some());
    assert!(
        store.claim_job("worker-b").await.unwrap().is_none(),
        "one job, claimed once"
    );

    assert!(!store.job_heartbeat(job.id, 40, Some(100)).await.unwrap());
    let running = store.get_job(job.id).await.unwrap().unwrap();
    assert_eq!(
        (running.progress_done, running.progress_total),
        (40, Some(100))
    );

    assert!(store.finish_job(job.id, &succeeded(7)).await.unwrap());
    let done = store.get_job(job.id).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.result, succeeded(7).result);
    assert!(done.finished_at.is_some());
    // Finished states never change again.
    let failed = JobEnd {
        state: JobState::Failed,
        result: None,
        error: Some("late".into()),
    };
    assert!(!store.finish_job(job.id, &failed).await.unwrap());
    assert!(!store.job_heartbeat(job.id, 1, None).await.unwrap());
    let cancelled = store.cancel_job(job.id).await.unwrap().unwrap();
    assert_eq!(cancelled.state, JobState::Succeeded);
    assert!(!cancelled.cancel_requested);
    assert_eq!(store.get_job(job.id).await.unwrap().unwrap(), done);
    assert!(store.get_job(job.id + 1000).await.unwrap().is_none());
    assert!(store.cancel_job(job.id + 1000).await.unwrap().is_none());
}

pub async fn jobs_claim_oldest_first_each_once(store: Store) {
    let mut ids = Vec::new();
    for n in 0..12 {
        ids.push(store.create_job(&new_job("import", n)).await.unwrap().id);
    }
    let first = store.claim_job("w").await.unwrap().unwrap();
    assert_eq!(first.id, ids[0], "oldest first");
    // Many workers at once: every job claimed exactly once.
    let mut tasks = Vec::new();
    for w in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(job) = store.claim_job(&format!("w{w}")).await.unwrap() {
                got.push(job.id);
            }
            got
        }));
    }
    let mut seen = HashSet::from([first.id]);
    for t in tasks {
        for id in t.await.unwrap() {
            assert!(seen.insert(id), "job {id} claimed twice");
        }
    }
    assert_eq!(seen, ids.into_iter().collect::<HashSet<_>>());
}

pub async fn jobs_cancel_queued_at_once_running_by_flag(store: Store) {
    let queued = store.create_job(&new_job("renormalize", 1)).await.unwrap();
    let cancelled = store.cancel_job(queued.id).await.unwrap().unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert!(cancelled.finished_at.is_some());
    assert!(
        store.claim_job("w").await.unwrap().is_none(),
        "a cancelled job is never claimed"
    );

    let job = store.create_job(&new_job("fetch", 2)).await.unwrap();
    store.claim_job("w").await.unwrap().unwrap();
    let flagged = store.cancel_job(job.id).await.unwrap().unwrap();
    assert_eq!(flagged.state, JobState::Running, "the worker ends it");
    assert!(flagged.cancel_requested);
    assert!(store.job_heartbeat(job.id, 3, None).await.unwrap());
    let end = JobEnd {
        state: JobState::Cancelled,
        result: Some(json!({ "stored": 3 })),
        error: None,
    };
    assert!(store.finish_job(job.id, &end).await.unwrap());
    let got = store.get_job(job.id).await.unwrap().unwrap();
    assert_eq!(got.state, JobState::Cancelled);
    assert_eq!(got.result, Some(json!({ "stored": 3 })));
}

pub async fn jobs_list_newest_first_with_filters_and_cursor(store: Store) {
    let mut ids = Vec::new();
    for n in 0..7 {
        let kind = if n % 2 == 0 { "fetch" } else { "import" };
        ids.push(store.create_job(&new_job(kind, n)).await.unwrap().id);
    }
    // ids[0] runs, ids[1] is cancelled.
    store.claim_job("w").await.unwrap().unwrap();
    store.cancel_job(ids[1]).await.unwrap();

    let all = store
        .list_jobs(&JobQuery {
            limit: 100,
            ..JobQuery::default()
        })
        .await
        .unwrap();
    let got: Vec<i64> = all.iter().map(|j| j.id).collect();
    let mut want = ids.clone();
    want.reverse();
    assert_eq!(got, want, "newest first");
    // Params round-trip; PostgreSQL text cannot hold NUL, which becomes U+FFFD there.
    let text = all.last().unwrap().params["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text == "x\u{0}y" || text == "x\u{FFFD}y", "{text:?}");
    assert_eq!(all.last().unwrap().params["name"], "Zoë");

    let fetches = store
        .list_jobs(&JobQuery {
            kind: Some("fetch".into()),
            limit: 100,
            ..JobQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        fetches.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![ids[6], ids[4], ids[2], ids[0]]
    );
    let queued_imports = store
        .list_jobs(&JobQuery {
            kind: Some("import".into()),
            state: Some(JobState::Queued),
            limit: 100,
            ..JobQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        queued_imports.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![ids[5], ids[3]]
    );
    let running = store
        .list_jobs(&JobQuery {
            state: Some(JobState::Running),
            limit: 100,
            ..JobQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        running.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![ids[0]]
    );

    // Paging by id cursor walks every job once.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store
            .list_jobs(&JobQuery {
                before,
                limit: 3,
                ..JobQuery::default()
            })
            .await
            .unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        seen.extend(page.iter().map(|j| j.id));
    }
    assert_eq!(seen, want);
}

pub async fn jobs_stale_running_become_interrupted(store: Store) {
    let beating = store.create_job(&new_job("fetch", 1)).await.unwrap();
    let dead = store.create_job(&new_job("fetch", 2)).await.unwrap();
    let dead_cancelled = store.create_job(&new_job("import", 3)).await.unwrap();
    let queued = store.create_job(&new_job("import", 4)).await.unwrap();
    for _ in 0..3 {
        store.claim_job("w").await.unwrap().unwrap();
    }
    store.cancel_job(dead_cancelled.id).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let cutoff = Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    store.job_heartbeat(beating.id, 1, None).await.unwrap();

    assert_eq!(store.interrupt_stale_jobs(cutoff).await.unwrap(), 2);
    let got = |id| {
        let store = store.clone();
        async move { store.get_job(id).await.unwrap().unwrap() }
    };
    let interrupted = got(dead.id).await;
    assert_eq!(interrupted.state, JobState::Interrupted);
    assert!(
        interrupted
            .error
            .as_deref()
            .unwrap()
            .contains("interrupted")
    );
    assert!(interrupted.finished_at.is_some());
    assert_eq!(got(dead_cancelled.id).await.state, JobState::Cancelled);
    assert_eq!(got(beating.id).await.state, JobState::Running);
    assert_eq!(got(queued.id).await.state, JobState::Queued);
    // The dead worker's late finish changes nothing.
    assert!(!store.finish_job(dead.id, &succeeded(1)).await.unwrap());
    assert_eq!(got(dead.id).await.state, JobState::Interrupted);
    assert_eq!(store.interrupt_stale_jobs(cutoff).await.unwrap(), 0);
}
