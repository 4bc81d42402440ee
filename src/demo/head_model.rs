//! The forward model that turns source time courses into channel potentials.
//!
//! Choice: current dipoles in an infinite homogeneous conductor,
//! `V(r) = p·(r − r0) / (4π σ |r − r0|³)`, evaluated at MNE's standard_1005 head-frame
//! electrode positions and re-referenced to linked mastoids (M1+M2)/2.
//! Why: it is closed-form, needs no mesh or BEM, and gives the smooth, dipolar scalp
//! topographies that ICA and ICLabel-style features expect. It ignores the skull's
//! smearing; placing brain dipoles 3–5 cm deep gives comparably broad maps. Absolute
//! scale (σ, nAm) does not matter: every source's topography is normalised and its
//! amplitude is set in µV at the channel where it is largest, which is what a user of
//! demo data can check against.

use super::layout::Sensor;

/// Conductivity of the medium in S/m (average head tissue); only fixes units.
const CONDUCTIVITY: f64 = 0.33;

/// Centre of the sphere that best fits the 10-20 electrodes in MNE's head frame
/// (metres); brain dipoles are placed along rays from it.
pub const HEAD_CENTRE: [f64; 3] = [0.0, 0.0, 0.04];

/// Linked-mastoid reference electrodes (standard_1005 names).
pub const REFERENCE_ELECTRODES: [&str; 2] = ["M1", "M2"];

/// A current dipole: position (metres, head frame) and moment direction (A·m).
#[derive(Debug, Clone, Copy)]
pub struct Dipole {
    pub position: [f64; 3],
    pub moment: [f64; 3],
}

impl Dipole {
    /// Potential (volts, reference at infinity) at `at`.
    pub fn potential(&self, at: [f64; 3]) -> f64 {
        let d = sub(at, self.position);
        let dist = norm(d).max(1e-3); // no electrode sits on a dipole; guard anyway
        dot(self.moment, d) / (4.0 * std::f64::consts::PI * CONDUCTIVITY * dist.powi(3))
    }
}

/// Potential of a set of dipoles at every sensor, each sensor being an electrode minus
/// its reference (linked mastoids for EEG; the second electrode for bipolar EOG).
pub fn topography(dipoles: &[Dipole], sensors: &[Sensor], reference: &[[f64; 3]]) -> Vec<f64> {
    let at = |p: [f64; 3]| dipoles.iter().map(|d| d.potential(p)).sum::<f64>();
    let reference_potential = if reference.is_empty() {
        0.0
    } else {
        reference.iter().map(|&p| at(p)).sum::<f64>() / reference.len() as f64
    };
    sensors
        .iter()
        .map(|sensor| match *sensor {
            Sensor::Referential(p) => at(p) - reference_potential,
            Sensor::Bipolar(plus, minus) => at(plus) - at(minus),
            Sensor::None => 0.0,
        })
        .collect()
}

/// Scale `values` so that the largest magnitude among `over` indices is 1.
pub fn normalise_peak(values: &mut [f64], over: &[usize]) {
    let peak = over.iter().map(|&i| values[i].abs()).fold(0.0, f64::max);
    if peak > 0.0 {
        values.iter_mut().for_each(|v| *v /= peak);
    }
}

/// Point `fraction` of the way from the head centre to `landmark`, and the outward
/// (radial) unit vector: where and how a cortical source under that electrode points.
pub fn radial_dipole_under(landmark: [f64; 3], fraction: f64) -> Dipole {
    let ray = sub(landmark, HEAD_CENTRE);
    let unit = scale(ray, 1.0 / norm(ray).max(1e-12));
    Dipole {
        position: add(HEAD_CENTRE, scale(ray, fraction)),
        moment: unit,
    }
}

pub fn add(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn scale(a: [f64; 3], k: f64) -> [f64; 3] {
    [a[0] * k, a[1] * k, a[2] * k]
}

pub fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

/// Unit vector in the direction of `a`.
pub fn unit(a: [f64; 3]) -> [f64; 3] {
    scale(a, 1.0 / norm(a).max(1e-12))
}
