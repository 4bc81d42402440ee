//! Digital filters and resampling reproducing MNE-Python 1.13 (`mne.filter`) and the
//! SciPy routines it calls, on ndarray data (rows = channels). Pure functions, no I/O.

mod convolve;
mod error;
mod fft_len;
mod fir_cascade;
mod fir_design;
mod firwin;
mod firwin2;
mod iir;
mod notch;
mod overlap_add;
mod pad;
mod pairwise_sum;
mod resample;
mod window;
mod zero_double;

pub use error::FilterError;
pub use fft_len::{next_fast_len, overlap_add_n_fft};
pub use fir_cascade::apply_cascade_zero_phase;
pub use fir_design::{FilterLength, FirFilter, FirSpec, Transition};
pub use firwin::{firwin_design, firwin_lowpass};
pub use firwin2::firwin2;
pub use iir::{IirSpec, Sos};
pub use notch::NotchSpec;
pub use overlap_add::OverlapAdd;
pub use pad::reflect_limited;
pub use resample::{Npad, ResampleMethod, resample};
pub use window::Window;
pub use zero_double::{ZeroDoubleFir, ZeroDoubleSpec};
