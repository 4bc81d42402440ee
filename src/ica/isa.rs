//! Which vector instructions the ICA kernels run with, picked once per call from what the
//! CPU has (the crate is built for baseline x86-64, SSE2).
//!
//! AVX-512 and AVX2 give the same bits wherever a kernel fuses multiply-adds (both have FMA,
//! and lanes are summed in the same fixed order); the baseline rounds products separately.
//! Kernels without multiply-adds give the same bits everywhere.

/// A compiled variant of the kernels.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Isa {
    /// AVX-512F and FMA.
    Avx512,
    /// AVX2 and FMA.
    Avx2,
    Baseline,
}

/// The widest variant this CPU runs.
pub(crate) fn isa() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("fma") {
            if std::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") {
                return Isa::Avx2;
            }
        }
    }
    Isa::Baseline
}

/// `fn $name(isa, args) -> ret` calling the `#[inline(always)]` function `$body` compiled
/// for the CPU features `isa` names (code inlined into a `#[target_feature]` function is
/// compiled for those features; code that is not stays baseline).
macro_rules! per_isa {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $body:ident) => {
        $(#[$doc])*
        pub(crate) fn $name(isa: $crate::ica::isa::Isa, $($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512($($arg: $ty),*) -> $ret {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) -> $ret {
                    $body($($arg),*)
                }
                match isa {
                    // SAFETY: `isa()` picked this variant because the CPU has AVX-512F.
                    $crate::ica::isa::Isa::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: as above, AVX2.
                    $crate::ica::isa::Isa::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::ica::isa::Isa::Baseline => {}
                }
            }
            let _ = isa;
            $body($($arg),*)
        }
    };
}
pub(crate) use per_isa;
