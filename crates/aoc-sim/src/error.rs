use thiserror::Error;

#[derive(Debug, Error)]
pub enum SimError {
    #[error("invalid simulator configuration: {0}")]
    Config(String),
    #[error("simulator I/O: {0}")]
    Io(#[from] std::io::Error),
}
