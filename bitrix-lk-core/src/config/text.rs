//! Comparison of labels that people type: stage names, pipeline names, the trigger value.

/// Normalizes a label for comparison: trims it, collapses inner whitespace,
/// lower-cases it and spells `ё` as `е`, so «Должник », «должник» and
/// «ДОЛЖНИК» compare equal, as do «Счёт» and «Счет».
pub(crate) fn normalize_label(label: &str) -> String {
    normalized_chars(label).collect()
}

/// Returns whether two labels are equal after [`normalize_label`], without
/// allocating: every page view compares each stage with the configured names.
pub(crate) fn labels_match(left: &str, right: &str) -> bool {
    normalized_chars(left).eq(normalized_chars(right))
}

/// Yields the characters of [`normalize_label`] one at a time.
fn normalized_chars(label: &str) -> impl Iterator<Item = char> + '_ {
    label
        .split_whitespace()
        .enumerate()
        .flat_map(|(index, word)| {
            let separator = (index > 0).then_some(' ');
            let letters = word
                .chars()
                .flat_map(char::to_lowercase)
                .map(|c| if c == 'ё' { 'е' } else { c });
            separator.into_iter().chain(letters)
        })
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

    #[rstest]
    #[case("  Исполнение \t Юр.\nотдел ", "исполнение юр. отдел")]
    #[case("Счёт ВЫСТАВЛЕН", "счет выставлен")]
    #[case(" \n ", "")]
    fn normalize_label_trims_collapses_and_lowercases(#[case] label: &str, #[case] expected: &str) {
        assert_eq!(normalize_label(label), expected);
    }
}
