//! A small HTTP/1.1 client: one keep-alive connection per simulated browser,
//! with a cookie jar and the cabinet's login flow.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A response with its whole body read.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// The body.
    pub body: Bytes,
}

impl Reply {
    /// Returns the body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One keep-alive connection with a cookie jar, acting as a client's browser.
#[derive(Debug)]
pub struct Browser {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    /// Connects to `addr` over HTTP/1.1 with Nagle's algorithm off.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("failed to connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "benchmark connection closed with an error");
            }
        });
        Ok(Self {
            sender,
            host: HeaderValue::from_str(&addr.to_string())?,
            cookies: BTreeMap::new(),
        })
    }

    /// Sends a GET.
    pub async fn get(&mut self, path: &str) -> anyhow::Result<Reply> {
        self.send(Method::GET, path, None).await
    }

    /// Posts a URL-encoded form.
    pub async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<Reply> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.send(Method::POST, path, Some(Bytes::from(body))).await
    }

    /// Posts a body that is already URL-encoded.
    pub async fn post_encoded(&mut self, path: &str, body: String) -> anyhow::Result<Reply> {
        self.send(Method::POST, path, Some(Bytes::from(body))).await
    }

    /// Sends a request with the jar's cookies and stores the cookies it sets.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        form: Option<Bytes>,
    ) -> anyhow::Result<Reply> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.host.clone());
        if !self.cookies.is_empty() {
            builder = builder.header(header::COOKIE, self.cookie_header());
        }
        if form.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let request = builder.body(Full::new(form.unwrap_or_default()))?;

        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        for value in response.headers().get_all(header::SET_COOKIE) {
            if let Ok(text) = value.to_str() {
                self.store_cookie(text);
            }
        }
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Reply {
            status,
            location,
            body,
        })
    }

    /// Logs in through the form; fails unless the cabinet redirects to «Мое дело».
    pub async fn log_in(&mut self, login: &str, password: &str) -> anyhow::Result<()> {
        let form_page = self.get("/login").await?;
        let csrf = csrf_of(&form_page.text()).context("the login form has no CSRF field")?;
        let reply = self
            .post_form(
                "/login",
                &[("csrf", &csrf), ("login", login), ("password", password)],
            )
            .await?;
        anyhow::ensure!(
            reply.location.as_deref() == Some("/"),
            "login {login} was rejected: status {}",
            reply.status
        );
        Ok(())
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Keeps `name=value` of a `Set-Cookie` header; an empty value or
    /// `Max-Age=0` removes the cookie. Paths and expiry are ignored.
    fn store_cookie(&mut self, set_cookie: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
            return;
        };
        let removed = value.is_empty()
            || parts.any(|attribute| attribute.trim().eq_ignore_ascii_case("max-age=0"));
        if removed {
            self.cookies.remove(name.trim());
        } else {
            self.cookies
                .insert(name.trim().to_owned(), value.trim().to_owned());
        }
    }
}

/// Returns the value of the first hidden `csrf` field of a page.
pub fn csrf_of(html: &str) -> Option<String> {
    const MARKER: &str = "name=\"csrf\" value=\"";
    let start = html.find(MARKER)? + MARKER.len();
    html[start..].split('"').next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_of_reads_hidden_field() {
        let html = r#"<input type="hidden" name="csrf" value="abc123">"#;
        assert_eq!(csrf_of(html).as_deref(), Some("abc123"));
        assert_eq!(csrf_of("<form></form>"), None);
    }
}
