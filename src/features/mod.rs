//! Features for BCI classifiers: epochs around events, covariance matrices, and
//! tangent-space vectors at the Riemannian mean (pyriemann-compatible).
//!
//! Pure functions on ndarray; the `epoch` and `covariance` stages wire them into the DAG.

pub mod covariance;
pub mod epochs;
pub mod events;
pub(crate) mod products;
pub mod riemann;
pub mod spd;
pub mod symmetric_eigen;
pub mod tangent_space;
