//! End-to-end tests through the real boundary: the real server on 127.0.0.1:0 over a temporary
//! database, talked to over HTTP. One test binary (linking is the slow part on 2 cores).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod activity;
mod alerts;
mod api;
mod ask;
mod auth;
mod common;
mod database_faults;
mod deployment;
mod hardening;
mod import;
mod ingest;
mod jobs;
mod list_views;
mod logs;
mod mongo_import;
mod outcomes;
mod privacy;
mod siem;
mod signin;
mod ui_assets;
