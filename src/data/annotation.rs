/// One EDF+ style annotation: an event or a span, relative to the recording start.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// Seconds from the start of the recording (the EDF+ TAL onset minus the start offset).
    pub onset: f64,
    /// Seconds; `None` when the source did not give one (EDF+ TALs may omit it).
    pub duration: Option<f64>,
    pub description: String,
}

impl Annotation {
    pub fn new(onset: f64, duration: Option<f64>, description: impl Into<String>) -> Self {
        Self {
            onset,
            duration,
            description: description.into(),
        }
    }

    /// End of the annotated span in seconds (the onset for instantaneous events).
    pub fn end(&self) -> f64 {
        self.onset + self.duration.unwrap_or(0.0)
    }
}
