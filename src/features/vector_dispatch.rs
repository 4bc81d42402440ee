//! Runtime dispatch to the widest vector unit for the element-wise loops of the covariance
//! stage. The crate is built for baseline x86-64 (SSE2, two doubles per instruction, and
//! scalar division), so loops that are not inside faer or the eigensolver would otherwise run
//! at a quarter of the AVX-512 width the machines have; on the shared EEG runs the Newton
//! weights alone (a division per entry) took 14% of the tangent-space fit.
//!
//! [`widest_vectors!`] wraps a plain `#[inline(always)]` function: the same source compiled
//! for AVX-512F, AVX2 and the baseline, chosen by CPU feature detection (cached by std). No
//! variant enables FMA and Rust never contracts `a * b + c` on its own, and none reassociates
//! a sum, so all variants give the same bits: only the width of the loops differs.

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
