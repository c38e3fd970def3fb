//! Jobs (`/api/jobs`): long work started with `202` and a job to poll, listed, cancelled. The
//! queue and its worker live in `aoc_app::jobs`; these routes translate, and the import route
//! streams its upload to disk first.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use tokio::io::AsyncWriteExt;

use aoc_app::AppContext;
use aoc_app::jobs::{FetchJobRequest, JobListParams, JobPage, JobView, Upload};

use super::CallerExt;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};

/// A started job: `202 Accepted` with the job to poll at `GET /api/jobs/{id}`.
pub(crate) type Started = (StatusCode, Json<JobView>);

fn accepted(job: JobView) -> Started {
    (StatusCode::ACCEPTED, Json(job))
}

fn job_id(id: &str) -> Result<i64, ApiError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::not_found(format!("no job {id}")))
}

/// Jobs newest first, optionally one state and/or kind.
#[utoipa::path(get, path = "/api/jobs", tag = "jobs", operation_id = "list_jobs",
    params(JobListParams),
    responses(
        (status = 200, body = JobPage),
        (status = 400, description = "An unknown state or kind, a bad limit or cursor", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn list(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiQuery(params): ApiQuery<JobListParams>,
) -> ApiResult<Json<JobPage>> {
    Ok(Json(ctx.jobs().list(&params, &caller).await?))
}

/// One job: its state, progress, params, result and error.
#[utoipa::path(get, path = "/api/jobs/{id}", tag = "jobs", operation_id = "get_job",
    params(("id" = i64, Path, description = "The job's id")),
    responses(
        (status = 200, body = JobView),
        (status = 404, description = "No such job", body = ErrorBody),
    ))]
pub async fn get(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    Path(id): Path<String>,
) -> ApiResult<Json<JobView>> {
    Ok(Json(ctx.jobs().get(job_id(&id)?, &caller).await?))
}

/// Cancel a job: a queued one at once (`200`, state `cancelled`); a running one stops within
/// a couple of seconds (`202`, `cancel_requested` true; poll for `cancelled`). A finished job
/// is returned unchanged (`200`).
#[utoipa::path(delete, path = "/api/jobs/{id}", tag = "jobs", operation_id = "cancel_job",
    params(("id" = i64, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The job is finished (cancelled now or before)", body = JobView),
        (status = 202, description = "The running job will stop shortly", body = JobView),
        (status = 404, description = "No such job", body = ErrorBody),
    ))]
pub async fn cancel(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<JobView>)> {
    let job = ctx.jobs().cancel(job_id(&id)?, &caller).await?;
    let status = if job.state.is_finished() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(job)))
}

/// Fetch from Microsoft 365 as a job. The body is optional (`{}` or none: every source, the
/// default window).
#[utoipa::path(post, path = "/api/jobs/fetch", tag = "jobs", operation_id = "start_fetch_job",
    request_body(content = Option<FetchJobRequest>, content_type = "application/json"),
    responses(
        (status = 202, description = "Queued", body = JobView),
        (status = 400, description = "A malformed body, an unknown source", body = ErrorBody),
        (status = 503, description = "Fetching is not configured (TENANT_ID, CLIENT_ID, \
            CLIENT_SECRET), or the database is unavailable", body = ErrorBody),
    ))]
pub async fn start_fetch(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    body: Bytes,
) -> ApiResult<Started> {
    let request: FetchJobRequest = if body.iter().all(u8::is_ascii_whitespace) {
        FetchJobRequest::default()
    } else {
        // An object or null only: serde would also read a struct from an array.
        match serde_json::from_slice::<serde_json::Value>(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
        {
            serde_json::Value::Null => FetchJobRequest::default(),
            serde_json::Value::Object(mut object) => {
                // JSON Schema counts 435.0 as an integer; serde's i64 would not.
                if let Some(hours) = object.get_mut("hours")
                    && let Some(h) = hours.as_f64()
                    && h.fract() == 0.0
                    && h.abs() < 1e15
                {
                    *hours = serde_json::Value::from(h as i64);
                }
                serde_json::from_value(serde_json::Value::Object(object))
                    .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?
            }
            _ => {
                return Err(ApiError::bad_request(
                    "invalid JSON body: expected an object such as {\"hours\": 24}",
                ));
            }
        }
    };
    Ok(accepted(ctx.jobs().start_fetch(&request, &caller).await?))
}

/// Renormalize every stored event as a job (`aoc maintenance renormalize`).
#[utoipa::path(post, path = "/api/jobs/renormalize", tag = "jobs",
    operation_id = "start_renormalize_job",
    responses(
        (status = 202, description = "Queued", body = JobView),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn start_renormalize(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
) -> ApiResult<Started> {
    Ok(accepted(ctx.jobs().start_renormalize(&caller).await?))
}

/// Back-test a rule as a job: the body of `POST /api/rules/test`; the result is its answer.
#[utoipa::path(post, path = "/api/jobs/rule-test", tag = "jobs",
    operation_id = "start_rule_test_job",
    request_body = aoc_app::alerting::RuleTest,
    responses(
        (status = 202, description = "Queued", body = JobView),
        (status = 400, description = "A malformed test (days out of range, no rule object)", body = ErrorBody),
    ))]
pub async fn start_rule_test(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiJson(test): ApiJson<Value>,
) -> ApiResult<Started> {
    Ok(accepted(ctx.jobs().start_rule_test(test, &caller).await?))
}

/// `POST /api/jobs/import` query parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The uploaded file's name (shown in the job; its extension helps tell CSV from JSON).
    #[param(min_length = 1, max_length = 255, pattern = r"\S")]
    pub filename: Option<String>,
}

/// Import a Purview CSV, JSON or JSON-lines export as a job. The file is the raw request body
/// (any content type); it is streamed to disk (IMPORT_UPLOAD_DIR), never held in memory, and
/// removed when the job ends.
#[utoipa::path(post, path = "/api/jobs/import", tag = "jobs", operation_id = "start_import_job",
    params(ImportQuery),
    request_body(content = String, content_type = "application/octet-stream",
        description = "The export file's bytes"),
    responses(
        (status = 202, description = "Stored and queued", body = JobView),
        (status = 400, description = "No filename, or an empty body", body = ErrorBody),
        (status = 413, description = "Larger than IMPORT_MAX_UPLOAD_MB", body = ErrorBody),
        (status = 503, description = "The upload could not be written, or the database is \
            unavailable", body = ErrorBody),
    ))]
pub async fn start_import(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiQuery(query): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Started> {
    let filename = query
        .filename
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty() && f.chars().count() <= 255)
        .ok_or_else(|| ApiError::bad_request("filename: the uploaded file's name is required"))?
        .to_string();
    let limit = ctx.settings.import_max_upload_bytes;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the file is larger than IMPORT_MAX_UPLOAD_MB ({} MB)",
                limit / (1024 * 1024)
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let dir = ctx
        .settings
        .import_upload_dir
        .as_ref()
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let path = dir.join(upload_name(&filename));
    let bytes = match receive(body, &dir, &path, limit).await {
        Ok(n) => n,
        Err(e) => {
            // Nothing half-written stays behind.
            let _ = tokio::fs::remove_file(&path).await;
            return Err(match e {
                Receive::TooLarge => too_large(),
                Receive::Body(e) => ApiError::bad_request(format!("upload interrupted: {e}")),
                Receive::Disk(e) => {
                    tracing::error!(file = %path.display(), error = %e, "cannot write an import upload");
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the upload could not be written to disk (IMPORT_UPLOAD_DIR)",
                    )
                }
            });
        }
    };
    if bytes == 0 {
        let _ = tokio::fs::remove_file(&path).await;
        return Err(ApiError::bad_request("the uploaded file is empty"));
    }
    let upload = Upload {
        path: path.clone(),
        filename,
        bytes,
    };
    match ctx.jobs().start_import(&upload, &caller).await {
        Ok(job) => Ok(accepted(job)),
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            Err(e.into())
        }
    }
}

enum Receive {
    TooLarge,
    Body(axum::Error),
    Disk(std::io::Error),
}

/// A fresh file name for an upload: never the client's name (which could hold a path), but
/// its extension when it is a plain one, so format detection sees `.csv` / `.jsonl`.
fn upload_name(filename: &str) -> String {
    let ext = FsPath::new(filename)
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| e.len() <= 8 && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|e| format!(".{}", e.to_ascii_lowercase()))
        .unwrap_or_default();
    format!("aoc-upload-{}{ext}", uuid::Uuid::new_v4().simple())
}

/// Stream the body into `path`, at most `limit` bytes; returns how many were written.
async fn receive(body: Body, dir: &FsPath, path: &FsPath, limit: u64) -> Result<u64, Receive> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(Receive::Disk)?;
    let mut file = tokio::fs::File::create_new(path)
        .await
        .map_err(Receive::Disk)?;
    let mut stream = body.into_data_stream();
    let mut written: u64 = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(Receive::Body)?;
        written += chunk.len() as u64;
        if written > limit {
            return Err(Receive::TooLarge);
        }
        file.write_all(&chunk).await.map_err(Receive::Disk)?;
    }
    file.flush().await.map_err(Receive::Disk)?;
    file.sync_all().await.map_err(Receive::Disk)?;
    Ok(written)
}
