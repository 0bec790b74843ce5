//! Configuration errors that point at the offending place.
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; 0 when the error is about the whole file.
    pub line: usize,
    pub column: usize,
    /// Dotted path of the field, e.g. `port[1].addresses`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.field,
                self.message
            )
        } else {
            write!(
                f,
                "{}: {}: {}",
                self.file.display(),
                self.field,
                self.message
            )
        }
    }
}

impl std::error::Error for ConfigError {}

/// 1-based (line, column) of byte `offset` in `text`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, col)
}

impl ConfigError {
    pub(crate) fn io(path: &Path, e: std::io::Error) -> Self {
        ConfigError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            field: "file".into(),
            message: format!("cannot read: {e}"),
        }
    }

    pub(crate) fn toml(path: &Path, text: &str, e: toml::de::Error) -> Self {
        let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
        ConfigError {
            file: path.to_path_buf(),
            line,
            column,
            field: field_of(text, e.span().map(|s| s.start)),
            message: e.message().to_string(),
        }
    }

    pub(crate) fn at(
        path: &Path,
        text: &str,
        offset: usize,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = line_col(text, offset);
        ConfigError {
            file: path.to_path_buf(),
            line,
            column,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Best-effort name of the key at `offset` (`key = ...` on that line, under
/// its `[table]`), for parse errors toml reports only by position.
fn field_of(text: &str, offset: Option<usize>) -> String {
    let Some(offset) = offset else {
        return "file".into();
    };
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[line_start..line_end].trim();
    let table = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').to_string());
    let key = line
        .split('=')
        .next()
        .map(str::trim)
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    match (table, key) {
        (Some(t), Some(k)) => format!("{t}.{k}"),
        (None, Some(k)) => k.to_string(),
        (Some(t), None) => t,
        (None, None) => "file".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::line_col;

    #[test]
    fn line_and_column_are_one_based() {
        let t = "a = 1\nbb = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, 9), (2, 4));
    }
}
