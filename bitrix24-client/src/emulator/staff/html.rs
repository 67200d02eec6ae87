//! HTML building blocks of the staff panel. Every value from the data goes
//! through [`escape`].

use std::fmt::Write;

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}\
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#f3f5f7}form.inline{display:inline}section{margin:1.2rem 0;padding:.8rem;border:1px solid #dde;border-radius:6px}\
.muted{color:#777}.paid{color:#18794e}.unpaid{color:#b54708}input[type=text],textarea{width:28rem}nav a{margin-right:1rem}";

/// Wraps a body into a full page.
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head>\
<body><nav><a href=\"/staff\">Сделки</a><span class=\"muted\">Эмулятор Битрикс24 — панель сотрудника</span></nav>{body}</body></html>",
        escape(title)
    )
}

/// A `<form method="post">` with a single submit button.
pub(crate) fn button(action: &str, label: &str, hidden: &[(&str, &str)]) -> String {
    let mut form = format!(
        "<form class=\"inline\" method=\"post\" action=\"{}\">",
        escape(action)
    );
    for (name, value) in hidden {
        let _ = write!(
            form,
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            escape(name),
            escape(value)
        );
    }
    let _ = write!(form, "<button>{}</button></form>", escape(label));
    form
}

/// An error page.
pub(crate) fn error(message: &str) -> String {
    page(
        "Ошибка",
        &format!(
            "<h1>Не получилось</h1><p>{}</p><p><a href=\"/staff\">К списку сделок</a></p>",
            escape(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}
