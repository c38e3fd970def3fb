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
