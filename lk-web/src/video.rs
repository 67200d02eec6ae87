//! Turning the configured video link into something a page can embed.

/// A video the statuses page embeds in a frame, or links to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoEmbed {
    /// The link as configured, for the «open in a new tab» fallback.
    pub page_url: String,
    /// The address to put into the frame, when the host is known to allow embedding.
    pub embed_url: Option<String>,
    origin: String,
}

impl VideoEmbed {
    /// Builds the embed for an http(s) link; YouTube and Rutube links get
    /// their embed address, other hosts are shown as a link only.
    pub fn from_url(url: &str) -> Option<Self> {
        let parsed = url::Url::parse(url).ok()?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return None;
        }
        let host = parsed.host_str()?.trim_start_matches("www.").to_owned();
        let embed_url = embed_address(&host, &parsed);
        let origin = embed_url
            .as_deref()
            .and_then(|embed| url::Url::parse(embed).ok())
            .map(|embed| embed.origin().ascii_serialization())
            .unwrap_or_else(|| "'none'".to_owned());
        Some(Self {
            page_url: url.to_owned(),
            embed_url,
            origin,
        })
    }

    /// Returns the origin frames may come from, for the content security policy.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

fn embed_address(host: &str, url: &url::Url) -> Option<String> {
    let id_ok = |id: &str| {
        !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    match host {
        "youtube.com" | "m.youtube.com" => {
            let id = url
                .query_pairs()
                .find(|(key, _)| key == "v")
                .map(|(_, value)| value.into_owned())?;
            id_ok(&id).then(|| format!("https://www.youtube-nocookie.com/embed/{id}"))
        }
        "youtu.be" => {
            let id = url.path().trim_matches('/').to_owned();
            id_ok(&id).then(|| format!("https://www.youtube-nocookie.com/embed/{id}"))
        }
        "rutube.ru" => {
            let mut segments = url.path_segments()?;
            let id = match (segments.next(), segments.next()) {
                (Some("video"), Some(id)) => id.to_owned(),
                _ => return None,
            };
            id_ok(&id).then(|| format!("https://rutube.ru/play/embed/{id}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case(
        "https://www.youtube.com/watch?v=abc_D-1",
        Some("https://www.youtube-nocookie.com/embed/abc_D-1")
    )]
    #[case(
        "https://youtu.be/abc123",
        Some("https://www.youtube-nocookie.com/embed/abc123")
    )]
    #[case(
        "https://rutube.ru/video/0f1e2d/",
        Some("https://rutube.ru/play/embed/0f1e2d")
    )]
    #[case("https://example.com/video.mp4", None)]
    #[case("https://www.youtube.com/watch?v=a\"onload=x", None)]
    fn video_embed_addresses(#[case] url: &str, #[case] expected: Option<&str>) {
        let embed = VideoEmbed::from_url(url).unwrap();
        assert_eq!(embed.embed_url.as_deref(), expected);
    }

    #[rstest]
    #[case("javascript:alert(1)")]
    #[case("ftp://example.com/x")]
    #[case("not a url")]
    fn video_rejects_other_schemes(#[case] url: &str) {
        assert!(VideoEmbed::from_url(url).is_none());
    }
}
