//! Normalizer behaviour over realistic fixtures (crates/aoc-domain/fixtures), one module per
//! concern. One test binary: linking is the slow part.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod actors;
mod dedupe;
mod detect;
mod directory;
mod errors;
mod intune;
mod mappings;
mod modified;
mod outcome;
mod unified;
