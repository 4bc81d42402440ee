use std::fmt;
use std::path::PathBuf;

use super::Source;

/// One problem in a pipeline file, with where it is and what to do about it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    pub path: PathBuf,
    /// 1-based; 0 when the problem has no single place (e.g. the file is unreadable).
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub help: Option<String>,
    snippet: String,
}

impl SpecError {
    pub fn at(source: &Source, line: usize, column: usize, message: impl Into<String>) -> Self {
        Self {
            path: source.path.clone(),
            line,
            column,
            message: message.into(),
            help: None,
            snippet: source.snippet(line, column),
        }
    }

    pub fn at_location(
        source: &Source,
        loc: &serde_saphyr::Location,
        message: impl Into<String>,
    ) -> Self {
        Self::at(source, loc.line() as usize, loc.column() as usize, message)
    }

    pub fn whole_file(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            line: 0,
            column: 0,
            message: message.into(),
            help: None,
            snippet: String::new(),
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.path.display(),
                self.line,
                self.column,
                self.message
            )?;
        } else {
            write!(f, "{}: {}", self.path.display(), self.message)?;
        }
        if !self.snippet.is_empty() {
            write!(f, "\n{}", self.snippet)?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem found in one pass over a pipeline file (users fix them all at once).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct SpecErrors(pub Vec<SpecError>);

impl From<SpecError> for SpecErrors {
    fn from(e: SpecError) -> Self {
        SpecErrors(vec![e])
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            writeln!(f, "error: {e}")?;
        }
        let n = self.0.len();
        write!(
            f,
            "{n} error{} in the pipeline file; no data was read",
            if n == 1 { "" } else { "s" }
        )
    }
}
