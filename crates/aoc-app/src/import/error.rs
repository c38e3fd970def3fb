use std::io;
use std::path::PathBuf;

use aoc_store::StoreError;

/// Why an import (or the reading of one file) failed as a whole. Records that cannot be read
/// are not errors: they are reported with their location and the rest carry on.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {source}", file.display())]
    Io { file: PathBuf, source: io::Error },
    #[error("{}: not an audit log export AOC can read: {reason}", file.display())]
    UnknownFormat { file: PathBuf, reason: String },
    #[error("storing imported events failed: {0}")]
    Store(StoreError),
    /// The reading thread ended abnormally (it panicked or the runtime shut down).
    #[error("the file reader stopped unexpectedly: {0}")]
    Reader(String),
}

// By hand rather than `#[from]`: the message already holds the cause, and a `source` too would
// print it twice in a chain.
impl From<StoreError> for ImportError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl ImportError {
    pub(crate) fn io(file: impl Into<PathBuf>, source: io::Error) -> Self {
        ImportError::Io {
            file: file.into(),
            source,
        }
    }
}
