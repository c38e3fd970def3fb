//! Saved searches as MCP resources: the caller's own and the shared ones, as the REST API lists
//! them. Reading one gives its filters, ready to pass to `search_events`.

use aoc_app::alerting::SavedSearchView;
use aoc_app::{AppContext, AppError, Caller};
use rmcp::ErrorData;
use rmcp::model::{
    ListResourcesResult, ReadResourceResponse, ReadResourceResult, Resource, ResourceContents,
};

pub const PREFIX: &str = "aoc://saved-searches/";

pub fn uri_of(search: &SavedSearchView) -> String {
    format!("{PREFIX}{}", search.id)
}

fn store_error(e: AppError) -> ErrorData {
    match e {
        AppError::NotFound(m) => ErrorData::resource_not_found(m, None),
        AppError::BadRequest(m) | AppError::Forbidden(m) => ErrorData::invalid_params(m, None),
        other => {
            tracing::warn!(error = %other, "MCP resource read failed");
            ErrorData::internal_error("the database is unavailable".to_string(), None)
        }
    }
}

pub async fn list(ctx: &AppContext, caller: &Caller) -> Result<ListResourcesResult, ErrorData> {
    let searches = ctx.saved_searches.list(caller).await.map_err(store_error)?;
    let items = searches
        .iter()
        .map(|s| {
            Resource::new(uri_of(s), s.name.clone())
                .with_description(format!(
                    "Saved search{} (filters for search_events)",
                    if s.shared { ", shared" } else { "" }
                ))
                .with_mime_type("application/json")
        })
        .collect();
    Ok(ListResourcesResult::with_all_items(items))
}

pub async fn read(
    ctx: &AppContext,
    uri: &str,
    caller: &Caller,
) -> Result<ReadResourceResponse, ErrorData> {
    let Some(id) = uri.strip_prefix(PREFIX).filter(|id| !id.is_empty()) else {
        return Err(ErrorData::resource_not_found(
            format!("no resource {}", crate::render::one_line(uri)),
            None,
        ));
    };
    let search = ctx
        .saved_searches
        .get(id, caller)
        .await
        .map_err(store_error)?;
    let text = serde_json::to_string_pretty(&search)
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
    let contents = match ResourceContents::text(text, uri) {
        ResourceContents::TextResourceContents {
            uri, text, meta, ..
        } => ResourceContents::TextResourceContents {
            uri,
            mime_type: Some("application/json".into()),
            text,
            meta,
        },
        other => other,
    };
    Ok(ReadResourceResult::new(vec![contents]).into())
}
