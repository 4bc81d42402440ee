use std::fmt;
use std::str::FromStr;

/// What a channel measures. Decides which stages touch it (e.g. average reference
/// uses only good `Eeg`, ICLabel refuses `Seeg`/`Ecog`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChannelType {
    Eeg,
    Eog,
    Ecg,
    Emg,
    Misc,
    Stim,
    Seeg,
    Ecog,
    Resp,
}

impl ChannelType {
    pub const ALL: [ChannelType; 9] = [
        ChannelType::Eeg,
        ChannelType::Eog,
        ChannelType::Ecg,
        ChannelType::Emg,
        ChannelType::Misc,
        ChannelType::Stim,
        ChannelType::Seeg,
        ChannelType::Ecog,
        ChannelType::Resp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelType::Eeg => "eeg",
            ChannelType::Eog => "eog",
            ChannelType::Ecg => "ecg",
            ChannelType::Emg => "emg",
            ChannelType::Misc => "misc",
            ChannelType::Stim => "stim",
            ChannelType::Seeg => "seeg",
            ChannelType::Ecog => "ecog",
            ChannelType::Resp => "resp",
        }
    }

    /// Electrophysiological channels that filters and references apply to by default.
    pub fn is_data(self) -> bool {
        !matches!(
            self,
            ChannelType::Stim | ChannelType::Misc | ChannelType::Resp
        )
    }
}

impl fmt::Display for ChannelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChannelType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        ChannelType::ALL
            .into_iter()
            .find(|t| t.as_str() == lower)
            .ok_or_else(|| {
                format!(
                    "unknown channel type `{s}`; expected one of: {}",
                    ChannelType::ALL.map(|t| t.as_str()).join(", ")
                )
            })
    }
}

/// Physical unit of a channel's samples in a `Recording`.
/// Voltages are always stored in volts (as MNE does), whatever the file said.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Unit {
    Volt,
    /// Anything that is not a voltage (`%`, `degC`, `mmHg`, empty), kept verbatim.
    Other(String),
}

impl Unit {
    /// Parse an EDF physical dimension. Returns the unit and the factor that turns
    /// values in that dimension into the stored unit (e.g. `uV` → volts: 1e-6).
    pub fn from_edf_dimension(dim: &str) -> (Unit, f64) {
        let d = dim.trim();
        let factor = match d {
            "V" => Some(1.0),
            "mV" => Some(1e-3),
            "uV" | "µV" | "μV" | "UV" | "microV" => Some(1e-6),
            "nV" => Some(1e-9),
            _ => None,
        };
        match factor {
            Some(f) => (Unit::Volt, f),
            None => (Unit::Other(d.to_string()), 1.0),
        }
    }

    pub fn is_volt(&self) -> bool {
        matches!(self, Unit::Volt)
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unit::Volt => f.write_str("V"),
            Unit::Other(s) => f.write_str(s),
        }
    }
}

/// One channel of a `Recording`.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// Normalised name used everywhere in the pipeline (e.g. `FC5`).
    pub name: String,
    /// Label exactly as the source file had it (e.g. `Fc5.`).
    pub original_label: String,
    pub kind: ChannelType,
    pub unit: Unit,
    /// Head-frame position in metres (MNE's standard_1005 convention), when known.
    pub position: Option<[f64; 3]>,
    /// Why the channel is bad, if it is (bad channels are excluded from average references).
    pub bad: Option<String>,
    pub transducer: String,
    /// EDF prefiltering text from the source, extended by the filters we apply.
    pub prefilter: String,
}

impl Channel {
    pub fn new(name: impl Into<String>, kind: ChannelType, unit: Unit) -> Self {
        let name = name.into();
        Self {
            original_label: name.clone(),
            name,
            kind,
            unit,
            position: None,
            bad: None,
            transducer: String::new(),
            prefilter: String::new(),
        }
    }

    pub fn is_bad(&self) -> bool {
        self.bad.is_some()
    }
}

impl ChannelType {
    /// The type a label suggests when the pipeline does not say. EDF labels often carry
    /// it (`EOG horizontal`, `HEOG`, `ECG ECG1`, `EMG submental`, `Status`, `Resp
    /// oro-nasal`, `EEG Fpz-Cz`). A bare 10-05 electrode name (`Fc5.`, `Cz`, `T3`) is EEG.
    /// Anything else (`SaO2`, `POL DC03`, `Pleth`) is misc, so it never enters an average
    /// reference by accident; list such channels under `channels:` to give them a type.
    pub fn guess_from_label(label: &str) -> ChannelType {
        let l = label.trim().to_ascii_lowercase();
        let first = l.split([' ', '-', '_']).next().unwrap_or("");
        let has = |k: &str| l.starts_with(k) || first == k;
        if has("eog") || first.ends_with("eog") {
            ChannelType::Eog
        } else if has("ecg") || has("ekg") {
            ChannelType::Ecg
        } else if has("emg") {
            ChannelType::Emg
        } else if l == "status"
            || l.starts_with("trig")
            || has("stim")
            || has("sti")
            || l.starts_with("sti ")
        {
            ChannelType::Stim
        } else if has("resp") {
            ChannelType::Resp
        } else if has("seeg") {
            ChannelType::Seeg
        } else if has("ecog") {
            ChannelType::Ecog
        } else if has("eeg")
            || super::standard_1005()
                .canonical_name(first.trim_matches('.'))
                .is_some()
        {
            ChannelType::Eeg
        } else {
            ChannelType::Misc
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_types_from_common_edf_labels() {
        // Labels from the Sleep-EDF, BioSemi and clinical files under ../shared/data.
        assert_eq!(
            ChannelType::guess_from_label("EOG horizontal"),
            ChannelType::Eog
        );
        assert_eq!(
            ChannelType::guess_from_label("EOG VEOG_I"),
            ChannelType::Eog
        );
        assert_eq!(ChannelType::guess_from_label("ECG ECG1"), ChannelType::Ecg);
        assert_eq!(
            ChannelType::guess_from_label("EMG submental"),
            ChannelType::Emg
        );
        assert_eq!(ChannelType::guess_from_label("Status"), ChannelType::Stim);
        assert_eq!(
            ChannelType::guess_from_label("Resp oro-nasal"),
            ChannelType::Resp
        );
        assert_eq!(
            ChannelType::guess_from_label("EEG Fpz-Cz"),
            ChannelType::Eeg
        );
        assert_eq!(ChannelType::guess_from_label("Fc5."), ChannelType::Eeg);
        assert_eq!(ChannelType::guess_from_label("STI 014"), ChannelType::Stim);
        assert_eq!(ChannelType::guess_from_label("HEOG"), ChannelType::Eog);
        assert_eq!(ChannelType::guess_from_label("Pz-Oz"), ChannelType::Eeg);
        assert_eq!(ChannelType::guess_from_label("T3"), ChannelType::Eeg);
        // Not electrodes: kept out of EEG so an average reference never includes them.
        assert_eq!(ChannelType::guess_from_label("SaO2"), ChannelType::Misc);
        assert_eq!(ChannelType::guess_from_label("POL DC03"), ChannelType::Misc);
    }
}
