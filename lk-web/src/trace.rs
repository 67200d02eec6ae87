//! Request spans named by the matched route template, never the raw URI
//! (an upload path or query could carry personal data).

use axum::Router;
use axum::extract::MatchedPath;
use axum::http::Request;
use tower_http::trace::TraceLayer;
use tracing::info_span;

/// Wraps every request in a span with its method and route template.
pub fn with_tracing<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router.layer(
        TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            let route = request
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str);
            info_span!("request", method = %request.method(), route)
        }),
    )
}
