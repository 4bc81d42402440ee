use std::path::{Path, PathBuf};

/// A pipeline file's text, kept so that every error can quote the offending line.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
}

impl Source {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
        }
    }

    pub fn read(path: &Path) -> std::io::Result<Self> {
        Ok(Self::new(path, std::fs::read_to_string(path)?))
    }

    /// The line (1-based) with a caret under `column` (1-based), rustc style.
    pub fn snippet(&self, line: usize, column: usize) -> String {
        let Some(text) = line.checked_sub(1).and_then(|i| self.text.lines().nth(i)) else {
            return String::new();
        };
        let gutter = line.to_string().len();
        format!(
            "{:gutter$} |\n{line} | {text}\n{:gutter$} | {}^",
            "",
            "",
            " ".repeat(column.saturating_sub(1)),
        )
    }
}
