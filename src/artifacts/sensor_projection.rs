//! MNE's 2-D sensor layout for topomaps (`_auto_topomap_coords` with `to_sphere=True`):
//! positions relative to the head-sphere origin, azimuthal equidistant projection — the
//! polar angle from +z becomes the radius, scaled so that the equator lies at the sensor's
//! distance from the origin.

use ndarray::{Array2, ArrayView2};

/// MNE's default head-sphere origin when no digitised head shape is available (`sphere=None`
/// → `HEAD_SIZE_DEFAULT` centred at the head-frame origin).
pub const DEFAULT_SPHERE_ORIGIN: [f64; 3] = [0.0, 0.0, 0.0];

/// Project channels × 3 positions (metres, head frame) to channels × 2 plane coordinates.
pub fn topomap_coords(positions_m: ArrayView2<f64>, sphere_origin: [f64; 3]) -> Array2<f64> {
    let mut out = Array2::<f64>::zeros((positions_m.nrows(), 2));
    for (p, mut o) in positions_m.outer_iter().zip(out.outer_iter_mut()) {
        // MNE replaces non-finite coordinates by 0 before projecting.
        let c = |i: usize| {
            let v = p[i];
            (if v.is_finite() { v } else { 0.0 }) - sphere_origin[i]
        };
        let (x, y, z) = (c(0), c(1), c(2));
        let r = (x * x + y * y + z * z).sqrt();
        let azimuth = y.atan2(x);
        // MNE divides by 1 instead of 0 for a sensor at the origin.
        let polar = (z / if r > 0.0 { r } else { 1.0 }).acos();
        let scale = r / (std::f64::consts::PI / 2.0);
        o[0] = polar * azimuth.cos() * scale;
        o[1] = polar * azimuth.sin() * scale;
        // + sphere origin (x, y), as MNE translates back.
        o[0] += sphere_origin[0];
        o[1] += sphere_origin[1];
    }
    out
}
