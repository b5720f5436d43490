//! When a supply runs out, as a range.
//!
//! Daily consumption is taken as independent draws with mean `mu` and standard deviation
//! `sigma` (percentage points per day), so `D` days consume `D·mu` with a spread of
//! `sigma·√D`. The supply is empty when consumption reaches the remaining `R`:
//!
//! - P50: `D = R / mu`;
//! - P10 (early, consumption at its 90th percentile): `D·mu + z·sigma·√D = R`;
//! - P90 (late): `D·mu − z·sigma·√D = R`;
//!
//! with `z = 1.2816`, each solved as a quadratic in `√D`.

/// The 90th percentile of the standard normal distribution.
pub const Z90: f64 = 1.2816;

/// What is known of the amount left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Remaining {
    Percent(f64),
    /// The device says only "some remaining" (-3): taken as between 1 % and 10 %.
    SomeLeft,
    Unknown,
}

/// Range assumed for "some remaining".
pub const SOME_LEFT_RANGE: (f64, f64) = (1.0, 10.0);

#[derive(Debug, Clone, Copy)]
pub struct Forecast {
    mu: f64,
    sigma: f64,
}

impl Forecast {
    pub fn new(mu: f64, sigma: f64) -> Forecast {
        Forecast {
            mu,
            sigma: sigma.max(0.0),
        }
    }

    /// Days until empty as (P10, P50, P90), or `None` without consumption or a known level.
    pub fn days_left(&self, remaining: Remaining) -> Option<(f64, f64, f64)> {
        if self.mu.is_nan() || self.mu <= 0.0 || !self.mu.is_finite() {
            return None;
        }
        let (low, mid, high) = match remaining {
            Remaining::Percent(r) => (r, r, r),
            Remaining::SomeLeft => (
                SOME_LEFT_RANGE.0,
                (SOME_LEFT_RANGE.0 + SOME_LEFT_RANGE.1) / 2.0,
                SOME_LEFT_RANGE.1,
            ),
            Remaining::Unknown => return None,
        };
        if low <= 0.0 {
            return Some((0.0, 0.0, 0.0));
        }
        let zs = Z90 * self.sigma;
        let root = |r: f64, sign: f64| {
            let s = (sign * zs + (zs * zs + 4.0 * self.mu * r).sqrt()) / (2.0 * self.mu);
            s * s
        };
        Some((root(low, -1.0), mid / self.mu, root(high, 1.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_spread_all_three_agree() {
        let f = Forecast::new(2.0, 0.0)
            .days_left(Remaining::Percent(40.0))
            .unwrap();
        for d in [f.0, f.1, f.2] {
            assert!((d - 20.0).abs() < 1e-9, "{f:?}");
        }
    }

    #[test]
    fn spread_widens_the_range_around_the_median() {
        let (p10, p50, p90) = Forecast::new(2.0, 1.0)
            .days_left(Remaining::Percent(40.0))
            .unwrap();
        assert!(p10 < p50 && p50 < p90, "{p10} {p50} {p90}");
        // Check P10 against its defining equation.
        assert!((p10 * 2.0 + Z90 * p10.sqrt() - 40.0).abs() < 1e-9);
        assert!((p90 * 2.0 - Z90 * p90.sqrt() - 40.0).abs() < 1e-9);
    }

    #[test]
    fn some_remaining_spans_one_to_ten_percent() {
        let (p10, p50, p90) = Forecast::new(1.0, 0.0)
            .days_left(Remaining::SomeLeft)
            .unwrap();
        assert!((p10 - 1.0).abs() < 1e-9 && p50 == 5.5 && (p90 - 10.0).abs() < 1e-9);
    }

    #[test]
    fn no_consumption_or_no_level_gives_no_forecast() {
        assert!(
            Forecast::new(0.0, 1.0)
                .days_left(Remaining::Percent(50.0))
                .is_none()
        );
        assert!(
            Forecast::new(1.0, 1.0)
                .days_left(Remaining::Unknown)
                .is_none()
        );
        assert_eq!(
            Forecast::new(1.0, 1.0).days_left(Remaining::Percent(0.0)),
            Some((0.0, 0.0, 0.0))
        );
    }
}
