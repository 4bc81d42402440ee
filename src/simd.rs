//! Which vector instructions the numeric kernels run with. The crate is built for baseline
//! x86-64 (SSE2: two doubles per instruction, scalar division), so a loop outside faer
//! would otherwise run at a quarter of the AVX-512 width the machines have.
//!
//! - [`widest_vectors!`] compiles one `#[inline(always)]` function for AVX-512F, AVX2 and the
//!   baseline and picks one at run time. No variant enables FMA, Rust never contracts
//!   `a * b + c` on its own and nothing reassociates a sum, so all variants give the same
//!   bits: only the width of the loops differs. For element-wise loops and sums.
//! - [`isa`] names the variant for kernels that do fuse multiply-adds (the ICA solver's):
//!   AVX-512 and AVX2 give the same bits there (both fuse, lanes are summed in a fixed
//!   order); the baseline rounds products separately.

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

/// `widest_vectors!(pub(crate) fn name(arg: Type, ...) -> Ret = portable_fn);` defines `name`
/// calling `portable_fn` (which should be `#[inline(always)]`) compiled for the widest vector
/// unit available.
macro_rules! widest_vectors {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? = $portable:path;) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512($($arg: $ty),*) $(-> $ret)? {
                    $portable($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $portable($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports AVX-512F, checked just above.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $portable($($arg),*)
        }
    };
}

pub(crate) use widest_vectors;

/// `fused_variants!(fn name(arg: Type, ...) -> Ret = generic);` defines `name` for kernels
/// that fuse multiply-adds: `generic::<true>` compiled for AVX-512F + FMA or AVX2 + FMA, or
/// `generic::<false>` (products rounded separately) on CPUs without FMA, as [`isa`] picks.
/// `generic` takes `const FMA: bool` and must be `#[inline(always)]`, closures and helpers
/// included: code not inlined into the `#[target_feature]` variants is compiled for the
/// baseline, where `mul_add` is a slow software call.
macro_rules! fused_variants {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? = $generic:ident;) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,fma")]
                fn avx512($($arg: $ty),*) $(-> $ret)? {
                    $generic::<true>($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $generic::<true>($($arg),*)
                }
                match $crate::simd::isa() {
                    // SAFETY: `isa` found AVX-512F and FMA on this CPU.
                    $crate::simd::Isa::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: `isa` found AVX2 and FMA on this CPU.
                    $crate::simd::Isa::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::simd::Isa::Baseline => {}
                }
            }
            $generic::<false>($($arg),*)
        }
    };
}

pub(crate) use fused_variants;
