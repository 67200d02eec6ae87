//! Paths in commands the administrator copies into a POSIX shell.

use std::path::Path;

/// Returns the path as one shell word: as is when it has only characters
/// the shell leaves alone, else in single quotes.
///
/// A path that is not valid UTF-8 is shown with replacement characters and
/// so cannot be copied exactly.
pub fn shell_word(path: &Path) -> String {
    let text = path.to_string_lossy();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || "/._-+:,@%=".contains(c));
    if plain {
        return text.into_owned();
    }
    // Inside single quotes only `'` is special; it is closed, escaped and reopened.
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_path_stays_unquoted() {
        assert_eq!(shell_word(Path::new("/etc/lk/lk.toml")), "/etc/lk/lk.toml");
        assert_eq!(
            shell_word(Path::new("/srv/клиенты/lk.toml")),
            "/srv/клиенты/lk.toml"
        );
    }

    #[test]
    fn special_characters_are_quoted() {
        assert_eq!(
            shell_word(Path::new("/tmp/my dir/lk.toml")),
            "'/tmp/my dir/lk.toml'"
        );
        assert_eq!(
            shell_word(Path::new("/tmp/it's/lk.toml")),
            r"'/tmp/it'\''s/lk.toml'"
        );
        assert_eq!(shell_word(Path::new("/tmp/$HOME")), "'/tmp/$HOME'");
    }
}
