//! Who a tool call is made for.

use aoc_app::Caller;
use rmcp::ErrorData;
use rmcp::model::Extensions;

/// Where the caller of a request comes from.
#[derive(Clone, Debug)]
pub enum CallerSource {
    /// One caller for the whole session: `aoc mcp` over stdio runs as `Caller::system("mcp")`,
    /// which has no privacy role.
    Fixed(Caller),
    /// The caller the HTTP front door put on each request (its auth layer, or anonymous when
    /// sign-in is off). Read per request, so every message answers to its own token.
    Http,
}

impl CallerSource {
    /// The caller of one MCP request. Over HTTP a request without one is refused rather than
    /// served as anyone: it means the router was mounted without the layer that sets it.
    pub(crate) fn resolve(&self, extensions: &Extensions) -> Result<Caller, ErrorData> {
        match self {
            CallerSource::Fixed(caller) => Ok(caller.clone()),
            CallerSource::Http => extensions
                .get::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<Caller>())
                .cloned()
                .ok_or_else(|| {
                    ErrorData::internal_error("no caller on the request".to_string(), None)
                }),
        }
    }
}

/// What a costly tool call (one that may call a language model: `ask`, `explain_event`) spends
/// from the caller's budget, as `/api/ask` does. The HTTP front door puts one on each request
/// with the caller's key bound; Err carries how long to wait. Absent (stdio, limits off): free.
#[derive(Clone)]
pub struct CostlyCallGate(
    pub  std::sync::Arc<
        dyn Fn() -> futures::future::BoxFuture<'static, Result<(), std::time::Duration>>
            + Send
            + Sync,
    >,
);

impl CostlyCallGate {
    pub(crate) async fn spend(extensions: &Extensions) -> Result<(), std::time::Duration> {
        let gate = extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<CostlyCallGate>())
            .cloned();
        match gate {
            Some(gate) => (gate.0)().await,
            None => Ok(()),
        }
    }
}
