//! Response headers that keep pages from being framed, sniffed or cached.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::video::VideoEmbed;

/// Adds the security headers to every response of `router`.
///
/// The content security policy allows only this site's stylesheet and no
/// scripts at all (no page needs one), plus frames from the video host when a
/// video is configured.
pub fn with_headers<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    video: Option<&VideoEmbed>,
) -> Router<S> {
    let frame_src = video.map_or_else(|| "'none'".to_owned(), |video| video.origin().to_owned());
    let policy = format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'; frame-src {frame_src}"
    );

    let headers: [(HeaderName, String); 6] = [
        (header::CONTENT_SECURITY_POLICY, policy),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (header::X_FRAME_OPTIONS, "DENY".to_owned()),
        (header::REFERRER_POLICY, "same-origin".to_owned()),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()".to_owned(),
        ),
        (header::CACHE_CONTROL, "no-store".to_owned()),
    ];

    let mut router = router;
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            router = router.layer(SetResponseHeaderLayer::if_not_present(name, value));
        }
    }
    router
}
