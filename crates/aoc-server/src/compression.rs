//! Response compression (gzip, brotli) when the client asks for it with Accept-Encoding.
//!
//! The web UI's first load is mostly JavaScript, CSS and the first page of events as JSON, all
//! of which shrink to a fraction: compression is what keeps the first load under its 150 KB
//! budget. Streaming exports are compressed too: the encoder works on the body stream a chunk
//! at a time, so memory stays bounded and the download starts before the export ends (tested in
//! crates/aoc/tests/it/ui_assets.rs).

use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, DefaultPredicate};

/// Bodies smaller than this are sent as they are: the gzip framing alone is ~20 bytes, and
/// /health answers stay byte-for-byte what monitors expect.
const MIN_BYTES: u64 = 256;

pub fn layer() -> CompressionLayer<impl Predicate> {
    // DefaultPredicate already skips images, gRPC and server-sent events (an event stream must
    // reach the browser event by event, which a compressor's buffering would hold back).
    // tower-http's default brotli level is 4, not brotli's 11, which would cost tens of
    // milliseconds per page of JSON for a few percent.
    CompressionLayer::new()
        .gzip(true)
        .br(true)
        .no_deflate()
        .no_zstd()
        .compress_when(DefaultPredicate::new().and(SizeAbove::new(MIN_BYTES)))
}
