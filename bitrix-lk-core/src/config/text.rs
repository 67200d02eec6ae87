//! Comparison of labels that people type: stage names, pipeline names, the trigger value.

/// Normalizes a label for comparison: trims it, collapses inner whitespace,
/// lower-cases it and spells `ё` as `е`, so «Должник », «должник» and
/// «ДОЛЖНИК» compare equal, as do «Счёт» and «Счет».
pub(crate) fn normalize_label(label: &str) -> String {
    let mut normalized = String::with_capacity(label.len());
    for word in label.split_whitespace() {
        if !normalized.is_empty() {
            normalized.push(' ');
        }
        for c in word.chars().flat_map(char::to_lowercase) {
            normalized.push(if c == 'ё' { 'е' } else { c });
        }
    }
    normalized
}

/// Returns whether two labels are equal after [`normalize_label`].
pub(crate) fn labels_match(left: &str, right: &str) -> bool {
    normalize_label(left) == normalize_label(right)
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("Должник", "должник")]
    #[case("  Должник ", "ДОЛЖНИК")]
    #[case("Исполнение Юр. отдел", "исполнение  юр.  отдел")]
    #[case("Счёт выставлен", "СЧЕТ выставлен")]
    #[case("Создать", "создать\n")]
    fn labels_match_ignoring_case_space_and_yo(#[case] left: &str, #[case] right: &str) {
        assert!(labels_match(left, right));
    }

    #[rstest]
    #[case("Должник", "Должники")]
    #[case("Создать", "Не создавать")]
    #[case("", "Создать")]
    fn labels_differ(#[case] left: &str, #[case] right: &str) {
        assert!(!labels_match(left, right));
    }
}
