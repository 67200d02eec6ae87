//! Links taken from CRM fields and configuration, checked before a page uses them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

/// An absolute `http` or `https` URL that is safe to put into `href`.
///
/// Built only by [`HttpUrl::parse`], which rejects other schemes
/// (`javascript:`, `data:`, `ftp:`), relative links, user names and
/// passwords in the URL, and whitespace, control or invisible formatting
/// characters inside it. The stored text is the URL in normalised form
/// (percent-encoded, host in ASCII, a bare host followed by `/`), so it is
/// what a browser would open.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HttpUrl(String);

/// The longest URL accepted, in bytes.
const MAX_URL_LEN: usize = 2048;

impl HttpUrl {
    /// Parses a URL typed by staff or an administrator; surrounding
    /// whitespace is ignored. Returns `None` for anything but an absolute
    /// http(s) URL with a host.
    pub fn parse(raw: &str) -> Option<HttpUrl> {
        let text = raw.trim();
        if text.is_empty() || text.len() > MAX_URL_LEN || text.chars().any(is_forbidden_char) {
            return None;
        }

        let lower = text
            .get(..8)
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        if !lower.starts_with("http://") && !lower.starts_with("https://") {
            return None;
        }

        let url = Url::parse(text).ok()?;
        let has_host = url.host_str().is_some_and(|host| !host.is_empty());
        let has_credentials = !url.username().is_empty() || url.password().is_some();
        if !matches!(url.scheme(), "http" | "https") || !has_host || has_credentials {
            return None;
        }
        Some(HttpUrl(url.into()))
    }

    /// Returns the URL text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }
}

/// Whitespace, control characters, and invisible characters that can make a
/// link look like another one (zero-width and bidirectional controls).
fn is_forbidden_char(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
        )
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for HttpUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        HttpUrl::parse(&text).ok_or_else(|| {
            serde::de::Error::invalid_value(serde::de::Unexpected::Str(&text), &"an http(s) URL")
        })
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case::https(
        "https://kad.arbitr.ru/Card/0a1b2c3d",
        "https://kad.arbitr.ru/Card/0a1b2c3d"
    )]
    #[case::http("http://kad.arbitr.ru/Card/1", "http://kad.arbitr.ru/Card/1")]
    #[case::upper_case_scheme("HTTPS://KAD.ARBITR.RU/Card/1", "https://kad.arbitr.ru/Card/1")]
    #[case::surrounding_spaces("  https://kad.arbitr.ru/Card/1 \n", "https://kad.arbitr.ru/Card/1")]
    #[case::host_only("https://kad.arbitr.ru", "https://kad.arbitr.ru/")]
    #[case::query(
        "https://kad.arbitr.ru/?q=А40-1/2024",
        "https://kad.arbitr.ru/?q=%D0%9040-1/2024"
    )]
    #[case::cyrillic_host(
        "https://кад.рф/дело",
        "https://xn--80aiq.xn--p1ai/%D0%B4%D0%B5%D0%BB%D0%BE"
    )]
    #[case::port("https://lk.example.ru:8443/", "https://lk.example.ru:8443/")]
    fn accepted_links(#[case] raw: &str, #[case] expected: &str) {
        assert_eq!(
            HttpUrl::parse(raw).map(|url| url.0),
            Some(expected.to_owned())
        );
    }

    #[rstest]
    #[case::javascript("javascript:alert(1)")]
    #[case::javascript_upper("JAVASCRIPT:alert(1)")]
    #[case::javascript_leading_space(" javascript:alert(1)")]
    #[case::javascript_tab("java\tscript:alert(1)")]
    #[case::javascript_newline("java\nscript:alert(1)")]
    #[case::javascript_slashes("javascript://kad.arbitr.ru/%0aalert(1)")]
    #[case::data("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==")]
    #[case::vbscript("vbscript:msgbox(1)")]
    #[case::ftp("ftp://kad.arbitr.ru/file")]
    #[case::file("file:///etc/passwd")]
    #[case::mailto("mailto:office@example.ru")]
    #[case::relative("/Card/1")]
    #[case::protocol_relative("//evil.example/Card/1")]
    #[case::no_slashes("https:kad.arbitr.ru")]
    #[case::bare_host("kad.arbitr.ru/Card/1")]
    #[case::empty("")]
    #[case::blank("   ")]
    #[case::inner_space("https://kad.arbitr.ru/Card 1")]
    #[case::inner_newline("https://kad.arbitr.ru/\nhttps://evil.example")]
    #[case::control_char("https://kad.arbitr.ru/\u{0007}")]
    #[case::null_char("https://kad.arbitr.ru/\u{0}")]
    #[case::zero_width("https://kad.arbitr\u{200B}.ru/")]
    #[case::bidi_override("https://kad.arbitr.ru/\u{202E}fdp.exe")]
    #[case::credentials("https://kad.arbitr.ru@evil.example/")]
    #[case::no_host("http://")]
    #[case::too_long(format!("https://kad.arbitr.ru/{}", "a".repeat(3000)))]
    fn rejected_links(#[case] raw: String) {
        assert_eq!(HttpUrl::parse(&raw), None, "{raw:?}");
    }

    #[test]
    fn https_is_detected() {
        assert!(HttpUrl::parse("https://lk.example.ru").unwrap().is_https());
        assert!(!HttpUrl::parse("http://lk.example.ru").unwrap().is_https());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::HttpUrl;

    proptest! {
        #[test]
        fn parse_accepts_only_clean_http_links(raw in "\\PC{0,60}|(?i:https?)://\\PC{0,40}") {
            if let Some(url) = HttpUrl::parse(&raw) {
                let text = url.as_str();
                let reparsed = url::Url::parse(text).unwrap();

                prop_assert!(text.starts_with("http://") || text.starts_with("https://"), "{}", text);
                prop_assert!(!text.chars().any(|c| c.is_whitespace() || c.is_control()), "{:?}", text);
                prop_assert!(reparsed.username().is_empty(), "{}", text);
                prop_assert!(reparsed.password().is_none(), "{}", text);
                prop_assert_eq!(HttpUrl::parse(text), Some(url.clone()));
            }
        }
    }
}
