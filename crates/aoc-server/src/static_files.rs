//! The web UI, embedded in the binary from web/ so it works air-gapped.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

// Only what the browser loads is embedded: the browser tests, their dev-only mock API and
// the npm dev dependency stay out of the binary (`**` so nested folders are excluded whatever
// the glob's separator rule).
#[derive(rust_embed::RustEmbed)]
#[folder = "../../web/"]
#[exclude = "node_modules/**"]
#[exclude = "tests/**"]
#[exclude = "package.json"]
#[exclude = "package-lock.json"]
struct Assets;

pub async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

pub async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

fn serve(path: &str, req: &HeaderMap) -> Response {
    let Some(file) = Assets::get(path) else {
        return ApiError::new(StatusCode::NOT_FOUND, "not found").into_response();
    };
    // Weak, because the compression layer sends other bytes for the same content; the asset
    // names carry no hash, so browsers revalidate every time (no-cache) and get a bodiless 304
    // while the binary is unchanged.
    let etag = format!("W/\"{}\"", hex_prefix(&file.metadata.sha256_hash()));
    let fresh = req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| etag_matches(v, &etag));
    let mut res = if fresh {
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::NOT_MODIFIED;
        res
    } else {
        let mime = mime_guess::from_path(path).first_or_octet_stream();
        let mut res = Response::new(Body::from(file.data.into_owned()));
        if let Ok(v) = HeaderValue::from_str(mime.as_ref()) {
            res.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        res
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// If-None-Match is `*` or a list of tags; comparison is weak (RFC 9110 13.1.2), so a tag the
/// browser kept from either encoding matches.
fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    if_none_match
        .split(',')
        .any(|t| t.trim() == "*" || bare(t) == bare(etag))
}

fn hex_prefix(hash: &[u8; 32]) -> String {
    hash.iter().take(12).map(|b| format!("{b:02x}")).collect()
}
