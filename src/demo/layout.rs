//! Which channels a demo recording has and where their electrodes are.

use crate::data::{ChannelType, standard_1005_position};

use super::DemoError;
use super::head_model::REFERENCE_ELECTRODES;

/// The classic 19-channel 10-20 set (modern names T7/T8/P7/P8).
pub const STANDARD_19: [&str; 19] = [
    "Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T7", "C3", "Cz", "C4", "T8", "P7", "P3", "Pz",
    "P4", "P8", "O1", "O2",
];

/// A common 32-channel 10-20 cap (the BioSemi 32 layout).
pub const STANDARD_32: [&str; 32] = [
    "Fp1", "AF3", "F7", "F3", "FC1", "FC5", "T7", "C3", "CP1", "CP5", "P7", "P3", "Pz", "PO3",
    "O1", "Oz", "O2", "PO4", "P4", "P8", "CP6", "CP2", "C4", "T8", "FC6", "FC2", "F4", "F8", "AF4",
    "Fp2", "Fz", "Cz",
];

/// Approximate eye centres in MNE's head frame (metres): about 2.5 cm behind and 3 cm
/// below Fp1/Fp2. Blink and saccade dipoles sit here.
pub const LEFT_EYE: [f64; 3] = [-0.032, 0.085, -0.015];
pub const RIGHT_EYE: [f64; 3] = [0.032, 0.085, -0.015];

/// VEOG: above and below the left eye; HEOG: left minus right outer canthus.
const VEOG_ABOVE: [f64; 3] = [-0.032, 0.108, 0.010];
const VEOG_BELOW: [f64; 3] = [-0.032, 0.100, -0.040];
const HEOG_LEFT: [f64; 3] = [-0.062, 0.085, -0.015];
const HEOG_RIGHT: [f64; 3] = [0.062, 0.085, -0.015];

/// How a channel's potential is measured from the head model.
#[derive(Debug, Clone, Copy)]
pub enum Sensor {
    /// An electrode against the common (linked-mastoid) reference.
    Referential([f64; 3]),
    /// One electrode minus another (EOG derivations).
    Bipolar([f64; 3], [f64; 3]),
    /// Not on the head (ECG): brain sources do not reach it.
    None,
}

/// One channel of the demo montage.
#[derive(Debug, Clone)]
pub struct DemoChannel {
    pub name: &'static str,
    pub kind: ChannelType,
    pub sensor: Sensor,
    /// standard_1005 position for EEG channels.
    pub position: Option<[f64; 3]>,
}

/// The EEG layouts the demo can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DemoLayout {
    #[default]
    Standard19,
    Standard32,
}

impl DemoLayout {
    pub fn eeg_names(self) -> &'static [&'static str] {
        match self {
            DemoLayout::Standard19 => &STANDARD_19,
            DemoLayout::Standard32 => &STANDARD_32,
        }
    }
}

/// EEG channels of `layout`, then HEOG, VEOG and ECG.
pub fn channels(layout: DemoLayout) -> Result<Vec<DemoChannel>, DemoError> {
    let mut out = Vec::new();
    for &name in layout.eeg_names() {
        let position = standard_1005_position(name).ok_or(DemoError::MissingPosition { name })?;
        out.push(DemoChannel {
            name,
            kind: ChannelType::Eeg,
            sensor: Sensor::Referential(position),
            position: Some(position),
        });
    }
    out.push(DemoChannel {
        name: "HEOG",
        kind: ChannelType::Eog,
        sensor: Sensor::Bipolar(HEOG_LEFT, HEOG_RIGHT),
        position: None,
    });
    out.push(DemoChannel {
        name: "VEOG",
        kind: ChannelType::Eog,
        sensor: Sensor::Bipolar(VEOG_ABOVE, VEOG_BELOW),
        position: None,
    });
    out.push(DemoChannel {
        name: "ECG",
        kind: ChannelType::Ecg,
        sensor: Sensor::None,
        position: None,
    });
    Ok(out)
}

/// Positions of the reference electrodes (linked mastoids).
pub fn reference_positions() -> Result<Vec<[f64; 3]>, DemoError> {
    REFERENCE_ELECTRODES
        .iter()
        .map(|&name| standard_1005_position(name).ok_or(DemoError::MissingPosition { name }))
        .collect()
}
