//! `POST /api/ask` and `POST /api/events/{id}/explain`, mounted only with
//! AI_FEATURES_ENABLED=true (see `AI_ROUTES` in lib.rs). Thin: the services in `aoc_app::ask`
//! read the question, apply privacy and talk to the language model.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};

use aoc_app::AppContext;
use aoc_app::ask::{AskAnswer, AskRequest, Explanation};

use super::CallerExt;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiJson;

/// A question in plain language, answered from the events the caller may see. The answer
/// carries the structured query it ran (its filters apply to `/api/events` as they are), the
/// newest matching events, and a count or ranking for counting questions. With a language model
/// configured the answer is its narrative, citing only events returned.
#[utoipa::path(post, path = "/api/ask", tag = "ai", operation_id = "ask",
    request_body = AskRequest,
    responses(
        (status = 200, body = AskAnswer),
        (status = 400, description = "An empty or over-long question, a malformed filter or time zone, or a question whose time range misses the active filters' range", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn ask(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    ApiJson(request): ApiJson<AskRequest>,
) -> ApiResult<Json<AskAnswer>> {
    Ok(Json(ctx.ask(&request, &caller).await?))
}

/// One event explained: what happened, who, what changed (old and new values), why it may
/// matter and what to check next; with a language model, a narrative too.
#[utoipa::path(post, path = "/api/events/{id}/explain", tag = "ai", operation_id = "explain_event",
    params(("id" = String, Path, description = "Event id")),
    responses(
        (status = 200, body = Explanation),
        (status = 404, description = "No such event, or one hidden from the caller", body = ErrorBody),
        (status = 503, description = "The database is unavailable", body = ErrorBody),
    ))]
pub async fn explain(
    State(ctx): State<Arc<AppContext>>,
    CallerExt(caller): CallerExt,
    Path(id): Path<String>,
) -> ApiResult<Json<Explanation>> {
    Ok(Json(ctx.explain(&id, &caller).await?))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::collections::BTreeSet;

    use crate::openapi::{Access, operations};

    fn documented(ai: bool) -> BTreeSet<(String, String)> {
        let doc = crate::api_document_with_ai(
            &Access {
                auth: None,
                rate_limits: true,
            },
            ai,
        );
        let mut out = BTreeSet::new();
        for (path, item) in doc.paths.paths.iter() {
            for (method, _) in operations(item) {
                out.insert((method.to_string(), path.clone()));
            }
        }
        out
    }

    #[test]
    fn the_ai_routes_are_documented_only_when_the_features_are_on() {
        let off = documented(false);
        let on = documented(true);
        let added: BTreeSet<(String, String)> = on.difference(&off).cloned().collect();
        let expected: BTreeSet<(String, String)> = crate::AI_ROUTES
            .iter()
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        assert_eq!(added, expected);
        assert!(off.is_subset(&on));
    }

    #[test]
    fn ask_and_explain_spend_from_the_ask_budget() {
        use crate::limits::Category;
        use axum::http::Method;
        assert_eq!(Category::of(&Method::POST, "/api/ask"), Some(Category::Ask));
        assert_eq!(
            Category::of(&Method::POST, "/api/events/abc/explain"),
            Some(Category::Ask)
        );
        assert_eq!(
            Category::of(&Method::POST, "/api/events/abc/comments"),
            Some(Category::Write)
        );
    }
}
