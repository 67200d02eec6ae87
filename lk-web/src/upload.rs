//! Checks on uploaded documents: size, type by content, and a safe file name.

/// A document type the cabinet accepts, detected from the file's first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcceptedType {
    /// The MIME type.
    pub mime: &'static str,
    /// The file extension Bitrix24 gets.
    pub extension: &'static str,
}

const ACCEPTED: [AcceptedType; 8] = [
    AcceptedType {
        mime: "application/pdf",
        extension: "pdf",
    },
    AcceptedType {
        mime: "image/jpeg",
        extension: "jpg",
    },
    AcceptedType {
        mime: "image/png",
        extension: "png",
    },
    AcceptedType {
        mime: "image/heic",
        extension: "heic",
    },
    AcceptedType {
        mime: "image/heif",
        extension: "heif",
    },
    AcceptedType {
        mime: "image/webp",
        extension: "webp",
    },
    AcceptedType {
        mime: "image/tiff",
        extension: "tiff",
    },
    AcceptedType {
        mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        extension: "docx",
    },
];

/// Why an upload was refused, in words for the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadProblem {
    /// No file was chosen, or it is empty.
    Empty,
    /// The file is not a PDF, a photo or a Word document.
    WrongType,
}

impl UploadProblem {
    /// Returns the message shown on the documents page.
    pub fn message(self) -> &'static str {
        match self {
            UploadProblem::Empty => {
                "Файл не выбран или пустой. Выберите файл и нажмите «Загрузить»."
            }
            UploadProblem::WrongType => {
                "Этот тип файла не принимается. Загрузите PDF, фотографию (JPG, PNG, HEIC, WEBP, TIFF) или документ Word (DOCX)."
            }
        }
    }
}

/// Detects the type of an upload from its content; the name and the
/// browser's declared type are not trusted.
pub fn detect_type(bytes: &[u8]) -> Result<AcceptedType, UploadProblem> {
    if bytes.is_empty() {
        return Err(UploadProblem::Empty);
    }
    let detected = infer::get(bytes).ok_or(UploadProblem::WrongType)?;
    ACCEPTED
        .iter()
        .copied()
        .find(|accepted| accepted.mime == detected.mime_type())
        .ok_or(UploadProblem::WrongType)
}

/// Makes a file name safe to hand to Bitrix24: only the last path
/// component, no control or reserved characters, at most 100 characters,
/// and the extension of the detected type.
pub fn safe_file_name(raw: &str, kind: AcceptedType) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| {
            if matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*' | '%') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim().trim_matches('.').to_owned();

    let stem = match cleaned.rsplit_once('.') {
        Some((stem, _)) if !stem.trim().is_empty() => stem.trim().to_owned(),
        _ => cleaned,
    };
    let stem: String = stem.chars().take(100).collect();
    let stem = if stem.trim().is_empty() {
        "document".to_owned()
    } else {
        stem
    };
    format!("{stem}.{}", kind.extension)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n";
    const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
    ];
    const JPEG: &[u8] = &[0xff, 0xd8, 0xff, 0xe0, 0, 16, b'J', b'F', b'I', b'F', 0];

    #[rstest]
    #[case(PDF, "application/pdf")]
    #[case(PNG, "image/png")]
    #[case(JPEG, "image/jpeg")]
    fn upload_detects_by_content(#[case] bytes: &[u8], #[case] mime: &str) {
        assert_eq!(detect_type(bytes).unwrap().mime, mime);
    }

    #[rstest]
    #[case(b"MZ\x90\x00\x03\x00\x00\x00".as_slice())]
    #[case(b"<html><script>alert(1)</script>".as_slice())]
    #[case(b"plain text pretending.pdf".as_slice())]
    fn upload_rejects_other_content(#[case] bytes: &[u8]) {
        assert_eq!(detect_type(bytes), Err(UploadProblem::WrongType));
    }

    #[test]
    fn upload_rejects_empty() {
        assert_eq!(detect_type(b""), Err(UploadProblem::Empty));
    }

    #[rstest]
    #[case("паспорт.pdf", "паспорт.pdf")]
    #[case("../../etc/passwd", "passwd.pdf")]
    #[case("C:\\Users\\me\\scan.PDF", "scan.pdf")]
    #[case("scan.exe", "scan.pdf")]
    #[case("", "document.pdf")]
    #[case("...", "document.pdf")]
    #[case("a\u{0}b\nc.pdf", "abc.pdf")]
    #[case("<script>.pdf", "_script_.pdf")]
    fn upload_file_names_are_safe(#[case] raw: &str, #[case] expected: &str) {
        let pdf = detect_type(PDF).unwrap();
        assert_eq!(safe_file_name(raw, pdf), expected);
    }
}
